/**
 * The live curve's cost on the hit path: random 4 KiB reads of resident
 * pages (the kernel's copySync, as a FUSE read that hits runs it) with and
 * without the daemon's LiveMrcFeed.record in front (daemon/fs/live-mrc-feed.ts:
 * a hash, a comparison and a store into the ring of the worker that keeps
 * fixed-size SHARDS plus the miniature simulations of mach, clock, arc and
 * 2q), and, for comparison, with the curve updated in the thread itself
 * (LiveMrc.access per page, as the daemon did before the worker). All in
 * the same run, in alternating slices, so that a shared, noisy machine
 * slows them alike; the figure is the ratio to off.
 *
 * A bench loop hits far faster than FUSE can deliver reads (a few hundred
 * thousand a second at most), so with every page sampled the worker falls
 * behind and the ring drops keys: the row says how many.
 *
 * Two working sets: 2048 pages, within the sample (every page sampled:
 * every hit goes through the stack-distance tree and 16 miniature caches,
 * the worst case), and 32768 pages (the rate falls to about 1/8 and most
 * hits cost one hash and one comparison).
 *
 * Alone: `node dist/bench/run.js 'mrc live'` (or `--quick`).
 */
import { performance } from 'node:perf_hooks';
import { IpcSystem, Kernel, MemorySwap, VM_PROT_READ } from '../kernel/index.js';
import { INODE_RANGE, LiveMrc, PAGE_RANGE, type LiveMrcRecord } from '../daemon/fs/live-mrc.js';
import { LiveMrcFeed } from '../daemon/fs/live-mrc-feed.js';
import { MemoryPager } from './memory-pager.js';
import { KiB, printTable, type BenchRow, type Print } from './table.js';
import { xorshift32 } from './xorshift.js';

const PAGE = 4 * KiB;
const SLICE_MS = 100;

export interface MrcLiveBenchOptions {
  readonly print?: Print;
  readonly quick?: boolean;
}


type Mode = 'off' | 'worker' | 'thread';
const MODES: readonly Mode[] = ['off', 'worker', 'thread'];

/** Hits per second with the live curve off, fed to its worker, and in the thread, over `pages` resident pages, alternating slices for `ms` in all. */
async function hitsOnOff(pages: number, ms: number): Promise<{ rates: Record<Mode, number>; snap: LiveMrcRecord }> {
  const ipc = new IpcSystem();
  const cacheBytes = 2 * pages * PAGE;
  const kernel = new Kernel({ ipc, cacheSize: cacheBytes, pageSize: PAGE, swap: new MemorySwap(PAGE) });
  const pager = new MemoryPager(ipc);
  const client = ipc.createSpace('bench-client');
  const window = await kernel.vmMap(client, pager.giveSendRight(client), 0, pages * PAGE);
  const buffer = Buffer.alloc(PAGE);
  for (let p = 0; p < pages; p++) {
    const r = await window.memcpy(p * PAGE, buffer, VM_PROT_READ);
    if (r.bytes !== PAGE) throw new Error(`warm-up read: ${r.bytes} bytes, errno ${r.error}`);
  }
  const feed = new LiveMrcFeed({ pageSize: PAGE, cachePages: cacheBytes / PAGE, enabled: true, log: (line) => console.error(line) });
  const inThread = new LiveMrc(PAGE, cacheBytes / PAGE);
  const base = (7 % INODE_RANGE) * PAGE_RANGE;
  const next = xorshift32();
  const slice = (mode: Mode): { reads: number; seconds: number } => {
    const started = performance.now();
    const deadline = started + SLICE_MS;
    let reads = 0;
    do {
      for (let i = 0; i < 256; i++) {
        const offset = (next() % pages) * PAGE;
        if (mode === 'worker') feed.record(7, offset, PAGE);
        else if (mode === 'thread') inThread.access(base + offset / PAGE);
        if (window.copySync(offset, buffer, VM_PROT_READ) !== PAGE) throw new Error('copySync missed a resident page');
      }
      reads += 256;
    } while (performance.now() < deadline);
    return { reads, seconds: (performance.now() - started) / 1000 };
  };
  // Warm the code paths (and the sample) before measuring.
  for (const mode of MODES) slice(mode);
  const sum = { off: { reads: 0, seconds: 0 }, worker: { reads: 0, seconds: 0 }, thread: { reads: 0, seconds: 0 } };
  for (let t = 0; t < ms; t += MODES.length * SLICE_MS) {
    for (const mode of MODES) {
      const r = slice(mode);
      sum[mode].reads += r.reads;
      sum[mode].seconds += r.seconds;
      // The worker's slices end with a look at the curve: it drains what they left, off the clock.
      if (mode === 'worker') await feed.snapshot(cacheBytes / PAGE);
    }
  }
  const snap = await feed.snapshot(cacheBytes / PAGE);
  await feed.close();
  window.deallocate();
  await pager.terminated;
  await kernel.shutdown();
  await pager.stop();
  client.terminate();
  const rate = (m: Mode): number => sum[m].reads / sum[m].seconds;
  return { rates: { off: rate('off'), worker: rate('worker'), thread: rate('thread') }, snap };
}

export async function benchMrcLive(options: MrcLiveBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const ms = options.quick === true ? 800 : 6000;
  const rows: BenchRow[] = [];
  for (const pages of [2048, 32_768]) {
    const { rates, snap } = await hitsOnOff(pages, ms);
    const where = `rate ${+snap.rate.toPrecision(3)} (miniatures ${snap.miniatures?.rate ?? 1})`;
    const more = (m: Mode): string => `${(rates[m] / rates.off).toFixed(2)}x off; ${(1e9 / rates[m] - 1e9 / rates.off) | 0} ns more a hit`;
    const seen = snap.requests > 0 ? ((snap.dropped ?? 0) / (snap.requests * snap.rate)).toFixed(2) : '0';
    rows.push(
      { name: `hits, live curve off: random 4 KiB, ${pages} pages`, value: rates.off, unit: 'hits/s', detail: `copySync alone (the floor of this run)` },
      { name: `hits, curve fed to its worker: ${pages} pages`, value: rates.worker, unit: 'hits/s', detail: `${more('worker')}; ${where}; ${snap.dropped ?? 0} sampled keys dropped (~${seen} of them)` },
      { name: `hits, curve in the thread (old): ${pages} pages`, value: rates.thread, unit: 'hits/s', detail: more('thread') },
    );
  }
  printTable('live miss-ratio curve on the hit path (bench/mrc-live.ts: off and on in alternating slices)', rows, print);
  return rows;
}
