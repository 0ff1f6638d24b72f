/**
 * Placeholders (fictitious pages) are a kernel-wide pool: a fault that finds
 * none free waits for one freed by any object, and error or unavailable
 * placeholders that answers left and nobody came for are taken back when
 * the pool runs low. No fault waits for ever on a placeholder.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EIO, type MemoryObjectDataRequest, type VmWindow } from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle, TestPager } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

const CLUSTER = 32;
/** Reads this many pages apart: not a sequential stream, so no read-ahead joins their requests (readahead.ts). */
const APART = 2 * CLUSTER;

/** A 32-page read whose request fails: page 0 with data_error; the rest of the cluster with `rest`. */
async function failedClusterRead(w: VmWindow, pager: TestPager, at: number, rest: 'error' | 'unavailable'): Promise<void> {
  const read = w.read(at * PAGE, CLUSTER * PAGE);
  const req = await pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === at * PAGE);
  expect(req.length).toBe(CLUSTER * PAGE);
  if (rest === 'unavailable') pager.send({ id: 'memory_object_data_unavailable', offset: req.offset + PAGE, size: req.length - PAGE });
  pager.send({ id: 'memory_object_data_error', offset: req.offset, size: rest === 'error' ? req.length : PAGE, errorValue: EIO });
  expect((await read).error).toBe(EIO);
}

describe('placeholders', { timeout: 10_000 }, () => {
  it('33 failed 32-page cluster reads, then a read of a second object completes (stale error pages are reclaimed)', async () => {
    // 256 frames: clusters of 32 pages, 1024 placeholders.
    s = setup({ cacheSize: 256 * PAGE }, { auto: false });
    const total = s.kernel.pages.freeFictitiousCount;
    expect(total).toBe(1024);
    const w1 = await s.mapReady(s.pager);
    // Each failed read leaves the 31 pages its copy never reached as error pages:
    // 32 reads leave 992, and the 33rd finds the pool low and takes them back.
    for (let i = 0; i < 32; i++) await failedClusterRead(w1, s.pager, i * APART, 'error');
    expect(s.kernel.pages.freeFictitiousCount).toBe(total - 32 * 31);
    await failedClusterRead(w1, s.pager, 32 * APART, 'error');
    expect(s.kernel.pages.freeFictitiousCount).toBe(total - 31);
    // Another request of the first object is out and stays out meanwhile.
    const stuck = w1.read(5000 * PAGE, PAGE);
    const stuckReq = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === 5000 * PAGE);

    const pager2 = new TestPager(s.ipc);
    const w2 = await s.kernel.vmMap(s.client, pager2.giveSendRight(s.client), 0, 1 << 30);
    pager2.pages.set(0, pattern(1, 7));
    const r = await w2.read(0, 2 * PAGE);
    expect(r.error).toBe(0);
    expect(r.data.subarray(0, PAGE).equals(pattern(1, 7))).toBe(true);

    // A reclaimed error page is asked for again, not failed from the stale error.
    const before = s.pager.count('memory_object_data_request');
    const again = w1.read(PAGE, 1);
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === PAGE);
    expect(s.pager.count('memory_object_data_request')).toBe(before + 1);
    s.pager.answer(req);
    expect((await again).error).toBe(0);
    s.pager.answer(stuckReq);
    expect((await stuck).error).toBe(0);
    w1.deallocate();
    w2.deallocate();
  });

  it('unavailable placeholders a failed copy never reached are reclaimed too', async () => {
    s = setup({ cacheSize: 256 * PAGE }, { auto: false });
    const w1 = await s.mapReady(s.pager);
    for (let i = 0; i < 32; i++) await failedClusterRead(w1, s.pager, i * APART, i % 2 === 0 ? 'unavailable' : 'error');
    expect(s.kernel.pages.freeFictitiousCount).toBe(32);
    // A 32-page read wants a whole cluster: the low pool makes the kernel take the stale ones back.
    const read = w1.read(4000 * PAGE, CLUSTER * PAGE);
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === 4000 * PAGE);
    expect(req.length).toBe(CLUSTER * PAGE);
    s.pager.answer(req);
    expect((await read).error).toBe(0);
    expect(s.kernel.pages.freeFictitiousCount).toBe(1024);
    // The unavailable pages were not lost: read again, they are asked for and zero-filled.
    const zeros = w1.read(PAGE, PAGE);
    s.pager.send({ id: 'memory_object_data_unavailable', offset: PAGE, size: PAGE });
    const r = await zeros;
    expect(r.error).toBe(0);
    expect(r.data.equals(Buffer.alloc(PAGE))).toBe(true);
    w1.deallocate();
  });

  it('with every placeholder out in requests, a fault of another object waits for one freed by any object', async () => {
    s = setup({ cacheSize: 256 * PAGE }, { auto: false });
    // 50 outstanding pages per object (the absent throttle): 21 objects hold all 1024.
    const holders: { pager: TestPager; w: VmWindow; reads: Promise<unknown>[] }[] = [];
    while (holders.length < 21) {
      const pager = new TestPager(s.ipc, { auto: false });
      const w = await s.mapReady(pager);
      const reads = [w.read(0, CLUSTER * PAGE), w.read(CLUSTER * PAGE, CLUSTER * PAGE)];
      holders.push({ pager, w, reads });
      await settle();
    }
    expect(s.kernel.pages.freeFictitiousCount).toBe(0);

    const other = new TestPager(s.ipc);
    const w = await s.kernel.vmMap(s.client, other.giveSendRight(s.client), 0, 1 << 30);
    let done = false;
    const read = w.read(0, PAGE).then((r) => {
      done = true;
      return r;
    });
    await settle(5);
    expect(done).toBe(false);
    expect(s.kernel.pages.fictitiousWaiterCount).toBeGreaterThanOrEqual(1);

    // The first holder's pager answers: its placeholders free, the other object's fault goes on.
    const answered = new Set<MemoryObjectDataRequest>();
    const answerAll = (pager: TestPager): void => {
      for (const req of pager.messages('memory_object_data_request')) {
        if (answered.has(req)) continue;
        answered.add(req);
        pager.answer(req);
      }
    };
    answerAll(holders[0].pager);
    expect((await read).error).toBe(0);
    for (const h of holders) {
      h.pager.options.auto = true;
      answerAll(h.pager);
    }
    for (const h of holders) {
      await Promise.all(h.reads);
      h.w.deallocate();
    }
    w.deallocate();
  });
});
