/**
 * The fault path and the pager's answers to it (checklist rows 1-16, 53).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CLUSTER_PAGES,
  EIO,
  ENOSPC,
  KERN_MEMORY_PRESENT,
  KERN_SUCCESS,
  MACH_PORT_NULL,
  MEMORY_OBJECT_COPY_DELAY,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type MemoryObjectDataRequest,
  type MemoryObjectDataUnlock,
  type MemoryObjectGetAttributesReply,
  type MemoryObjectInit,
  type MemoryObjectSupplyCompleted,
} from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

describe('fault path', () => {
  it('row 1: the first map sends exactly one init; faults wait for ready', async () => {
    s = setup({}, { auto: false });
    const w1 = await s.map();
    const w2 = await s.map();
    await settle();
    expect(s.pager.count('memory_object_init')).toBe(1);
    let done = false;
    const read = w1.read(0, 10).then((r) => {
      done = true;
      return r;
    });
    await settle();
    expect(done).toBe(false);
    expect(s.pager.count('memory_object_data_request')).toBe(0);
    s.pager.send({ id: 'memory_object_ready', mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    s.pager.answer(req);
    expect((await read).error).toBe(0);
    w1.deallocate();
    w2.deallocate();
  });

  it('row 2 and row 4: ready sets the attributes, a bad strategy is refused, get_attributes reports them', async () => {
    s = setup({}, { auto: false });
    const w = await s.map();
    await s.pager.waitFor('memory_object_init');
    const read = w.read(0, 10);
    s.pager.send({ id: 'memory_object_ready', mayCache: true, copyStrategy: 9 as 0 });
    await settle();
    expect(s.logged.some((l) => l.includes('copy strategy 9'))).toBe(true);
    expect(s.pager.count('memory_object_data_request')).toBe(0);
    s.pager.send({ id: 'memory_object_ready', mayCache: true, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    s.pager.answer(await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request'));
    expect((await read).error).toBe(0);
    expect(w.object.canPersist).toBe(true);
    s.pager.send({ id: 'memory_object_get_attributes', replyTo: s.pager.port });
    const reply = await s.pager.waitFor<MemoryObjectGetAttributesReply>('memory_object_get_attributes_reply');
    expect(reply).toMatchObject({ result: KERN_SUCCESS, ready: true, mayCache: true, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    w.deallocate();
  });

  it('row 5: a miss inserts a busy+absent placeholder and sends one single-page data_request', async () => {
    s = setup({}, { auto: false });
    s.pager.options.auto = true;
    const w = await s.map();
    await w.read(7 * PAGE + 5, 1);
    const req = s.pager.received.find((m) => m.id === 'memory_object_data_request') as MemoryObjectDataRequest;
    expect(req).toMatchObject({ offset: 7 * PAGE, length: PAGE, desiredAccess: VM_PROT_READ, control: s.pager.control });
    w.deallocate();
  });

  it('row 6: 100 concurrent faults on one absent page produce one data_request and all complete', async () => {
    s = setup({}, { auto: false });
    const w = await s.map();
    const init = await s.pager.waitFor<MemoryObjectInit>('memory_object_init');
    expect(init).toMatchObject({ pageSize: PAGE, control: s.pager.control });
    expect(init.control).not.toBe(MACH_PORT_NULL);
    s.pager.send({ id: 'memory_object_ready', mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    const reads = Array.from({ length: 100 }, (_, i) => w.read(3 * PAGE + i, 4));
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    await settle();
    expect(s.pager.count('memory_object_data_request')).toBe(1);
    const data = pattern(1, 42);
    s.pager.supply(req.offset, data);
    const results = await Promise.all(reads);
    results.forEach((r, i) => {
      expect(r.error).toBe(0);
      expect(r.data.equals(data.subarray(i, i + 4))).toBe(true);
    });
    expect(s.pager.count('memory_object_data_request')).toBe(1);
    w.deallocate();
  });

  it('row 7: no more than 50 requests per object are outstanding; the rest wait', async () => {
    s = setup({ cacheSize: 512 * PAGE }, { auto: false });
    const w = await s.mapReady();
    const reads = Array.from({ length: 60 }, (_, i) => w.read(i * 2 * PAGE, 1));
    await settle(5);
    const first = s.pager.messages('memory_object_data_request');
    expect(first.length).toBe(50);
    expect(w.object.absentCount).toBe(50);
    for (const req of first.slice(0, 10)) s.pager.answer(req);
    await settle(5);
    const all = s.pager.messages('memory_object_data_request');
    expect(all.length).toBe(60);
    for (const req of all.slice(10)) s.pager.answer(req);
    expect((await Promise.all(reads)).every((r) => r.error === 0)).toBe(true);
    w.deallocate();
  });

  it('row 8: data_supply takes whole pages, inserts them clean with its lock; requested pages active, others inactive', async () => {
    s = setup();
    const w = await s.map();
    await w.read(0, 1);
    let st = s.kernel.statistics();
    expect(st.active_count).toBe(1);
    expect(st.inactive_count).toBe(0);
    s.pager.supply(5 * PAGE, pattern(1, 5), VM_PROT_WRITE);
    await settle();
    st = s.kernel.statistics();
    expect(st.inactive_count).toBe(1);
    expect(st.pageins).toBe(2);
    // The unrequested page is write-locked: a read works at once, a write needs an unlock.
    expect(w.copySync(5 * PAGE, Buffer.alloc(8), VM_PROT_READ)).toBe(8);
    expect(w.copySync(5 * PAGE, Buffer.alloc(8), VM_PROT_WRITE)).toBe(0);
    expect(w.object.dirtyCount).toBe(0);
    // Not whole pages: refused, nothing inserted.
    s.pager.supply(9 * PAGE, Buffer.alloc(100));
    await settle();
    expect(s.kernel.statistics().protocol_errors).toBe(1);
    expect(w.copySync(9 * PAGE, Buffer.alloc(1), VM_PROT_READ)).toBe(0);
    w.deallocate();
  });

  it('row 9 and row 10: supplying a resident page stops the supply with KERN_MEMORY_PRESENT; supply_completed only on request', async () => {
    s = setup();
    const w = await s.map();
    await w.read(PAGE, 1); // page 1 resident (zeros)
    const supplied = pattern(4, 9);
    s.pager.supply(0, supplied, VM_PROT_NONE, false);
    await settle();
    expect(s.pager.count('memory_object_supply_completed')).toBe(0);
    // page 0 went in, unlocked, before the resident page 1 stopped it; 2 and 3 did not.
    const page0 = Buffer.alloc(PAGE);
    expect(w.copySync(0, page0, VM_PROT_READ)).toBe(PAGE);
    expect(page0.equals(supplied.subarray(0, PAGE))).toBe(true);
    expect(w.copySync(0, Buffer.from('w'), VM_PROT_WRITE)).toBe(1);
    expect(w.copySync(2 * PAGE, Buffer.alloc(1), VM_PROT_READ)).toBe(0);
    s.pager.supply(8 * PAGE, pattern(1, 8), VM_PROT_NONE, false, s.pager.port);
    const ok = await s.pager.waitFor<MemoryObjectSupplyCompleted>('memory_object_supply_completed');
    expect(ok).toMatchObject({ result: KERN_SUCCESS, offset: 8 * PAGE, length: PAGE });
    s.pager.supply(PAGE, pattern(3, 1), VM_PROT_NONE, false, s.pager.port);
    const present = await s.pager.waitFor<MemoryObjectSupplyCompleted>('memory_object_supply_completed', (m) => m.offset === PAGE);
    expect(present).toMatchObject({ result: KERN_MEMORY_PRESENT, errorOffset: PAGE });
    const page1 = Buffer.alloc(PAGE);
    expect(w.copySync(PAGE, page1, VM_PROT_READ)).toBe(PAGE);
    expect(page1.equals(Buffer.alloc(PAGE))).toBe(true); // the resident data was kept
    expect(w.copySync(2 * PAGE, Buffer.alloc(1), VM_PROT_READ)).toBe(0);
    w.deallocate();
  });

  it('row 11: data_unavailable gives the waiting fault a zero-filled page', async () => {
    s = setup({}, { unavailableForHoles: true });
    const w = await s.map();
    const r = await w.read(3 * PAGE + 17, 100);
    expect(r.error).toBe(0);
    expect(r.data.equals(Buffer.alloc(100))).toBe(true);
    expect(s.pager.count('memory_object_data_request')).toBe(1);
    const st = s.kernel.statistics();
    expect(st.zero_fill_count).toBe(1);
    expect(st.pageins).toBe(0);
    w.deallocate();
  });

  it('row 12: data_error fails the faults waiting now; the next access asks again', async () => {
    s = setup({}, { auto: false });
    const w = await s.mapReady();
    const a = w.read(0, 10);
    const b = w.read(5, 10);
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    s.pager.send({ id: 'memory_object_data_error', offset: req.offset, size: req.length, errorValue: ENOSPC });
    expect((await a).error).toBe(ENOSPC);
    expect((await b).error).toBe(ENOSPC);
    expect(s.kernel.statistics().page_errors).toBe(1);
    const c = w.read(0, 10);
    const again = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    // An errno a pager may not report becomes EIO.
    s.pager.send({ id: 'memory_object_data_error', offset: again.offset, size: again.length, errorValue: 13 });
    expect((await c).error).toBe(EIO);
    const d = w.read(0, 10);
    s.pager.answer(await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request'));
    expect((await d).error).toBe(0);
    expect(s.pager.count('memory_object_data_request')).toBe(3);
    w.deallocate();
  });

  it('row 14, row 15 and row 16: a write-locked page is written only after one data_unlock is granted', async () => {
    s = setup({}, { lockValue: VM_PROT_WRITE, auto: true });
    const w = await s.map();
    // Read first: the page comes in write-locked.
    await w.read(0, 1);
    s.pager.options.auto = false;
    const writes = [1, 2, 3].map((v) => w.write(v * 8, Buffer.from([v])));
    const unlock = await s.pager.waitFor<MemoryObjectDataUnlock>('memory_object_data_unlock');
    await settle();
    expect(unlock).toMatchObject({ offset: 0, length: PAGE, desiredAccess: VM_PROT_WRITE });
    expect(s.pager.count('memory_object_data_unlock')).toBe(1);
    expect(s.kernel.statistics().unlocks).toBe(1);
    // Nothing was written while locked.
    const before = Buffer.alloc(32);
    expect(w.copySync(0, before, VM_PROT_READ)).toBe(32);
    expect(before.equals(Buffer.alloc(32))).toBe(true);
    s.pager.grant(unlock);
    expect((await Promise.all(writes)).map((r) => r.error)).toEqual([0, 0, 0]);
    const after = await w.read(0, 32);
    expect([after.data[8], after.data[16], after.data[24]]).toEqual([1, 2, 3]);
    expect(w.object.dirtyCount).toBe(1);
    w.deallocate();
  });

  it('row 53: memcpy copies any unaligned range both ways', async () => {
    s = setup({ cacheSize: 16 * PAGE });
    const w = await s.map();
    const reference = Buffer.alloc(40 * PAGE);
    const data = pattern(40, 3);
    // Odd-sized writes at odd offsets, through a cache smaller than the data.
    for (let off = 13, step = 5003; off < reference.length; off += step, step = (step * 7) % 9001 + 1) {
      const len = Math.min(step, reference.length - off);
      data.copy(reference, off, off, off + len);
      const r = await w.write(off, data.subarray(off, off + len));
      expect(r).toEqual({ bytes: len, error: 0 });
    }
    for (let off = 0, step = 777; off < reference.length; off += step, step = (step * 3) % 12007 + 1) {
      const len = Math.min(step, reference.length - off);
      const r = await w.read(off, len);
      expect(r.error).toBe(0);
      expect(r.data.equals(reference.subarray(off, off + len))).toBe(true);
    }
    w.deallocate();
  });

  it('row 53: a pager error stops memcpy with the bytes done', async () => {
    s = setup({}, { auto: false });
    const w = await s.mapReady();
    const read = w.read(100, 6 * PAGE);
    // One request for the whole range: pages 0-2 come, pages 3-6 fail.
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect(req).toMatchObject({ offset: 0, length: 7 * PAGE });
    s.pager.supply(0, pattern(3, 1));
    s.pager.send({ id: 'memory_object_data_error', offset: 3 * PAGE, size: 4 * PAGE, errorValue: EIO });
    const r = await read;
    expect(r.error).toBe(EIO);
    expect(r.data.length).toBe(3 * PAGE - 100);
    w.deallocate();
  });

  it('pages in clusters: sequential reads ask for more pages per request; read-ahead enters inactive', async () => {
    s = setup({ cacheSize: 1024 * PAGE });
    const w = await s.map();
    for (let off = 0; off < 256 * PAGE; off += 4 * PAGE) expect((await w.read(off, 4 * PAGE)).error).toBe(0);
    const lengths = s.pager.messages('memory_object_data_request').map(
      (m) => m.length / PAGE,
    );
    expect(lengths[0]).toBe(4);
    // Read-ahead windows grow to the cluster limit (test/kernel/vm-readahead.test.ts has the steps).
    expect(Math.max(...lengths)).toBe(DEFAULT_MAX_CLUSTER_PAGES);
    expect(lengths.length).toBeLessThan(256 / 4);
    expect(s.kernel.statistics().pageins).toBeGreaterThanOrEqual(256);
    // A random read afterwards asks for just what it needs.
    await w.read(900 * PAGE, 1);
    const last = s.pager.messages('memory_object_data_request').at(-1);
    expect(last?.length).toBe(PAGE);
    w.deallocate();
  });

  it('offsets are exact up to 2^53 and a copy past it is EFBIG', async () => {
    s = setup();
    const w = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, 2 ** 53);
    const far = 2 ** 53 - 2 * PAGE;
    expect(await w.write(far + 1, Buffer.from('xyz'))).toEqual({ bytes: 3, error: 0 });
    expect((await w.read(far + 1, 3)).data.toString()).toBe('xyz');
    expect((await w.read(2 ** 53 - 2, 4)).error).toBe(27);
    w.deallocate();
  });
});
