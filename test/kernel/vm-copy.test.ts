/**
 * Copy strategies and shadow objects (checklist rows 44, 45, 46 and 61):
 * vm_object_copy_delayed, vm_object_copy_slowly, vm_object_copy_call,
 * copy-on-write through shadow chains, collapse, and truncate against
 * delayed copies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MEMORY_OBJECT_COPY_CALL,
  MEMORY_OBJECT_COPY_DELAY,
  MEMORY_OBJECT_COPY_NONE,
  MEMORY_OBJECT_COPY_TEMPORARY,
  MEMORY_OBJECT_RETURN_ALL,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_NO_CHANGE,
  VM_PROT_NONE,
  VM_PROT_WRITE,
  type Message,
  type MemoryObjectCopy,
  type MemoryObjectDataRequest,
  type MemoryObjectInit,
  type PortName,
  type VmWindow,
} from '../../kernel/index.js';
import { lockPages } from '../../kernel/vm/memory-object/lock-request.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

async function bytes(w: VmWindow, address: number, length: number): Promise<Buffer> {
  const { data, error } = await w.read(address, length);
  expect(error).toBe(0);
  return data;
}

async function written(w: VmWindow, address: number, data: Buffer): Promise<void> {
  const { bytes: n, error } = await w.write(address, data);
  expect(error).toBe(0);
  expect(n).toBe(data.length);
}

/** A source window with `pages` pages of pattern(pages, 1) written through the cache. */
async function source(copyStrategy: number, pages = 4, cacheSize = 64 * PAGE): Promise<{ w: VmWindow; data: Buffer }> {
  s = setup({ cacheSize }, { copyStrategy: copyStrategy as 0 | 1 | 2 | 3 });
  const w = await s.map();
  const data = pattern(pages, 1);
  await written(w, 0, data);
  return { w, data };
}

