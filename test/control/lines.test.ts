/** LineBuffer (daemon/control/lines.ts): the control socket's one-message-a-line framing. */
import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../../daemon/control/lines.js';

describe('LineBuffer', () => {
  it('gives whole lines across chunks, keeps the unfinished one, leaves blank lines out', () => {
    const lines = new LineBuffer();
    expect(lines.push('{"id":1}\n{"id"')).toEqual(['{"id":1}']);
    expect(lines.pendingLength).toBe(5);
    expect(lines.push(':2}\n\n  \n{"id":3}\n')).toEqual(['{"id":2}', '{"id":3}']);
    expect(lines.pendingLength).toBe(0);
    lines.push('no newline yet');
    lines.clear();
    expect(lines.push('\n')).toEqual([]);
  });
});
