/**
 * The pager library against the kernel (checklist rows 13, 17, 26, 28, 29,
 * 31, 47-54), and the places where it does better than libpager.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CLUSTER_PAGES, EDQUOT, EIO, ENOSPC, MEMORY_OBJECT_COPY_DELAY, VM_PROT_READ, VM_PROT_WRITE } from '../../kernel/index.js';
import { PagerError } from '../../daemon/pager/index.js';
import { fail, MemoryCallbacks, PAGE, pagerSetup, pattern, settle, type PagerSetup } from '../helpers/pager-setup.js';

let s: PagerSetup;

/** A cacheable (may_cache) object holding `text` at 0, mapped once and let go: the kernel keeps it cached. */
async function cachedObject(text: string): Promise<void> {
  s = pagerSetup({}, { mayCache: true });
  const w = await s.map();
  await w.write(0, Buffer.from(text));
  w.deallocate();
  await settle();
}

afterEach(async () => {
  await s.close();
});

/**
 * Reads of a pager's callbacks held until the test lets each go, so that
 * which reads run at the same time is seen, not left to timers.
 */
class HeldReads {
  readonly held: { offset: number; release: () => void }[] = [];
  private arrivals: (() => void)[] = [];

  constructor(callbacks: MemoryCallbacks) {
    const read = callbacks.readPage.bind(callbacks);
    callbacks.readPage = async (offset, into) => {
      await new Promise<void>((release) => {
        this.held.push({ offset, release });
        for (const arrived of this.arrivals.splice(0)) arrived();
      });
      return read(offset, into);
    };
  }

