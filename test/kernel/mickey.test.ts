import { describe, expect, it } from 'vitest';
import { CLIENT_VALUE, MICKEY_VALUE, runMickey } from '../../examples/mickey.js';

/** The indexes in `lines` of lines naming each of `names`, in order (-1 where the order breaks). */
function subsequence(lines: readonly string[], names: readonly string[]): number[] {
  const found: number[] = [];
  let from = 0;
  for (const name of names) {
    const i = lines.findIndex((line, index) => index >= from && line.includes(name));
    found.push(i);
    if (i < 0) break;
    from = i + 1;
  }
  return found;
}

const PROTOCOL = [
  'memory_object_init',
  'memory_object_ready',
  'memory_object_data_request',
  'memory_object_data_supply',
  'memory_object_data_unlock',
  'memory_object_lock_request',
];

describe('the Mickey Mouse pager example', () => {
  it('reads the planted value, writes through data_unlock, and the write reaches the pager', async () => {
    const printed: string[] = [];
    const result = await runMickey((line) => printed.push(line));

    expect(result.value).toBe(MICKEY_VALUE);
    expect(result.value).toBe(2323);
    // After deallocate and terminate, the pager's stored page holds the client's word.
    expect(result.written).toBe(CLIENT_VALUE);
    expect(result.written).toBe(23);

    expect(result.trace).toEqual(printed);
    expect(printed).toContain('Client: page contains 2323');

    // The protocol, in order, both in the pager's message log and in the printed trace.
    expect(subsequence(result.messages, PROTOCOL)).not.toContain(-1);
    expect(subsequence(result.trace, PROTOCOL)).not.toContain(-1);
    // The write was let through by the unlock, then came back before terminate.
    expect(subsequence(result.messages, ['memory_object_data_unlock', 'memory_object_lock_request', 'memory_object_data_return', 'memory_object_terminate'])).not.toContain(-1);
    expect(result.messages.filter((id) => id === 'memory_object_data_request')).toHaveLength(1);

    // The region description shows the one-page window, read-write-execute.
    expect(result.region).toHaveLength(1);
    expect(result.region[0]).toMatch(/offset 0x0, size 0x1000, rwx/);
    // The kernel reported no protocol error.
    expect(printed.filter((line) => line.startsWith('Kernel:'))).toEqual([]);
  });
});
