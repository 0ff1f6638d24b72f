/**
 * The live curve's cost on the hit path: random 4 KiB reads of resident
 * pages (the kernel's copySync, as a FUSE read that hits runs it) with and
 * without the daemon's LiveMrc.record in front (daemon/fs/live-mrc.ts:
 * fixed-size SHARDS plus the miniature simulations of mach, clock, arc and
 * 2q). Both in the same run, in alternating slices, so that a shared,
 * noisy machine slows both alike; the figure is the ratio on/off.
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
import { LiveMrc } from '../daemon/fs/live-mrc.js';
import { MemoryPager } from './memory-pager.js';
import { KiB, printTable, type BenchRow, type Print } from './table.js';

const PAGE = 4 * KiB;
const SLICE_MS = 100;

export interface MrcLiveBenchOptions {
  readonly print?: Print;
  readonly quick?: boolean;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Hits per second with the live curve off and on, over `pages` resident pages, alternating slices for `ms` in all. */
async function hitsOnOff(pages: number, ms: number): Promise<{ off: number; on: number; mrc: LiveMrc }> {
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
  const mrc = new LiveMrc(PAGE, cacheBytes / PAGE);
  const next = xorshift(0x2545f491);
  const slice = (live: boolean): { reads: number; seconds: number } => {
    const started = performance.now();
    const deadline = started + SLICE_MS;
    let reads = 0;
    do {
      for (let i = 0; i < 256; i++) {
        const offset = (next() % pages) * PAGE;
        if (live) mrc.record(7, offset, PAGE);
        if (window.copySync(offset, buffer, VM_PROT_READ) !== PAGE) throw new Error('copySync missed a resident page');
      }
      reads += 256;
    } while (performance.now() < deadline);
    return { reads, seconds: (performance.now() - started) / 1000 };
  };
  // Warm the code paths (and the sample) before measuring.
  slice(true);
  slice(false);
  const sum = { off: { reads: 0, seconds: 0 }, on: { reads: 0, seconds: 0 } };
  for (let t = 0; t < ms; t += 2 * SLICE_MS) {
    for (const live of [false, true]) {
      const r = slice(live);
      const s = live ? sum.on : sum.off;
      s.reads += r.reads;
      s.seconds += r.seconds;
    }
  }
  window.deallocate();
  await pager.terminated;
  await kernel.shutdown();
  await pager.stop();
  client.terminate();
  return { off: sum.off.reads / sum.off.seconds, on: sum.on.reads / sum.on.seconds, mrc };
}

export async function benchMrcLive(options: MrcLiveBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const ms = options.quick === true ? 800 : 6000;
  const rows: BenchRow[] = [];
  for (const pages of [2048, 32_768]) {
    const r = await hitsOnOff(pages, ms);
    const snap = r.mrc.snapshot(2 * pages);
    const where = `${pages} pages resident, rate ${+snap.rate.toPrecision(3)} (miniatures ${snap.miniatures?.rate ?? 1})`;
    rows.push(
      { name: `hits, live curve off: random 4 KiB, ${pages} pages`, value: r.off, unit: 'hits/s', detail: `copySync alone (the floor of this run)` },
      { name: `hits, live curve on: random 4 KiB, ${pages} pages`, value: r.on, unit: 'hits/s', detail: `${(r.on / r.off).toFixed(2)}x off; ${((1e9 / r.on - 1e9 / r.off) | 0)} ns more a hit; ${where}` },
    );
  }
  printTable('live miss-ratio curve on the hit path (bench/mrc-live.ts: off and on in alternating slices)', rows, print);
  return rows;
}