  /** Resolves once `n` reads are held. */
  async until(n: number): Promise<void> {
    while (this.held.length < n) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  /** Let the oldest held read go on. */
  release(): void {
    this.held.shift()?.release();
  }
}

/** Evict everything the window's object has resident (dirty pages are returned). */
async function evictAll(): Promise<void> {
  await s.pager.return(true);
}

describe('pager', () => {
  it('row 13: the pager records the error a page gave the kernel (getError), until it is read well', async () => {
    s = pagerSetup();
    const w = await s.map();
    s.callbacks.readFault = (offset) => (offset === 3 * PAGE ? fail('ENOSPC') : undefined);
    expect((await w.read(3 * PAGE, 10)).error).toBe(ENOSPC);
    expect(s.pager.getError(3 * PAGE + 5)).toBe(ENOSPC);
    expect(s.pager.getError(2 * PAGE)).toBe(0);
    s.callbacks.readFault = undefined;
    expect((await w.read(3 * PAGE, 10)).error).toBe(0);
    expect(s.pager.getError(3 * PAGE)).toBe(0);
    w.deallocate();
  });

  it('the real errno of a failed read reaches the access and survives a terminate', async () => {
    s = pagerSetup();
    let w = await s.map();
    s.callbacks.readFault = () => fail('EDQUOT');
    expect((await w.read(0, 1)).error).toBe(EDQUOT);
    w.deallocate();
    await s.pager.waitUntil(() => s.pager.state === 'notinit');
    // A new incarnation of the object: the error is still known until a good read.
    expect(s.pager.getError(0)).toBe(EDQUOT);
    w = await s.map();
    s.callbacks.readFault = undefined;
    expect((await w.read(0, 1)).error).toBe(0);
    expect(s.pager.getError(0)).toBe(0);
    w.deallocate();
  });

  it('row 17: an unlock the pager refuses fails the write with its error; no other page is harmed', async () => {
    s = pagerSetup();
    s.callbacks.writeLockHoles = true;
    s.callbacks.pages.set(1, Buffer.alloc(PAGE, 7));
    const w = await s.map();
    s.callbacks.unlockFault = (offset) => (offset === 0 ? fail('ENOSPC') : undefined);
    const r = await w.write(0, Buffer.from('full'));
    expect(r).toEqual({ bytes: 0, error: ENOSPC });
    expect(s.pager.getError(0)).toBe(ENOSPC);
    // Page 1 has data (not a hole): it is writable at once; page 2 is a hole that unlocks fine.
    expect(await w.write(PAGE, Buffer.from('ok'))).toEqual({ bytes: 2, error: 0 });
    expect(await w.write(2 * PAGE, Buffer.from('ok'))).toEqual({ bytes: 2, error: 0 });
    expect(s.callbacks.calls.filter((c) => c.startsWith('unlock'))).toEqual(['unlock 0', 'unlock 2']);
    // Space again: the write goes through.
    s.callbacks.unlockFault = undefined;
    expect(await w.write(0, Buffer.from('room'))).toEqual({ bytes: 4, error: 0 });
    await s.pager.sync();
    expect(s.callbacks.page(0).subarray(0, 4).toString()).toBe('room');
    expect(s.callbacks.page(1).subarray(0, 3)).toEqual(Buffer.from([0x6f, 0x6b, 7]));
    w.deallocate();
  });

  it('row 54: a callback error outside EIO, ENOSPC and EDQUOT is reported as EIO', async () => {
    s = pagerSetup();
    const w = await s.map();
    s.callbacks.readFault = () => Object.assign(new Error('read-only'), { code: 'EROFS' });
    expect((await w.read(0, 1)).error).toBe(EIO);
    s.callbacks.readFault = () => new PagerError('EDQUOT');
    expect((await w.read(PAGE, 1)).error).toBe(EDQUOT);
    s.callbacks.readFault = () => Object.assign(new Error('full'), { code: 'ENOSPC', errno: -28 });
    expect((await w.read(2 * PAGE, 1)).error).toBe(ENOSPC);
    w.deallocate();
  });

  it('row 26: returned buffers are written and let go; the pager holds no page data afterwards', async () => {
    s = pagerSetup({ cacheSize: 16 * PAGE });
    const w = await s.map();
    await w.write(0, pattern(64, 2));
    await s.pager.sync();
    await evictAll();
    expect(s.pager.writer.idle).toBe(true);
    expect(s.pager.writer.pendingIn(0, Infinity)).toBe(false);
    expect(s.callbacks.pages.size).toBe(64);
    w.deallocate();
  });

  it('row 28: a request for a page being written is answered with the data being written, not the stored data', async () => {
    s = pagerSetup({ cacheSize: 16 * PAGE });
    const w = await s.map();
    s.callbacks.pages.set(0, Buffer.alloc(PAGE, 1)); // old data in the store
    await w.write(0, Buffer.alloc(PAGE, 2)); // page 0 now dirty with new data
    s.callbacks.latency = 20; // writes take a while
    const returning = s.pager.return(true); // page 0 goes back and leaves the kernel
    await settle(5);
    expect(s.pager.writer.pendingIn(0, 1)).toBe(true);
    s.callbacks.latency = 0;
    const r = await w.read(0, PAGE);
    expect(r.data.equals(Buffer.alloc(PAGE, 2))).toBe(true);
    expect(s.pager.stats.pagein_waits).toBe(1);
    await returning;
    expect(s.callbacks.page(0).equals(Buffer.alloc(PAGE, 2))).toBe(true);
    w.deallocate();
  });

  it('row 29: two data_returns of one page never write at the same time', async () => {
    s = pagerSetup();
    const w = await s.map();
    s.callbacks.latency = 10;
    await w.write(0, Buffer.alloc(PAGE, 1));
    const first = s.pager.sync(false); // page 0 back with kernel_copy, stays resident
    await settle(3);
    await w.write(0, Buffer.alloc(PAGE, 2));
    await s.pager.sync(true);
    await first;
    await s.pager.sync(true);
    expect(s.callbacks.maxConcurrentWritesPerPage).toBe(1);
    expect(s.callbacks.page(0).equals(Buffer.alloc(PAGE, 2))).toBe(true);
    w.deallocate();
  });

  it('row 31: with notifyOnEvict, every page returned without a kernel copy gets exactly one notifyEvict', async () => {
    s = pagerSetup({ cacheSize: 16 * PAGE }, { notifyOnEvict: true });
    const w = await s.map();
    for (let i = 0; i < 60; i++) await w.read(((i * 7) % 60) * PAGE, 1);
    await w.write(70 * PAGE, pattern(4, 1));
    await evictAll();
    // Every page the kernel had (60 read once each, 7 being prime to 60, and 4 written) was
    // given back, nothing is resident, and each page was notified once: no page missing or twice.
    const touched = [...Array(60).keys(), 70, 71, 72, 73];
    expect(w.object.residentCount).toBe(0);
    expect(s.kernel.statistics().pageouts).toBe(touched.length);
    expect(s.callbacks.evicted.toSorted((a, b) => a - b)).toEqual(touched);
    w.deallocate();
  });

  it('a notifyEvict that throws is reported; the other pages of the run still finish and return completes', async () => {
    const errors: string[] = [];
    s = pagerSetup({}, { notifyOnEvict: true }, (err) => errors.push((err as Error).message));
    const w = await s.map();
    await w.write(0, pattern(4, 2));
    s.callbacks.notifyEvict = (offset: number): void => {
      s.callbacks.evicted.push(offset / PAGE);
      if (offset === PAGE) throw new Error('notifyEvict failed');
    };
    await evictAll();
    expect(errors).toEqual(['notifyEvict failed']);
    expect(s.callbacks.evicted.sort()).toEqual([0, 1, 2, 3]);
    expect(s.pager.describeWaits()).toBeUndefined();
    expect(s.callbacks.page(3).equals(pattern(4, 2).subarray(3 * PAGE))).toBe(true);
    w.deallocate();
  });

  it('row 47: one pager handles its messages one at a time; different pagers run in parallel', async () => {
    s = pagerSetup({ cacheSize: 128 * PAGE });
    const other = new MemoryCallbacks();
    const w = await s.map();
    const w2 = await s.map(s.newPager(other));
    const mine = new HeldReads(s.callbacks);
    const theirs = new HeldReads(other);
    // Four faults on one pager: while one read is held, no other read of that pager starts.
    const reads = [0, 10, 20, 30].map((i) => w.read(i * PAGE, 1));
    for (let i = 0; i < 4; i++) {
      await mine.until(1);
      await settle(5);
      expect(mine.held).toHaveLength(1);
      mine.release();
    }
    expect((await Promise.all(reads)).every((r) => r.error === 0)).toBe(true);
    expect(s.callbacks.calls).toEqual(['read 0+1', 'read 10+1', 'read 20+1', 'read 30+1']);
    // One fault on each pager: both reads are held at the same time, so the pagers run in parallel.
    const both = [w.read(50 * PAGE, 1), w2.read(50 * PAGE, 1)];
    await Promise.all([mine.until(1), theirs.until(1)]);
    mine.release();
    theirs.release();
    expect((await Promise.all(both)).every((r) => r.error === 0)).toBe(true);
    w.deallocate();
    w2.deallocate();
  });

  it('row 48: unlocking does not wait on a later message of its own pager (sync and unlocks together finish)', async () => {
    s = pagerSetup();
    s.callbacks.writeLockHoles = true;
    const w = await s.map();
    await w.read(0, 8 * PAGE);
    const writes = [0, 1, 2, 3].map((i) => w.write(i * PAGE, Buffer.from([i + 1])));
    const syncs = [s.pager.sync(true), s.pager.sync(true)];
    expect((await Promise.all(writes)).every((r) => r.error === 0)).toBe(true);
    await Promise.all(syncs);
    await s.pager.sync(true);
    expect([0, 1, 2, 3].map((i) => s.callbacks.page(i)[0])).toEqual([1, 2, 3, 4]);
    w.deallocate();
  });

  it('row 49: sync writes back and keeps, return writes back and drops, flush drops and discards', async () => {
    s = pagerSetup();
    const w = await s.map();
    await w.write(0, Buffer.alloc(2 * PAGE, 5));
    await s.pager.syncSome(0, 2 * PAGE, true);
    expect(s.callbacks.page(1)[0]).toBe(5);
    expect(w.object.residentCount).toBe(2);
    expect(w.object.dirtyCount).toBe(0);
    await w.write(0, Buffer.alloc(PAGE, 6));
    await s.pager.returnSome(0, 2 * PAGE, true);
    expect(s.callbacks.page(0)[0]).toBe(6);
    expect(w.object.residentCount).toBe(0);
    await w.write(0, Buffer.alloc(PAGE, 7));
    await s.pager.flushSome(0, 2 * PAGE, true); // (the write read page 1 ahead too)
    expect(w.object.residentCount).toBe(0);
    expect(s.callbacks.page(0)[0]).toBe(6); // the 7s were discarded
    expect((await w.read(0, 1)).data[0]).toBe(6);
    w.deallocate();
  });

  it('describeWaits says what a sync in progress waits on, and nothing once it is done', async () => {
    s = pagerSetup({}, { label: 'slow' });
    const w = await s.map();
    await w.write(0, Buffer.alloc(PAGE, 1));
    expect(s.pager.describeWaits()).toBeUndefined();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const [one, run] = [s.callbacks.writePage.bind(s.callbacks), s.callbacks.writePages.bind(s.callbacks)];
    s.callbacks.writePage = async (offset, data) => gate.then(() => one(offset, data));
    s.callbacks.writePages = async (offset, data) => gate.then(() => run(offset, data));
    const syncing = s.pager.sync(true);
    await settle(10);
    expect(s.pager.describeWaits()).toMatch(/^pager slow \(normal\): .*page writes/);
    release();
    await syncing;
    expect(s.pager.describeWaits()).toBeUndefined();
    expect(s.kernel.describeWaits()).toEqual([]);
    w.deallocate();
  });

  it('row 50: offering a resident page changes nothing; a new page becomes resident and inactive', async () => {
    s = pagerSetup();
    const w = await s.map();
    await w.read(0, 1);
    s.pager.offerPage(false, false, 0, Buffer.alloc(PAGE, 9));
    s.pager.offerPage(false, true, 5 * PAGE, Buffer.alloc(PAGE, 8));
    await settle();
    expect(s.kernel.statistics().inactive_count).toBe(1);
    expect((await w.read(0, 1)).data[0]).toBe(0);
    expect(w.copySync(5 * PAGE, Buffer.alloc(1), VM_PROT_READ)).toBe(1);
    expect(w.copySync(5 * PAGE, Buffer.alloc(1), VM_PROT_WRITE)).toBe(0); // offered write-locked
    w.deallocate();
  });

  it('changeAttributes waits for change_completed; uncaching an idle object terminates it first', async () => {
    await cachedObject('kept');
    expect(s.kernel.statistics().objects_cached).toBe(1);
    await s.pager.changeAttributes(false, MEMORY_OBJECT_COPY_DELAY, true);
    expect(s.pager.state).toBe('notinit'); // the terminate came before change_completed
    expect(s.callbacks.page(0).subarray(0, 4).toString()).toBe('kept');
    expect(s.kernel.statistics().objects).toBe(0);
    await s.pager.changeAttributes(false, MEMORY_OBJECT_COPY_DELAY, true); // nothing changes: returns at once
  });

  it('a call queued behind the termination of its object is dropped: no page of a dead object stays resident', async () => {
    await cachedObject('kept');
    const free = s.kernel.statistics().free_count;
    // Uncache (the kernel terminates the object) and, before that is handled, offer a page.
    void s.pager.changeAttributes(false, MEMORY_OBJECT_COPY_DELAY, false);
    s.pager.offerPage(false, false, 5 * PAGE, Buffer.alloc(PAGE, 9));
    await settle(10);
    expect(s.pager.state).toBe('notinit');
    const stats = s.kernel.statistics();
    expect(stats.objects).toBe(0);
    expect(stats.active_count + stats.inactive_count).toBe(0);
    expect(stats.free_count).toBe(free + 1); // the one cached page came back; the offered one never arrived
  });

  it('row 51: shutdown syncs and flushes, then the pager takes no more requests', async () => {
    s = pagerSetup();
    const w = await s.map();
    await w.write(0, Buffer.from('kept'));
    await s.pager.shutdown();
    expect(s.callbacks.page(0).subarray(0, 4).toString()).toBe('kept');
    expect(s.pager.state).toBe('shutdown');
    expect((await w.read(PAGE, 1)).error).toBe(EIO);
    expect(s.requests.pagerCount).toBe(0);
    w.deallocate();
  });

  it('row 52: inhibit waits for the handlers running; requests meanwhile run after resume', async () => {
    s = pagerSetup();
    const w = await s.map();
    const reads = new HeldReads(s.callbacks);
    const before = w.read(0, 1);
    await reads.until(1);
    let inhibited = false;
    const inhibit = s.requests.inhibit().then(() => (inhibited = true));
    await settle(5);
    expect(inhibited).toBe(false); // the read's handler is still running
    reads.release();
    await inhibit;
    expect((await before).error).toBe(0);
    let done = false;
    const during = w.read(10 * PAGE, 1).then((r) => {
      done = true;
      return r;
    });
    // The kernel has asked for page 10 (busy and absent); the inhibited pager has not taken the request.
    expect(w.object.absentCount).toBe(1);
    await settle(5);
    expect(reads.held).toHaveLength(0);
    expect(done).toBe(false);
    expect(s.callbacks.calls).toEqual(['read 0+1']);
    s.requests.resume();
    await reads.until(1);
    reads.release();
    expect((await during).error).toBe(0);
    expect(s.callbacks.calls).toEqual(['read 0+1', 'read 10+1']);
    w.deallocate();
  });

  it('row 53: pager_memcpy copies unaligned ranges both ways and stops at an error with the bytes done', async () => {
    // may_cache: the kernel keeps the object (and its send right) between copies, so the pager lives on.
    s = pagerSetup({}, { mayCache: true });
    const task = s.ipc.createSpace('task');
    const data = pattern(5, 3);
    expect(await s.pager.memcpy(s.kernel, task, 100, data.subarray(0, 3 * PAGE + 17), VM_PROT_WRITE)).toEqual({
      bytes: 3 * PAGE + 17,
      error: 0,
    });
    const back = Buffer.alloc(3 * PAGE + 17);
    expect(await s.pager.memcpy(s.kernel, task, 100, back, VM_PROT_READ)).toEqual({ bytes: back.length, error: 0 });
    expect(back.equals(data.subarray(0, back.length))).toBe(true);
    await s.pager.return(true);
    // Pages 0 and 1 come in; then page 2 (and what is read with it) fails.
    expect((await s.pager.memcpy(s.kernel, task, 0, Buffer.alloc(2 * PAGE), VM_PROT_READ)).error).toBe(0);
    s.callbacks.readFault = () => fail('EIO');
    const r = await s.pager.memcpy(s.kernel, task, 100, Buffer.alloc(3 * PAGE), VM_PROT_READ);
    expect(r).toEqual({ bytes: 2 * PAGE - 100, error: EIO });
  });

  it('sequential access is paged in clusters that grow; random access asks for single pages', async () => {
    s = pagerSetup({ cacheSize: 512 * PAGE });
    const w = await s.map();
    for (let off = 0; off < 256 * PAGE; off += 8 * PAGE) expect((await w.read(off, 8 * PAGE)).error).toBe(0);
    const sizes = s.callbacks.calls.filter((c) => c.startsWith('read ')).map((c) => Number(c.split('+')[1]));
    expect(sizes[0]).toBe(8);
    expect(Math.max(...sizes)).toBe(DEFAULT_MAX_CLUSTER_PAGES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(256);
    expect(sizes.length).toBeLessThan(256 / 8);
    s.callbacks.calls.length = 0;
    for (const page of [900, 700, 1300, 1100]) await w.read(page * PAGE, 100);
    expect(s.callbacks.calls).toEqual(['read 900+1', 'read 700+1', 'read 1300+1', 'read 1100+1']);
    w.deallocate();
  });

  it('returned pages are written in runs through writePages', async () => {
    s = pagerSetup({ cacheSize: 32 * PAGE });
    const w = await s.map();
    const data = pattern(128, 4);
    await w.write(0, data);
    await s.pager.sync(true);
    const bulk = s.callbacks.calls.filter((c) => c.startsWith('writePages'));
    const single = s.callbacks.calls.filter((c) => c.startsWith('write '));
    expect(bulk.length).toBeGreaterThan(0);
    expect(bulk.length + single.length).toBeLessThan(128 / 2);
    expect(s.callbacks.holds(0, data)).toBe(true);
    w.deallocate();
  });

  it('a failed write is not dropped: return reports EIO, the page reads back, and the next sync stores it', async () => {
    s = pagerSetup();
    const w = await s.map();
    await w.write(0, Buffer.from('x'));
    s.callbacks.writeFault = () => fail('EIO');
    await expect(s.pager.return(true)).rejects.toMatchObject({ code: 'EIO' });
    expect(s.pager.stats.write_errors).toBe(1);
    expect(s.pager.stats.pages_held).toBe(1);
    s.callbacks.writeFault = undefined;
    const back = await w.read(0, 1);
    expect(back.error).toBe(0);
    expect(back.data.toString()).toBe('x');
    await s.pager.sync(true);
    expect(s.callbacks.page(0).subarray(0, 1).toString()).toBe('x');
    expect(s.pager.stats.pages_held).toBe(0);
    expect(s.logged.some((l) => l.includes('writePage') && l.includes('kept for retry'))).toBe(true);
    w.deallocate();
  });
});
