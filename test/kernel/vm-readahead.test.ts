/**
 * Read-ahead (kernel/vm/readahead.ts): sequential detection per object, a
 * window that grows to the cluster limit and is requested before the reader
 * faults on it, a random access that drops it, and the cachestat-style
 * counters: demand hits apart from read-ahead pages, read-ahead hits and
 * read-ahead pages never used.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CLUSTER_PAGES,
  EIO,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_NO_CHANGE,
  type MemoryObjectDataRequest,
  type VmWindow,
} from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

/** The pager's data: 1024 pages. */
const DATA = pattern(1024);

/** The data_requests the pager received, as [first page, pages]. */
function requests(): [number, number][] {
  return s.pager.messages('memory_object_data_request').map((m) => [m.offset / PAGE, m.length / PAGE]);
}

/** Answer the next data_request for `page` from the pager's pages. */
async function answer(page: number): Promise<void> {
  s.pager.answer(await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === page * PAGE));
}

/** Read `pages` pages at `page` and expect the pager's data. */
async function readPages(w: VmWindow, page: number, pages: number): Promise<void> {
  const r = await w.read(page * PAGE, pages * PAGE);
  expect(r.error).toBe(0);
  expect(r.data.equals(DATA.subarray(page * PAGE, (page + pages) * PAGE))).toBe(true);
}

function plant(): void {
  for (let i = 0; i < 1024; i++) s.pager.pages.set(i, DATA.subarray(i * PAGE, (i + 1) * PAGE));
}

/**
 * A kernel whose pager answers only what the test answers, and a stream
 * started on it: a read of pages 0-3, then one of 4-7 (both answered), which
 * requests the window ahead, pages 8-15, before its own answer. Returns
 * that request, not answered.
 */
async function startStream(): Promise<{ w: VmWindow; ahead: MemoryObjectDataRequest }> {
  s = setup({ cacheSize: 1024 * PAGE }, { auto: false });
  plant();
  const w = await s.mapReady();
  const first = readPages(w, 0, 4);
  await answer(0);
  await first;
  const second = readPages(w, 4, 4);
  const ahead = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === 8 * PAGE);
  await answer(4);
  await second;
  return { w, ahead };
}

