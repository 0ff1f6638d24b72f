/**
 * mincore (kernel/vm/mincore.ts) and the window's range wiring that vmtouch
 * uses: per-page residency, dirty and wired bits; a wired page read again
 * is no news to the policy (LRU's list stays whole); a wired dirty page is
 * returned (cleaned in place) without waiting for its unwire.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MEMORY_OBJECT_RETURN_DIRTY,
  MINCORE_INCORE,
  MINCORE_MODIFIED,
  MINCORE_WIRED,
  VM_PROT_NO_CHANGE,
  VM_PROT_READ,
  type MemoryObjectLockCompleted,
} from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';

let s: Setup;
afterEach(closeSetups);

describe('mincore', () => {
  it('reports resident, dirty and wired pages, and faults nothing in', async () => {
    s = setup({ cacheSize: 32 * PAGE });
    const w = await s.map(8 * PAGE);
    expect([...w.mincore(0, 8 * PAGE)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(s.kernel.statistics().faults).toBe(0);
    await w.read(PAGE, PAGE);
    await w.write(3 * PAGE, Buffer.alloc(10, 1));
    expect(await w.wireRange(5 * PAGE, 2 * PAGE)).toBe(0);
    const vec = w.mincore(0, 8 * PAGE);
    expect(vec[0]).toBe(0);
    expect(vec[1]).toBe(MINCORE_INCORE);
    expect(vec[3]).toBe(MINCORE_INCORE | MINCORE_MODIFIED);
    expect(vec[5]).toBe(MINCORE_INCORE | MINCORE_WIRED);
    expect(vec[6]).toBe(MINCORE_INCORE | MINCORE_WIRED);
    expect(vec[7]).toBe(0);
    // A range that starts inside the object: byte 0 is its first page.
    expect([...w.mincore(5 * PAGE, PAGE)]).toEqual([MINCORE_INCORE | MINCORE_WIRED]);
    expect(s.kernel.statistics().wire_count).toBe(2);
    w.unwireRange(5 * PAGE, 2 * PAGE);
    expect(s.kernel.statistics().wire_count).toBe(0);
    expect(w.mincore(5 * PAGE, PAGE)[0]).toBe(MINCORE_INCORE);
  });

  it('wires nest: each wireRange needs its unwireRange', async () => {
    s = setup({ cacheSize: 32 * PAGE });
    const w = await s.map(4 * PAGE);
    expect(await w.wireRange(0, 4 * PAGE)).toBe(0);
    expect(await w.wireRange(0, 2 * PAGE)).toBe(0);
    w.unwireRange(0, 4 * PAGE);
    expect([...w.mincore(0, 4 * PAGE)].map((b) => b & MINCORE_WIRED)).toEqual([MINCORE_WIRED, MINCORE_WIRED, 0, 0]);
    w.unwireRange(0, 2 * PAGE);
    expect(s.kernel.statistics().wire_count).toBe(0);
  });
});

describe('wired pages and the policy', () => {
  it('reads of wired pages under LRU leave the policy whole: unwired, they are evictable again and the cache keeps working', async () => {
    s = setup({ cacheSize: 32 * PAGE, policy: 'lru' });
    const w = await s.map(8 * PAGE);
    expect(await w.wireRange(0, 8 * PAGE)).toBe(0);
    const tracked = s.kernel.policy.size;
    // Hits on wired pages: the policy must not hear of them (it does not hold them).
    for (let round = 0; round < 3; round++) for (let i = 0; i < 8; i++) expect(w.copySync(i * PAGE, Buffer.alloc(1), VM_PROT_READ)).toBe(1);
    expect(s.kernel.policy.size).toBe(tracked);
    w.unwireRange(0, 8 * PAGE);
    expect(s.kernel.policy.size).toBe(tracked + 8);
    // Pressure from another object evicts everything of this one again, in LRU order, without a hole in the list.
    const other = await s.map();
    for (let i = 0; i < 200; i++) await other.read((100 + i) * PAGE, 1);
    expect([...w.mincore(0, 8 * PAGE)].every((b) => b === 0)).toBe(true);
    expect(s.kernel.policy.size).toBeLessThanOrEqual(32);
  });
});

describe('wired dirty pages and lock_request', () => {
  it('a return without flush cleans a wired page in place, at once; the page stays wired and resident', async () => {
    s = setup({ cacheSize: 32 * PAGE });
    const w = await s.map(4 * PAGE);
    await w.write(0, pattern(4, 7));
    expect(await w.wireRange(0, 4 * PAGE)).toBe(0);
    s.pager.lockRequest(0, 4 * PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE, s.pager.port);
    await s.pager.waitFor<MemoryObjectLockCompleted>('memory_object_lock_completed');
    expect(s.pager.page(2).equals(pattern(4, 7).subarray(2 * PAGE, 3 * PAGE))).toBe(true);
    expect([...w.mincore(0, 4 * PAGE)]).toEqual([1, 1, 1, 1].map(() => MINCORE_INCORE | MINCORE_WIRED));
    w.unwireRange(0, 4 * PAGE);
  });
});
