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

/** The kernel's message counts as main prints them ('Main: kernel sent init 1, data_request 1, ...'). */
function counts(lines: readonly string[], prefix: string): Record<string, number> {
  const line = lines.find((l) => l.startsWith(prefix)) ?? '';
  return Object.fromEntries(line.slice(prefix.length).split(', ').map((entry) => [entry.split(' ')[0], Number(entry.split(' ')[1])]));
}

describe('the Mickey Mouse pager example', () => {
  it('reads the planted value, writes through data_unlock, and the write reaches the pager', async () => {
    const printed: string[] = [];
    const result = await runMickey((line) => printed.push(line));

    expect(result.value).toBe(MICKEY_VALUE);
    expect(result.value).toBe(2323);
    // After deallocate and terminate, the pager's stored page holds the client's word.
    expect(result.written).toBe(CLIENT_VALUE);
    expect(result.written).toBe(23);

    // What it prints tells the same story, in order: the value read, the write, the page stored back.
    expect(subsequence(printed, ['Client: page contains 2323', 'Client: wrote 23 into word 1', 'Pager: stored page 0 (word 1 = 23)', 'Main: killing server'])).not.toContain(-1);

    // The protocol, in order, as the pager logged it.
    expect(subsequence(result.messages, PROTOCOL)).not.toContain(-1);
    // The write was let through by the unlock, then came back before terminate.
    expect(subsequence(result.messages, ['memory_object_data_unlock', 'memory_object_lock_request', 'memory_object_data_return', 'memory_object_terminate'])).not.toContain(-1);
    // The kernel's own counters agree: one message of each kind, one page fetched and one returned.
    expect(counts(printed, 'Main: kernel sent ')).toEqual({ init: 1, data_request: 1, data_unlock: 1, lock_completed: 1, data_return: 1, terminate: 1 });
    expect(counts(printed, 'Main: kernel received ')).toEqual({ ready: 1, data_supply: 1, lock_request: 1 });

    // The region scan (vm_region), taken after the write: page 0 unmapped, then the one region,
    // whose page is resident and dirty in the kernel.
    expect(result.region).toHaveLength(2);
    expect(result.region[0]).toBe('unallocated: start 0x0, size 0x1000');
    const [, start, size, protection, max, inheritance, offset, resident, dirty] =
      /^Region: start (\w+), size (\w+), (\S+) (\S+) (\w+), object \w+, offset (\w+), resident (\d+), dirty (\d+)$/.exec(result.region[1] ?? '') ?? [];
    expect({ start, size, protection, max, inheritance, offset, resident, dirty }).toEqual({
      start: '0x1000',
      size: '0x1000',
      protection: 'rwx',
      max: 'rwx',
      inheritance: 'copy',
      offset: '0x0',
      resident: '1',
      dirty: '1',
    });
    // The kernel reported no protocol error.
    expect(printed.filter((line) => line.startsWith('Kernel:'))).toEqual([]);
  });
});
