/**
 * memory_object_lock_request: cleaning, flushing, locking (checklist rows 18-22, 24, 25).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MEMORY_OBJECT_RETURN_ALL,
  MEMORY_OBJECT_RETURN_DIRTY,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_NO_CHANGE,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type MemoryObjectLockCompleted,
  type VmWindow,
} from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);


/** Pages 0 and 1 dirty, page 2 clean, page 3 clean and precious. */
async function fourPages(): Promise<VmWindow> {
  const w = await s.map();
  // In this order, so that no access looks sequential and no read-ahead brings page 3 in first.
  await w.read(2 * PAGE, PAGE);
  s.pager.supply(3 * PAGE, pattern(1, 3), VM_PROT_NONE, true);
  await settle();
  await w.write(0, pattern(2, 1));
  return w;
}

async function lock(offset: number, size: number, shouldReturn: 0 | 1 | 2, shouldFlush: boolean, lockValue: number): Promise<void> {
  s.pager.lockRequest(offset, size, shouldReturn, shouldFlush, lockValue, s.pager.port);
  await s.pager.waitFor<MemoryObjectLockCompleted>('memory_object_lock_completed', (m) => m.offset === offset && m.length === size);
}

describe('lock_request', () => {
  it('row 18: RETURN_DIRTY returns only the dirty pages, with dirty=true', async () => {
    s = setup();
    const w = await fourPages();
    await lock(0, 4 * PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').map((r) => [r.offset / PAGE, r.data.length / PAGE, r.dirty])).toEqual([[0, 2, true]]);
    expect(s.pager.messages('memory_object_data_return')[0]?.data.equals(pattern(2, 1))).toBe(true);
    expect(s.kernel.statistics().lock_requests).toBe(1);
    w.deallocate();
  });

  it('row 19: RETURN_ALL returns dirty pages and clean precious ones (dirty=false)', async () => {
    s = setup();
    const w = await fourPages();
    await lock(0, 4 * PAGE, MEMORY_OBJECT_RETURN_ALL, false, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').map((r) => [r.offset / PAGE, r.data.length / PAGE, r.dirty])).toEqual([
      [0, 2, true],
      [3, 1, false],
    ]);
    expect(s.pager.messages('memory_object_data_return')[1]?.data.equals(pattern(1, 3))).toBe(true);
    w.deallocate();
  });

  it('row 20: a flush without return drops the pages and discards dirty data', async () => {
    s = setup();
    const w = await s.map();
    await w.write(0, Buffer.from('lost'));
    await lock(0, PAGE, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return')).toEqual([]);
    expect(w.object.residentCount).toBe(0);
    expect(w.copySync(0, Buffer.alloc(4), VM_PROT_READ)).toBe(0);
    expect((await w.read(0, 4)).data.equals(Buffer.alloc(4))).toBe(true);
    w.deallocate();
  });

  it('row 21: cleaning without flush sends kernel_copy=true and keeps the page, clean; precious stays precious', async () => {
    s = setup();
    const w = await fourPages();
    await lock(0, 4 * PAGE, MEMORY_OBJECT_RETURN_ALL, false, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').every((r) => r.kernelCopy)).toBe(true);
    expect(w.object.residentCount).toBe(4);
    expect(w.object.dirtyCount).toBe(0);
    expect(w.copySync(0, Buffer.alloc(2 * PAGE), VM_PROT_READ)).toBe(2 * PAGE);
    // Clean now: a second RETURN_DIRTY has nothing to send; the precious page still comes back with RETURN_ALL.
    await lock(0, 4 * PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').length).toBe(2);
    await lock(0, 4 * PAGE, MEMORY_OBJECT_RETURN_ALL, true, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').map((r) => [r.offset / PAGE, r.dirty, r.kernelCopy]).slice(2)).toEqual([[3, false, false]]);
    expect(w.object.residentCount).toBe(0);
    w.deallocate();
  });

  it('row 22: contiguous pages of one kind are returned in data_returns of at most 32 pages', async () => {
    s = setup({ cacheSize: 256 * PAGE });
    const w = await s.map();
    await w.write(0, pattern(70, 2));
    await w.write(80 * PAGE, pattern(3, 4));
    s.pager.supply(83 * PAGE, pattern(2, 5), VM_PROT_NONE, true);
    await w.write(85 * PAGE, pattern(1, 6));
    await settle();
    await lock(0, 100 * PAGE, MEMORY_OBJECT_RETURN_ALL, true, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').map((r) => [r.offset / PAGE, r.data.length / PAGE, r.dirty])).toEqual([
      [0, 32, true],
      [32, 32, true],
      [64, 6, true],
      [80, 3, true],
      [83, 2, false],
      [85, 1, true],
    ]);
    expect(s.kernel.statistics().pageouts).toBe(76);
    w.deallocate();
  });

  it('row 24: lock_completed comes after every data_return of its request', async () => {
    s = setup({ cacheSize: 256 * PAGE });
    const w = await s.map();
    await w.write(0, pattern(100, 7));
    await lock(0, 100 * PAGE, MEMORY_OBJECT_RETURN_DIRTY, true, VM_PROT_NO_CHANGE);
    const ids = s.pager.ids();
    const completed = ids.indexOf('memory_object_lock_completed');
    expect(ids.filter((id, i) => id === 'memory_object_data_return' && i > completed)).toEqual([]);
    expect(s.pager.messages('memory_object_data_return').reduce((n, r) => n + r.data.length, 0)).toBe(100 * PAGE);
    w.deallocate();
  });

  it('row 25: NO_CHANGE leaves page_lock alone; a lock value sets it and a higher lock makes the next write fault', async () => {
    s = setup({}, { lockValue: VM_PROT_WRITE });
    const w = await s.map();
    await w.read(0, 1);
    await lock(0, PAGE, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_NO_CHANGE);
    expect(w.copySync(0, Buffer.alloc(1), VM_PROT_WRITE)).toBe(0);
    await lock(0, PAGE, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_NONE);
    expect(w.copySync(0, Buffer.from([1]), VM_PROT_WRITE)).toBe(1);
    // Lock writes again: the next write asks with data_unlock (the test pager grants it).
    await lock(0, PAGE, MEMORY_OBJECT_RETURN_NONE, false, VM_PROT_WRITE);
    expect(w.copySync(0, Buffer.from([2]), VM_PROT_WRITE)).toBe(0);
    expect((await w.write(0, Buffer.from([2]))).error).toBe(0);
    expect(s.pager.count('memory_object_data_unlock')).toBe(1);
    w.deallocate();
  });

  it('a lock_request with a bad lock value or return policy is refused', async () => {
    s = setup();
    const w = await s.map();
    await w.write(0, Buffer.from('x'));
    s.pager.lockRequest(0, PAGE, 3 as 0, false, VM_PROT_NO_CHANGE, s.pager.port);
    s.pager.lockRequest(0, PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, 16, s.pager.port);
    await settle();
    expect(s.kernel.statistics().protocol_errors).toBe(2);
    expect(s.pager.count('memory_object_lock_completed')).toBe(0);
    expect(w.object.dirtyCount).toBe(1);
    w.deallocate();
  });
  it('a sync looks at the dirty range only, and still returns every dirty page (writes at both ends, then one more)', async () => {
    s = setup();
    const w = await s.map();
    // Not in order: a sequential writer's faults would ask for the pages after these too (memcpy.ts).
    for (const i of [0, 2, 4, 6, 1, 3, 5, 7]) await w.write(i * PAGE, pattern(1, i + 1));
    await lock(0, 8 * PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE);
    expect(w.object.dirtyCount).toBe(0);
    expect([w.object.dirtyFirst, w.object.dirtyEnd]).toEqual([Infinity, 0]);
    await w.write(7 * PAGE, pattern(1, 20));
    await w.write(1 * PAGE, pattern(1, 21));
    expect([w.object.dirtyFirst, w.object.dirtyEnd]).toEqual([1, 8]);
    const before = s.pager.count('memory_object_data_return');
    await lock(0, 8 * PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE);
    const returned = s.pager.messages('memory_object_data_return').slice(before);
    expect(returned.map((r) => [r.offset / PAGE, r.data.length / PAGE, r.dirty])).toEqual([
      [1, 1, true],
      [7, 1, true],
    ]);
    expect(returned[1]?.data.equals(pattern(1, 20))).toBe(true);
    // RETURN_ALL of an object with no precious page is the same sync.
    await w.write(3 * PAGE, pattern(1, 22));
    const beforeAll = s.pager.count('memory_object_data_return');
    await lock(0, 8 * PAGE, MEMORY_OBJECT_RETURN_ALL, false, VM_PROT_NO_CHANGE);
    expect(s.pager.messages('memory_object_data_return').slice(beforeAll).map((r) => [r.offset / PAGE, r.data.length / PAGE])).toEqual([[3, 1]]);
    expect(w.object.residentCount).toBe(8);
    expect([w.object.dirtyCount, w.object.dirtyFirst, w.object.dirtyEnd]).toEqual([0, Infinity, 0]);
    w.deallocate();
  });
});