describe('read-ahead', () => {
  it('a second read that continues the first starts a window, requested right after its own pages', async () => {
    const { w, ahead } = await startStream();
    // The first read is not a stream yet: its own pages only. The second continues it: its
    // four pages, then a window of eight ahead, sent before its own answer came.
    expect(requests()).toEqual([[0, 4], [4, 4], [8, 8]]);
    s.pager.answer(ahead);
    await settle();
    const stats = s.kernel.statistics();
    expect(stats.readahead_pages).toBe(8);
    expect(stats.readahead_hits).toBe(0);
    w.deallocate();
  });

  it('touching the first page of a window requests the next, larger one before the reader faults', async () => {
    const { w, ahead: first } = await startStream();
    s.pager.answer(first);
    await settle();
    // Pages 8-15 are resident (read ahead): this read needs no fault, and touching page 8
    // (the marker) sends the request for the next window, of 16.
    const faults = s.kernel.statistics().faults;
    await readPages(w, 8, 4);
    expect(s.kernel.statistics().faults).toBe(faults);
    expect(requests().at(-1)).toEqual([16, 16]);
    await answer(16);
    await settle();
    await readPages(w, 12, 4);
    // The window doubles at each step up to the cluster limit.
    let at = 16;
    for (let window = 32; at < 200; window = Math.min(window * 2, DEFAULT_MAX_CLUSTER_PAGES)) {
      const next = requests().at(-1) as [number, number];
      const read = readPages(w, at, 4);
      const ahead = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset / PAGE > next[0]);
      expect(requests().at(-1)).toEqual([next[0] + next[1], window]);
      await read;
      s.pager.answer(ahead);
      await settle();
      for (at += 4; at < next[0] + next[1]; at += 4) await readPages(w, at, 4);
    }
    // Only the first two reads faulted: every later page was there before it was read.
    expect(s.kernel.statistics().faults).toBe(faults);
    w.deallocate();
  });

  it('a random access drops the window; a stream after it starts small again', async () => {
    s = setup({ cacheSize: 1024 * PAGE });
    plant();
    const w = await s.map();
    for (let page = 0; page < 200; page += 4) await readPages(w, page, 4);
    expect(Math.max(...requests().map(([, pages]) => pages))).toBe(DEFAULT_MAX_CLUSTER_PAGES);
    const before = requests().length;
    await readPages(w, 900, 1);
    await settle();
    expect(requests().slice(before)).toEqual([[900, 1]]);
    // Continuing from there is a stream again, with the smallest window.
    await readPages(w, 901, 1);
    await settle();
    expect(requests().slice(before)).toEqual([[900, 1], [901, 1], [902, 4]]);
    w.deallocate();
  });

  it('a failed read-ahead does not fail the reader that caught up with it: the reader asks again for itself', async () => {
    const { w, ahead } = await startStream();
    // The reader reaches page 8 while its read-ahead is still out, and waits on it.
    const third = readPages(w, 8, 4);
    await settle();
    s.pager.send({ id: 'memory_object_data_error', offset: ahead.offset, size: ahead.length, errorValue: EIO });
    const again = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request', (m) => m.offset === 8 * PAGE);
    s.pager.answer(again);
    await third;
    w.deallocate();
  });

  it('a sequential writer asks for the pages it writes next; past the data they are zero-filled without a message, and nothing counts as read-ahead', async () => {
    // A pager with no data there answers data_unavailable (as the store pager does past a file's end).
    s = setup({ cacheSize: 1024 * PAGE }, { unavailableForHoles: true });
    const w = await s.map();
    for (let page = 0; page < 64; page += 4) expect((await w.write(page * PAGE, Buffer.alloc(4 * PAGE, page + 1))).error).toBe(0);
    // The first write is no stream yet; from the second on, each fault asks for its 4 pages and 16 more.
    expect(requests()).toEqual([
      [0, 4],
      [4, 20],
      [24, 20],
      [44, 20],
    ]);
    const stats = s.kernel.statistics();
    expect(stats.readahead_pages).toBe(0);
    expect(stats.zero_fill_count).toBe(64);
    for (let page = 0; page < 64; page += 4) expect((await w.read(page * PAGE, 4 * PAGE)).data.equals(Buffer.alloc(4 * PAGE, page + 1))).toBe(true);
    // A writer that jumps about asks for its own pages only.
    for (const page of [500, 300, 700]) expect((await w.write(page * PAGE, Buffer.alloc(PAGE, 9))).error).toBe(0);
    expect(requests().slice(4)).toEqual([
      [500, 1],
      [300, 1],
      [700, 1],
    ]);
    w.deallocate();
  });

  it('a flush forgets the pages a writer was given and did not write: after a truncate the pager is asked again', async () => {
    s = setup({ cacheSize: 1024 * PAGE }, { unavailableForHoles: true });
    const w = await s.map();
    for (const page of [0, 4]) expect((await w.write(page * PAGE, Buffer.alloc(4 * PAGE, 1))).error).toBe(0);
    // Pages 8-23 were given (unavailable) with the second write's fault and not written.
    expect(requests()).toEqual([
      [0, 4],
      [4, 20],
    ]);
    // A truncate to 0 flushes the object; the pager takes back the room it promised those pages.
    s.pager.lockRequest(0, 1024 * PAGE, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NO_CHANGE, s.pager.port);
    await s.pager.waitFor('memory_object_lock_completed');
    expect((await w.write(12 * PAGE, Buffer.alloc(PAGE, 2))).error).toBe(0);
    expect(requests().slice(2)).toEqual([[12, 1]]);
    w.deallocate();
  });

  it('counts like cachestat: a cold sequential read has no demand hits; read-ahead hits and unused pages apart', async () => {
    s = setup({ cacheSize: 1024 * PAGE });
    plant();
    const w = await s.map();
    for (let page = 0; page < 256; page += 4) await readPages(w, page, 4);
    await settle();
    let stats = s.kernel.statistics();
    // Every page was read once, and none was there before read-ahead or a fault brought it.
    expect(stats.hits).toBe(0);
    expect(stats.lookups).toBe(256);
    expect(stats.readahead_pages).toBeGreaterThan(200);
    // Pages 0-7 came with faults; the rest ahead of the reader.
    expect(stats.readahead_hits).toBe(256 - 8);
    // Reading them again: demand hits now.
    for (let page = 0; page < 256; page += 4) await readPages(w, page, 4);
    stats = s.kernel.statistics();
    expect(stats.hits).toBe(256);
    expect(stats.readahead_hits).toBe(256 - 8);
    // The window read ahead past page 256 was never used: flushed, it counts as unused.
    const unusedNow = stats.readahead_pages - stats.readahead_hits;
    expect(unusedNow).toBeGreaterThan(0);
    s.pager.lockRequest(0, 1024 * PAGE, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NO_CHANGE, s.pager.port);
    await s.pager.waitFor('memory_object_lock_completed');
    stats = s.kernel.statistics();
    expect(stats.readahead_unused).toBe(unusedNow);
    const [record] = s.kernel.objectStatistics().filter((o) => !o.internal);
    expect(record).toMatchObject({ hits: 256, readahead_pages: stats.readahead_pages, readahead_hits: 256 - 8, readahead_unused: unusedNow });
    w.deallocate();
  });

  it('read-ahead pages evicted before use count as unused', async () => {
    // A 64-page cache and a stream that stops: what was read ahead goes unused when other pages need the frames.
    s = setup({ cacheSize: 64 * PAGE });
    plant();
    const w = await s.map();
    for (let page = 0; page < 16; page += 4) await readPages(w, page, 4);
    await settle();
    const ahead = s.kernel.statistics().readahead_pages - s.kernel.statistics().readahead_hits;
    expect(ahead).toBeGreaterThan(0);
    for (let page = 500; page < 1000; page += 7) await readPages(w, page, 1);
    await settle();
    const stats = s.kernel.statistics();
    expect(stats.readahead_unused).toBe(ahead);
    expect(stats.evictions_clean).toBeGreaterThanOrEqual(ahead);
    w.deallocate();
  });
});
