/**
 * The pager's pagemap at terminate (keepOnlyErrors): errors, invalid and
 * held pages outlive it, everything else goes, and a map that never had
 * any of those is forgotten whole.
 */
import { describe, expect, it } from 'vitest';
import { EIO, ENOSPC } from '../../kernel/index.js';
import { Pagemap, PM_HELD, PM_INCORE, PM_INIT, PM_INVALID } from '../../daemon/pager/pagemap.js';

describe('Pagemap.keepOnlyErrors', () => {
  it('forgets a map with nothing to keep', () => {
    const map = new Pagemap();
    for (let page = 0; page < 10_000; page += 7) map.add(page, PM_INCORE | PM_INIT);
    expect(map.chunkCount).toBe(3);
    map.keepOnlyErrors();
    expect(map.chunkCount).toBe(0);
    expect(map.get(7)).toBe(0);
  });

  it('keeps errors, invalid and held pages, drops the rest and the chunks left empty', () => {
    const map = new Pagemap();
    for (let page = 0; page < 10_000; page += 7) map.add(page, PM_INCORE | PM_INIT);
    map.setError(14, EIO);
    map.setNextError(4100, ENOSPC);
    map.add(21, PM_INVALID);
    map.add(28, PM_HELD | PM_INCORE);
    map.keepOnlyErrors();
    expect(map.chunkCount).toBe(2);
    expect(map.error(14)).toBe(EIO);
    expect(map.nextError(4100)).toBe(ENOSPC);
    expect(map.get(21)).toBe(PM_INVALID);
    expect(map.get(28)).toBe(PM_HELD);
    expect(map.get(7)).toBe(0);
    // Once the kept states are cleared, the next terminate forgets the map whole again.
    map.setError(14, 0);
    map.setNextError(4100, 0);
    map.clear(21, PM_INVALID);
    map.clear(28, PM_HELD);
    map.keepOnlyErrors();
    expect(map.chunkCount).toBe(0);
  });
});
