/**
 * Miss-ratio curves at scale: the LRU curve of a 100 M-request seeded Zipf
 * trace by SHARDS at rate 0.01 (one streamed pass: the trace is generated
 * as it is read, never held; memory follows the sample), the same with a
 * fixed-size sample, and the exact one-pass curve (Mattson stack
 * distances) of a 10 M-request trace held in memory against one LRU replay
 * per size. Memory is the process's resident set growth over the run and
 * the largest heap seen. The live curve's cost on a mount's hit path is
 * its own row (bench/mrc-live.ts).
 *
 * Alone: `node dist/bench/run.js mrc` (or `--quick`: 1 M requests).
 */
import { performance } from 'node:perf_hooks';
import { lruHistogram, replay, policyFactory, Shards, TraceBuilder } from '../kernel/index.js';
import { zipfStream } from './synthetic-traces.js';
import { MiB, printTable, type BenchRow, type Print } from './table.js';

export interface MrcBenchOptions {
  readonly print?: Print;
  readonly quick?: boolean;
}

/** Sizes of the curve: 20 log-spaced from 0.1% to 100% of `wss`. */
function curve(wss: number): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < 20; i++) sizes.push(Math.max(1, Math.floor(0.001 * wss * 1000 ** (i / 19))));
  return sizes;
}

interface Watch {
  peakHeap: number;
  readonly rss0: number;
  peakRss: number;
}

function watch(): Watch {
  const m = process.memoryUsage();
  return { peakHeap: m.heapUsed, rss0: m.rss, peakRss: m.rss };
}

function look(w: Watch): void {
  const m = process.memoryUsage();
  w.peakHeap = Math.max(w.peakHeap, m.heapUsed);
  w.peakRss = Math.max(w.peakRss, m.rss);
}

/** One pass of `requests` Zipf requests through SHARDS; the curve, time and memory. */
function sampledPass(requests: number, pages: number, rate: number, maxPages?: number): { row: BenchRow; shards: Shards } {
  const next = zipfStream({ seed: 42, pages, alpha: 0.8 });
  const w = watch();
  const shards = new Shards({ rate, ...(maxPages !== undefined ? { maxPages } : {}) });
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    shards.access(next());
    if ((i & 0xfffff) === 0) look(w);
  }
  const ratios = shards.missRatios(curve(shards.estimatedPages));
  const seconds = (performance.now() - started) / 1000;
  look(w);
  const row: BenchRow = {
    name: `LRU curve by SHARDS, ${requests / 1e6} M requests${maxPages !== undefined ? `, at most ${maxPages} pages` : ''}`,
    value: seconds,
    unit: 's',
    detail: `rate ${+shards.rate.toPrecision(3)}, ${shards.pages} sampled pages, ${(requests / seconds / 1e6).toFixed(1)} M req/s (generation included), RSS +${((w.peakRss - w.rss0) / MiB).toFixed(0)} MiB, heap peak ${(w.peakHeap / MiB).toFixed(0)} MiB, miss ratio at 10% WSS ${(ratios[13] ?? 0).toFixed(3)}`,
  };
  return { row, shards };
}

/** The exact curve of a trace in memory, one pass against a replay per size. */
function exactRow(requests: number, pages: number): BenchRow[] {
  const next = zipfStream({ seed: 7, pages, alpha: 0.8 });
  const builder = new TraceBuilder();
  for (let i = 0; i < requests; i++) builder.add(next());
  const trace = builder.build();
  const sizes = curve(trace.distinct);
  let started = performance.now();
  const misses = lruHistogram(trace.ids, trace.distinct).misses(sizes);
  const onePass = (performance.now() - started) / 1000;
  const lru = policyFactory('lru');
  if (!lru) throw new Error('no lru policy');
  started = performance.now();
  const replayed = sizes.map((c) => replay(trace, lru, c).misses);
  const perSize = (performance.now() - started) / 1000;
  const same = replayed.every((m, i) => m === misses[i]);
  return [
    { name: `exact LRU curve in one pass, ${requests / 1e6} M requests`, value: onePass, unit: 's', detail: `${sizes.length} sizes, ${trace.distinct} distinct pages, ${(requests / onePass / 1e6).toFixed(1)} M req/s` },
    { name: `  the same by ${sizes.length} LRU replays`, value: perSize, unit: 's', detail: same ? 'equal misses at every size' : 'MISSES DIFFER' },
  ];
}

export function benchMrc(options: MrcBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick === true;
  const requests = quick ? 1_000_000 : 100_000_000;
  const pages = quick ? 400_000 : 4_000_000;
  const rows: BenchRow[] = [];
  rows.push(sampledPass(requests, pages, 0.01).row);
  rows.push(sampledPass(requests, pages, 1, 16_384).row);
  rows.push(...exactRow(quick ? 1_000_000 : 10_000_000, quick ? 400_000 : 2_000_000));
  printTable('miss-ratio curves (bench/mrc.ts: Zipf 0.8)', rows, print);
  return Promise.resolve(rows);
}
