/**
 * The pager timeout: a fault whose data_request, data_unlock or init got no
 * answer in pagerTimeoutMs fails with EIO, is counted, and leaves the kernel
 * in a state where a later access asks again and a late answer is harmless.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  EIO,
  IpcSystem,
  Kernel,
  MemorySwap,
  MEMORY_OBJECT_COPY_DELAY,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type MemoryObjectDataRequest,
  type MemoryObjectDataUnlock,
} from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle, TestPager } from '../helpers/test-pager.js';

const TIMEOUT = 80;

let s: Setup;
afterEach(closeSetups);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('pager timeout', () => {
  it('an unanswered data_request fails its faults with EIO after the timeout; the next access asks again', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT }, { auto: false });
    const free = s.kernel.pages.freeFictitiousCount;
    const w = await s.mapReady();
    const started = performance.now();
    // Three faults share one 4-page request.
    const reads = [w.read(0, 4 * PAGE), w.read(PAGE, 10), w.read(3 * PAGE, 10)];
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect(req.length).toBe(4 * PAGE);
    const results = await Promise.all(reads);
    const waited = performance.now() - started;
    expect(results.map((r) => r.error)).toEqual([EIO, EIO, EIO]);
    expect(waited).toBeGreaterThanOrEqual(TIMEOUT - 5);
    expect(waited).toBeLessThan(TIMEOUT * 10);
    const st = s.kernel.statistics();
    expect(st.pager_timeouts).toBe(1);
    expect(st.page_errors).toBe(0);
    expect(w.object.absentCount).toBe(0);
    expect(s.kernel.pages.freeFictitiousCount).toBe(free);
    expect(s.logged.some((l) => l.includes('pager timeout') && l.includes('pages 0-3'))).toBe(true);

    // The next access asks again, and an answer in time is taken.
    const again = w.read(0, PAGE);
    const req2 = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    s.pager.pages.set(0, pattern(1, 3));
    s.pager.answer(req2);
    const r = await again;
    expect(r.error).toBe(0);
    expect(r.data.equals(pattern(1, 3))).toBe(true);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    w.deallocate();
  });

  it('a late data_supply after the timeout enters as an unrequested page; a late data_error changes nothing', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT }, { auto: false });
    const w = await s.mapReady();
    const read = w.read(8 * PAGE, PAGE);
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect((await read).error).toBe(EIO);

    s.pager.supply(req.offset, pattern(1, 8));
    s.pager.send({ id: 'memory_object_data_error', offset: 20 * PAGE, size: PAGE, errorValue: EIO });
    await settle();
    const st = s.kernel.statistics();
    expect(st.protocol_errors).toBe(0);
    expect(st.page_errors).toBe(0);
    expect(st.inactive_count).toBe(1);
    const page = Buffer.alloc(PAGE);
    expect(w.copySync(8 * PAGE, page, VM_PROT_READ)).toBe(PAGE);
    expect(page.equals(pattern(1, 8))).toBe(true);
    expect(w.object.absentCount).toBe(0);
    w.deallocate();
  });

  it('a late data_supply fills the placeholder of a newer request for the page; the newer answer is then refused as present', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT }, { auto: false });
    const w = await s.mapReady();
    const first = w.read(0, PAGE);
    const req1 = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect((await first).error).toBe(EIO);
    // A read elsewhere in between, so that the second read of page 0 is no stream (no read-ahead).
    const between = w.read(9 * PAGE, PAGE);
    s.pager.answer(await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request'));
    expect((await between).error).toBe(0);
    const second = w.read(0, PAGE);
    const req2 = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect(req2).toMatchObject({ offset: req1.offset, length: PAGE });
    s.pager.supply(req1.offset, pattern(1, 1));
    const r = await second;
    expect(r.error).toBe(0);
    expect(r.data.equals(pattern(1, 1))).toBe(true);
    s.pager.supply(req2.offset, pattern(1, 2));
    await settle();
    expect(w.object.absentCount).toBe(0);
    expect(w.object.residentCount).toBe(2);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    w.deallocate();
  });

  it('a late data_supply that fills the first pages of a newer request: the newer answer stops there, and the rest is asked for again', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT }, { auto: false });
    const w = await s.mapReady();
    for (let i = 0; i < 4; i++) s.pager.pages.set(i, pattern(1, 10 + i));
    const first = w.read(0, 2 * PAGE);
    const req1 = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect(req1).toMatchObject({ offset: 0, length: 2 * PAGE });
    expect((await first).error).toBe(EIO);
    const second = w.read(0, 4 * PAGE);
    const req2 = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect(req2).toMatchObject({ offset: 0, length: 4 * PAGE });
    s.pager.answer(req1); // late: fills pages 0-1 of the newer request
    await settle();
    s.pager.options.auto = true;
    s.pager.answer(req2); // stops at page 0 (present): pages 2-3 must not wait for an answer already given
    const started = performance.now();
    const r = await second;
    expect(r.error).toBe(0);
    expect(performance.now() - started).toBeLessThan(TIMEOUT);
    expect(r.data.equals(Buffer.concat([0, 1, 2, 3].map((i) => pattern(1, 10 + i))))).toBe(true);
    expect(s.pager.messages('memory_object_data_request').at(-1)).toMatchObject({ offset: 2 * PAGE, length: 2 * PAGE });
    expect(w.object.absentCount).toBe(0);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    w.deallocate();
  });

  it('a stalled pager fails its own faults only: other objects keep being served meanwhile', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT * 3 }, { auto: false });
    const stalled = await s.mapReady();
    const hung = stalled.read(0, PAGE);
    await s.pager.waitFor('memory_object_data_request');
    const other = new TestPager(s.ipc);
    const w = await s.kernel.vmMap(s.client, other.giveSendRight(s.client), 0, 1 << 30);
    other.pages.set(5, pattern(1, 5));
    for (let i = 0; i < 20; i++) {
      const r = await w.read(5 * PAGE, PAGE);
      expect(r.error).toBe(0);
      expect(r.data.equals(pattern(1, 5))).toBe(true);
    }
    expect((await hung).error).toBe(EIO);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    w.deallocate();
    stalled.deallocate();
  });

  it('an unanswered data_unlock fails the write with EIO; the next write asks again', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT }, { auto: false, lockValue: VM_PROT_WRITE });
    const w = await s.mapReady();
    const read = w.read(0, PAGE);
    s.pager.answer(await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request'));
    expect((await read).error).toBe(0);
    const write = w.write(0, Buffer.from('hello'));
    await s.pager.waitFor<MemoryObjectDataUnlock>('memory_object_data_unlock');
    expect(s.kernel.timeouts.unlockCount).toBe(1);
    expect((await write).error).toBe(EIO);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    expect(w.object.dirtyCount).toBe(0);

    const again = w.write(0, Buffer.from('hello'));
    const unlock = await s.pager.waitFor<MemoryObjectDataUnlock>('memory_object_data_unlock');
    s.pager.grant(unlock);
    expect((await again).error).toBe(0);
    expect(w.object.dirtyCount).toBe(1);
    await sleep(TIMEOUT * 2);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    expect(s.kernel.timeouts.unlockCount).toBe(0);
    w.deallocate();
  });

  it('a pager that never answers init: faults fail with EIO after the timeout; a later ready lets the next one through', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT }, { auto: false });
    const w = await s.map();
    await s.pager.waitFor('memory_object_init');
    const r1 = await w.read(0, 10);
    expect(r1.error).toBe(EIO);
    expect(s.kernel.statistics().pager_timeouts).toBe(1);
    expect(s.pager.count('memory_object_data_request')).toBe(0);
    s.pager.options.auto = true;
    s.pager.send({ id: 'memory_object_ready', mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    expect((await w.read(0, 10)).error).toBe(0);
    w.deallocate();
  });

  it('a fault that began waiting for ready later than another gets its own full timeout', async () => {
    s = setup({ pagerTimeoutMs: TIMEOUT * 2 }, { auto: false });
    const w = await s.map();
    await s.pager.waitFor('memory_object_init');
    const early = w.read(0, 10);
    await sleep(TIMEOUT);
    const lateStart = performance.now();
    let lateDone = 0;
    const late = w.read(PAGE, 10).then((r) => {
      lateDone = performance.now();
      return r;
    });
    expect((await early).error).toBe(EIO);
    expect(lateDone).toBe(0);
    expect((await late).error).toBe(EIO);
    expect(lateDone - lateStart).toBeGreaterThanOrEqual(TIMEOUT * 2 - 5);
    w.deallocate();
  });

  it('pagerTimeoutMs 0: a fault waits for the pager as long as it takes', async () => {
    s = setup({ pagerTimeoutMs: 0 }, { auto: false });
    const w = await s.mapReady();
    let done = false;
    const read = w.read(0, PAGE).then((r) => {
      done = true;
      return r;
    });
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    await sleep(150);
    expect(done).toBe(false);
    s.pager.answer(req);
    expect((await read).error).toBe(0);
    expect(s.kernel.statistics().pager_timeouts).toBe(0);
    w.deallocate();
  });

  it('a bad timeout is refused', () => {
    const make = (pagerTimeoutMs: number) => () => new Kernel({ ipc: new IpcSystem(), cacheSize: 64 * PAGE, swap: new MemorySwap(PAGE), pagerTimeoutMs });
    expect(make(-1)).toThrow(RangeError);
    expect(make(Number.NaN)).toThrow(RangeError);
    s = setup();
  });
});