describe('copy strategies', () => {
  it('row 44: a delayed copy is a snapshot; a write to the source pushes the old page into the copy first', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_DELAY);
    const copy = await s.kernel.vmCopy(w, 0, 4 * PAGE);
    // Both read the same at once, and the copy holds no page of its own: it reads the source's.
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    expect(copy.object.residentCount).toBe(0);
    expect(copy.object.shadow).toBe(w.object);
    expect(w.object.copy).toBe(copy.object);

    await written(w, PAGE, Buffer.alloc(PAGE, 0xaa));
    expect(s.kernel.statistics().copy_pushes).toBe(1);
    expect(await bytes(copy, PAGE, PAGE)).toEqual(data.subarray(PAGE, 2 * PAGE));
    expect((await bytes(w, PAGE, PAGE))[0]).toBe(0xaa);
    // A second write to that page pushes nothing more.
    await written(w, PAGE, Buffer.alloc(16, 0xbb));
    expect(s.kernel.statistics().copy_pushes).toBe(1);

    // A write to the copy takes a private page (a cow_fault) and leaves the source alone.
    await written(copy, 2 * PAGE, Buffer.from('private'));
    expect(s.kernel.statistics().cow_faults).toBe(1);
    expect(await bytes(w, 2 * PAGE, PAGE)).toEqual(data.subarray(2 * PAGE, 3 * PAGE));
    const page2 = Buffer.from(data.subarray(2 * PAGE, 3 * PAGE));
    Buffer.from('private').copy(page2);
    expect(await bytes(copy, 2 * PAGE, PAGE)).toEqual(page2);
    // Pages neither wrote are still shared: the copy holds pages 1 (pushed) and 2 (its own) only.
    expect(copy.object.residentCount).toBe(2);
    copy.deallocate();
    await settle();
    expect(w.object.copy).toBeUndefined();
    w.deallocate();
  });

  it('row 44: a copy of a copy, and an older copy keeps its snapshot when a newer one is made', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_DELAY);
    const first = await s.kernel.vmCopy(w);
    await written(w, 0, Buffer.alloc(PAGE, 1));
    const second = await s.kernel.vmCopy(w);
    await written(w, 0, Buffer.alloc(PAGE, 2));
    await written(w, 3 * PAGE, Buffer.alloc(PAGE, 3));
    expect(await bytes(first, 0, 4 * PAGE)).toEqual(data);
    expect((await bytes(second, 0, PAGE))[0]).toBe(1);
    expect(await bytes(second, 3 * PAGE, PAGE)).toEqual(data.subarray(3 * PAGE));
    expect((await bytes(w, 0, PAGE))[0]).toBe(2);
    // A snapshot of the first copy, then a write to the first copy.
    const third = await s.kernel.vmCopy(first, 0, 4 * PAGE);
    await written(first, 3 * PAGE, Buffer.alloc(PAGE, 4));
    expect(await bytes(third, 0, 4 * PAGE)).toEqual(data);
    expect((await bytes(first, 3 * PAGE, 1))[0]).toBe(4);
    for (const c of [third, second, first]) c.deallocate();
    w.deallocate();
  });

  it('row 44: when the middle copy goes, the chain collapses and every copy reads the same', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_DELAY);
    const first = await s.kernel.vmCopy(w);
    await written(w, 0, Buffer.alloc(PAGE, 1));
    const second = await s.kernel.vmCopy(w);
    await written(w, PAGE, Buffer.alloc(PAGE, 2));
    const collapsesBefore = s.kernel.statistics().object_collapses;
    second.deallocate();
    await settle();
    expect(s.kernel.statistics().object_collapses).toBeGreaterThan(collapsesBefore);
    expect(first.object.shadow).toBe(w.object);
    expect(w.object.copy).toBe(first.object);
    expect(await bytes(first, 0, 4 * PAGE)).toEqual(data);
    await written(w, 2 * PAGE, Buffer.alloc(PAGE, 3));
    expect(await bytes(first, 0, 4 * PAGE)).toEqual(data);
    first.deallocate();
    w.deallocate();
  });

  it('row 44: pushed pages paged out go to the default pager with data_initialize and come back intact', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_DELAY);
    const copy = await s.kernel.vmCopy(w, 0, 4 * PAGE);
    await written(w, 0, Buffer.alloc(4 * PAGE, 9));
    expect(s.kernel.statistics().copy_pushes).toBe(4);
    // The copy's pages go back to the default pager (as pageout or a clean would send them).
    await lockPages(s.kernel, copy.object, 0, Infinity, MEMORY_OBJECT_RETURN_ALL, true, VM_PROT_NO_CHANGE);
    await settle(10);
    expect(copy.object.residentCount).toBe(0);
    expect(s.kernel.statistics().messages_sent.memory_object_data_initialize ?? 0).toBeGreaterThan(0);
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    expect((await bytes(w, 0, 1))[0]).toBe(9);
    copy.deallocate();
  });

  it('COPY_TEMPORARY copies as DELAY does', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_TEMPORARY);
    expect(w.object.temporary).toBe(true);
    const copy = await s.kernel.vmCopy(w, PAGE, 2 * PAGE);
    await written(w, PAGE, Buffer.alloc(2 * PAGE, 7));
    expect(await bytes(copy, 0, 2 * PAGE)).toEqual(data.subarray(PAGE, 3 * PAGE));
    copy.deallocate();
  });

  it('row 45: COPY_NONE copies every page at once', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_NONE);
    const copy = await s.kernel.vmCopy(w, 0, 4 * PAGE);
    expect(copy.object.shadow).toBeUndefined();
    expect(copy.object.residentCount).toBe(4);
    await written(w, 0, Buffer.alloc(4 * PAGE, 5));
    expect(s.kernel.statistics().copy_pushes).toBe(0);
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    await written(copy, 0, Buffer.alloc(PAGE, 6));
    expect((await bytes(w, 0, 1))[0]).toBe(5);
    copy.deallocate();
  });

  it('row 46: COPY_CALL sends memory_object_copy, write-locks the source pages, and the new object shadows the source', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_CALL);
    const copyPromise = s.kernel.vmCopy(w, 0, 4 * PAGE);
    const call = await s.pager.waitFor<MemoryObjectCopy>('memory_object_copy');
    expect(call.offset).toBe(0);
    expect(call.length).toBe(4 * PAGE);
    serveCopyObject(call.newObject);
    const copy = await copyPromise;
    for (let i = 0; i < 4; i++) {
      const d = s.kernel.pages.lookup(w.object.id, i);
      expect(s.kernel.pages.pageLock[d] & VM_PROT_WRITE).toBe(VM_PROT_WRITE);
    }
    expect(copy.object.shadow).toBe(w.object);
    expect(copy.object.pager).not.toBe(w.object.pager);
    // The new object's pager has nothing: data_unavailable, and the data comes from the source.
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    // A write to the source asks the pager first (it keeps what the copy needs).
    const unlocksBefore = s.pager.count('memory_object_data_unlock');
    await written(w, 0, Buffer.alloc(8, 1));
    expect(s.pager.count('memory_object_data_unlock')).toBe(unlocksBefore + 1);
    // A write to the copy is copy-on-write into the new object.
    await written(copy, PAGE, Buffer.alloc(8, 2));
    expect(s.kernel.statistics().cow_faults).toBe(1);
    expect(await bytes(w, PAGE, PAGE)).toEqual(data.subarray(PAGE, 2 * PAGE));
    copy.deallocate();
  });

  it('row 61: after a truncate that forces delayed copies first, the copy keeps the old data and the source reads zeros', async () => {
    const { w, data } = await source(MEMORY_OBJECT_COPY_DELAY);
    const copy = await s.kernel.vmCopy(w, 0, 4 * PAGE);
    // Truncate to 2 pages, as ext2fs does: resolve delayed copies, flush past the end, drop the data.
    expect(await w.forceDelayedCopies(2 * PAGE, 2 * PAGE)).toBe(0);
    s.pager.lockRequest(2 * PAGE, 2 * PAGE, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NONE);
    await settle();
    s.pager.pages.delete(2);
    s.pager.pages.delete(3);
    expect(await bytes(w, 2 * PAGE, 2 * PAGE)).toEqual(Buffer.alloc(2 * PAGE));
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    copy.deallocate();
  });
});

/** Serve the new memory object of a COPY_CALL from the test pager's space: ready, and data_unavailable for everything. */
function serveCopyObject(port: PortName): void {
  const space = s.pager.space;
  void (async () => {
    for (;;) {
      let msg: Message;
      try {
        msg = await space.receive(port);
      } catch {
        return;
      }
      if (msg.id === 'memory_object_init') {
        const init = msg as MemoryObjectInit;
        space.send({ id: 'memory_object_ready', dest: init.control, mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
      } else if (msg.id === 'memory_object_data_request') {
        const req = msg as MemoryObjectDataRequest;
        space.send({ id: 'memory_object_data_unavailable', dest: req.control, offset: req.offset, size: req.length });
      }
    }
  })();
}
