/**
 * The pageout daemon, laundry, double paging and the memory bound
 * (checklist rows 23, 27, 30, 32, 35-37).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_DEFAULT_LAUNDRY,
  type Kernel,
  MemorySwap,
  VM_PROT_NONE,
  type MemoryObjectLockCompleted,
  type VmWindow,
} from '../../kernel/index.js';
import { closeSetups, framesAccountedFor, PAGE, pattern, scrambled, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

/** A swap whose writes wait until the test releases them: the default pager stalls on the first. */
class HeldSwap extends MemorySwap {
  private waiting: (() => void)[] | undefined = [];

  get held(): number {
    return this.waiting?.length ?? 0;
  }

  override async write(slot: number, data: Buffer): Promise<void> {
    const waiting = this.waiting;
    if (waiting) await new Promise<void>((resolve) => waiting.push(resolve));
    await super.write(slot, data);
  }

  /** Let the held writes go, and every later one through. */
  release(): void {
    for (const go of this.waiting?.splice(0) ?? []) go();
    this.waiting = undefined;
  }
}

/** The pageout daemon's passes, so that a test waits for a pass instead of for a time. */
class PageoutPasses {
  private waiters: (() => void)[] = [];

  constructor(kernel: Kernel) {
    const daemon = kernel.pageout;
    const run = daemon.run.bind(daemon);
    daemon.run = (urgent?: boolean): void => {
      run(urgent);
      for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Resolves after the `least`-th pass from now at whose end `ready()` holds; fails after 100 passes. */
  async until(ready: () => boolean, least = 1): Promise<void> {
    for (let pass = 1; pass <= 100; pass++) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (pass >= least && ready()) return;
    }
    throw new Error('pageout: 100 passes and still not ready');
  }
}

let s: Setup;
afterEach(closeSetups);

describe('pageout', () => {
  it('row 32: clean, non-precious victims are freed without a message', async () => {
    s = setup({ cacheSize: 32 * PAGE });
    const w = await s.map();
    for (const i of scrambled(101)) expect((await w.read(i * PAGE, 1)).error).toBe(0);
    const st = s.kernel.statistics();
    expect(st.evictions_clean).toBeGreaterThan(60);
    expect(st.evictions_dirty).toBe(0);
    expect(st.pageouts).toBe(0);
    expect(s.pager.messages('memory_object_data_return')).toEqual([]);
    w.deallocate();
  });

  it('row 30: a clean precious page is returned with dirty=false when evicted, not dropped', async () => {
    s = setup({ cacheSize: 32 * PAGE }, { precious: true });
    const w = await s.map();
    for (const i of scrambled(101)) await w.read(i * PAGE, 1);
    await settle();
    const st = s.kernel.statistics();
    expect(st.evictions_clean).toBe(0);
    expect(st.evictions_dirty).toBeGreaterThan(60);
    expect(s.pager.messages('memory_object_data_return').length).toBe(st.evictions_dirty);
    expect(s.pager.messages('memory_object_data_return').every((r) => !r.dirty && !r.kernelCopy)).toBe(true);
    w.deallocate();
  });

  it('row 35: the daemon starts below the low mark, stops at the high mark; allocation never goes below the minimum', async () => {
    s = setup({ cacheSize: 100 * PAGE });
    const k = s.kernel;
    expect([k.freeMin, k.freeLow, k.freeHigh]).toEqual([5, 6, 10]);
    const w = await s.map();
    let lowest = Infinity;
    for (const i of scrambled(300)) {
      await w.read(i * PAGE, 1);
      lowest = Math.min(lowest, k.pages.freeFrameCount);
    }
    await settle();
    expect(lowest).toBeGreaterThanOrEqual(k.freeMin);
    expect(k.pages.freeFrameCount).toBeGreaterThanOrEqual(k.freeHigh);
    expect(k.pages.freeFrameCount).toBeLessThanOrEqual(k.freeHigh + 1);
    const st = k.statistics();
    expect(st.evictions_clean).toBe(300 - w.object.residentCount);
    expect(w.object.residentCount).toBe(100 - st.free_count);
    w.deallocate();
  });

  it('memory: writing an object 10x the pool never holds more page data than the pool', async () => {
    s = setup({ cacheSize: 64 * PAGE });
    const w = await s.map();
    const pages = 640;
    for (let i = 0; i < pages; i += 4) {
      expect(await w.write(i * PAGE, pattern(4, i))).toEqual({ bytes: 4 * PAGE, error: 0 });
      expect(framesAccountedFor(s.kernel)).toBe(true);
      expect(s.kernel.statistics().free_count).toBeGreaterThanOrEqual(0);
    }
    await settle();
    for (let i = 0; i < pages; i += 4) expect((await w.read(i * PAGE, 4 * PAGE)).data.equals(pattern(4, i))).toBe(true);
    const st = s.kernel.statistics();
    expect(st.evictions_dirty).toBeGreaterThan(500);
    expect(st.pageouts).toBeGreaterThanOrEqual(st.evictions_dirty);
    expect(framesAccountedFor(s.kernel)).toBe(true);
    w.deallocate();
  });

  it('a dirty victim goes back with its dirty, inactive neighbours: one data_return per run, at most 32 pages', async () => {
    s = setup({ cacheSize: 256 * PAGE });
    const w = await s.map();
    for (let i = 0; i < 1024; i += 4) expect(await w.write(i * PAGE, pattern(4, i))).toEqual({ bytes: 4 * PAGE, error: 0 });
    await settle();
    const st = s.kernel.statistics();
    const returns = s.pager.messages('memory_object_data_return');
    expect(st.evictions_dirty).toBeGreaterThan(700);
    // Far fewer messages than pages, each a run within the bound, every page in one.
    expect(returns.length).toBeLessThan(st.evictions_dirty / 4);
    expect(returns.every((r) => r.data.length > 0 && r.data.length <= 32 * PAGE)).toBe(true);
    expect(returns.reduce((n, r) => n + r.data.length / PAGE, 0)).toBe(st.pageouts);
    for (let i = 0; i < 1024; i += 4) expect((await w.read(i * PAGE, 4 * PAGE)).data.equals(pattern(4, i))).toBe(true);
    expect(framesAccountedFor(s.kernel)).toBe(true);
    w.deallocate();
  });

  it('row 36: with five pages out to the default pager, pageout waits for it', async () => {
    const swap = new HeldSwap(PAGE);
    s = setup({ cacheSize: 32 * PAGE, swap });
    const kernel = s.kernel;
    // Every value the default pager's laundry count takes, not samples of it.
    let laundry = 0;
    let most = 0;
    Object.defineProperty(kernel, 'defaultLaundry', {
      get: () => laundry,
      set: (n: number) => {
        laundry = n;
        most = Math.max(most, n);
      },
    });
    const passes = new PageoutPasses(kernel);
    const w = kernel.vmAllocate(1 << 20);
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 128; i += 2) {
        expect(await w.write(i * PAGE, pattern(2, i))).toEqual({ bytes: 2 * PAGE, error: 0 });
        written = i + 2;
      }
    })();
    try {
      // The default pager takes one page and waits on its swap; pageout sends it more until five are out.
      await passes.until(() => kernel.defaultLaundry === MAX_DEFAULT_LAUNDRY);
      const stuckAt = written;
      // Two more passes of the throttled daemon send nothing more: it waits for the default pager, and the writer for it.
      await passes.until(() => true, 2);
      expect(kernel.defaultLaundry).toBe(MAX_DEFAULT_LAUNDRY);
      expect(swap.held).toBe(1);
      expect(written).toBe(stuckAt);
      expect(written).toBeLessThan(128);
    } finally {
      swap.release();
    }
    await writing;
    expect(most).toBe(MAX_DEFAULT_LAUNDRY);
    for (let i = 0; i < 128; i += 2) expect((await w.read(i * PAGE, 2 * PAGE)).data.equals(pattern(2, i))).toBe(true);
    w.deallocate();
  });

  /**
   * A pager with 24 dirty pages resident stops taking messages; then
   * anonymous memory needs the frames. Its pages must still go: through
   * the default pager, and to the pager once it takes messages again.
   */
  async function wedgedPager(): Promise<{ w: VmWindow; anon: VmWindow }> {
    s = setup({ cacheSize: 32 * PAGE, externalLaundryMax: 4 });
    const w = await s.map();
    await w.write(0, pattern(24, 1));
    s.pager.pause();
    const anon = s.kernel.vmAllocate(1 << 20);
    for (let i = 0; i < 40; i++) expect((await anon.write(i * PAGE, pattern(1, 100 + i))).error).toBe(0);
    return { w, anon };
  }

  it('row 37: pages of a wedged pager are double-paged to the default pager and delivered later', async () => {
    const { w, anon } = await wedgedPager();
    const st = s.kernel.statistics();
    expect(st.double_paged).toBeGreaterThan(0);
    expect(st.double_paged_delivered).toBe(0);
    expect(framesAccountedFor(s.kernel)).toBe(true);
    s.pager.resume();
    for (let i = 0; i < 100 && s.kernel.statistics().double_paged_delivered < st.double_paged; i++) await settle();
    expect(s.kernel.statistics().double_paged_delivered).toBe(s.kernel.statistics().double_paged);
    for (let i = 0; i < 24; i++) expect((await w.read(i * PAGE, PAGE)).data.equals(pattern(24, 1).subarray(i * PAGE, (i + 1) * PAGE))).toBe(true);
    for (let i = 0; i < 40; i++) expect((await anon.read(i * PAGE, PAGE)).data.equals(pattern(1, 100 + i))).toBe(true);
    w.deallocate();
    anon.deallocate();
  });

  it('row 27: a fault on a page being paged out waits until its data_return is queued, then asks again', async () => {
    const { w, anon } = await wedgedPager();
    expect(s.kernel.pageout.doublePagedPending).toBeGreaterThan(0);
    // Find a double-paged page: it has a holding page (busy) at its offset.
    let held = -1;
    for (let i = 0; i < 24 && held < 0; i++) {
      const d = s.kernel.pages.lookup(w.object.id, i);
      if (d >= 0 && s.kernel.pages.isFictitious(d)) held = i;
    }
    expect(held).toBeGreaterThanOrEqual(0);
    let done = false;
    const read = w.read(held * PAGE, PAGE).then((r) => {
      done = true;
      return r;
    });
    await settle(5);
    expect(done).toBe(false);
    s.pager.resume();
    const r = await read;
    expect(r.data.equals(pattern(24, 1).subarray(held * PAGE, (held + 1) * PAGE))).toBe(true);
    // The page's data_return reached the pager before the data_request that brought it back.
    const ids = s.pager.received.map((m) => (m.id === 'memory_object_data_return' || m.id === 'memory_object_data_request' ? `${m.id}@${m.offset / PAGE}` : m.id));
    expect(ids.indexOf(`memory_object_data_return@${held}`)).toBeLessThan(ids.lastIndexOf(`memory_object_data_request@${held}`));
    w.deallocate();
    anon.deallocate();
  });

  it('row 23: a lock_request over a page in flight waits for it; lock_completed follows every data_return', async () => {
    const { w, anon } = await wedgedPager();
    s.pager.lockRequest(0, 24 * PAGE, 1, true, VM_PROT_NONE, s.pager.port);
    await settle(5);
    s.pager.resume();
    await s.pager.waitFor<MemoryObjectLockCompleted>('memory_object_lock_completed');
    const ids = s.pager.ids();
    expect(ids.lastIndexOf('memory_object_data_return')).toBeLessThan(ids.indexOf('memory_object_lock_completed'));
    const returned = new Set<number>();
    for (const r of s.pager.messages('memory_object_data_return')) for (let p = 0; p < r.data.length / PAGE; p++) returned.add(r.offset / PAGE + p);
    expect(returned.size).toBe(24);
    expect(w.object.residentCount).toBe(0);
    w.deallocate();
    anon.deallocate();
  });

  it('switching the policy while running keeps every resident page and the data', async () => {
    s = setup({ cacheSize: 64 * PAGE });
    const w = await s.map();
    for (let i = 0; i < 50; i++) await w.write(i * PAGE, pattern(1, i));
    const resident = w.object.residentCount;
    const before = s.kernel.statistics();
    for (const name of ['lru', 'clock', 'fifo', 'clock2', 'mach']) {
      s.kernel.setPolicy(name);
      expect(s.kernel.statistics().policy).toBe(name);
      expect(s.kernel.policy.size).toBe(resident);
    }
    expect(s.kernel.statistics().active_count + s.kernel.statistics().inactive_count).toBe(resident);
    for (let i = 50; i < 200; i++) await w.write(i * PAGE, pattern(1, i));
    for (let i = 0; i < 200; i++) expect((await w.read(i * PAGE, PAGE)).data.equals(pattern(1, i))).toBe(true);
    expect(s.kernel.statistics().reactivations).toBeGreaterThanOrEqual(before.reactivations);
    expect(() => s.kernel.setPolicy('nope')).toThrow(/unknown policy/);
    w.deallocate();
  });
});
