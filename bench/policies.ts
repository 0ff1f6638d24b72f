/**
 * Replacement-policy benchmark: every policy of the registry (live and
 * offline) replays one synthetic trace through kernel/policy/replay.ts, the
 * harness `machpager sim` uses, and we print requests per second and the
 * miss ratio. Figures only: nothing here asserts on time (the aim is at
 * least 2 million requests/s for LRU, CLOCK and SIEVE).
 *
 * The trace: 1,000,000 requests drawn from Zipf(0.9) over a universe of
 * 1,000,000 pages (P(rank k) ∝ k^-0.9), the skew web and block traces are
 * usually fitted with (0.6 to 1.0), and a universe as large as the trace so
 * that a long cold tail exists: about a third of the requests are first
 * requests, and the working set is several hundred thousand pages, far
 * more than any CPU cache holds of the policy's arrays. The cache is 10% of
 * the working set, the middle of the reference table's sizes.
 *
 * Sampling: a seeded xoshiro128** generator (seeded through splitmix32)
 * gives uniform doubles with 53 random bits; each is mapped to a rank by
 * inverting the exact cumulative distribution (a table of the N partial
 * sums of k^-0.9, binary-searched): no approximation, O(log N) a sample,
 * and the same trace on every machine and every run.
 *
 * Each policy replays a prefix once untimed (V8 compiles the loop), then the
 * whole trace three times; the fastest run is printed.
 */
import { performance } from 'node:perf_hooks';
import { allPolicyFactories, replay, TraceBuilder, type Trace } from '../kernel/index.js';
import { printTable, type BenchRow, type Print } from './table.js';

export interface PoliciesBenchOptions {
  print?: Print;
  /** Requests in the trace. Default 1,000,000. */
  requests?: number;
  /** Distinct pages the trace draws from. Default 1,000,000. */
  universe?: number;
  /** Zipf exponent. Default 0.9. */
  alpha?: number;
  /** Cache size as a fraction of the trace's working set. Default 0.1. */
  cacheFraction?: number;
  seed?: number;
}

/** splitmix32: turns one seed into well-mixed words for the generator's state. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128** (Blackman & Vigna): uniform doubles in [0, 1) with 53 random bits. */
export function seededUniform(seed: number): () => number {
  const mix = splitmix32(seed);
  let s0 = mix();
  let s1 = mix();
  let s2 = mix();
  let s3 = mix();
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/** A sampler of ranks 0..n-1 with P(k) ∝ (k+1)^-alpha, by inverting the exact CDF. */
export function zipfSampler(n: number, alpha: number, uniform: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += (k + 1) ** -alpha;
    cdf[k] = sum;
  }
  return () => {
    const u = uniform() * sum;
    // The first rank whose partial sum exceeds u.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? sum) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** The benchmark's trace: `requests` Zipf-distributed page ids over `universe` pages. */
export function zipfTrace(requests: number, universe: number, alpha: number, seed: number): Trace {
  const sample = zipfSampler(universe, alpha, seededUniform(seed));
  const builder = new TraceBuilder();
  for (let i = 0; i < requests; i++) builder.add(sample());
  return builder.build();
}

const count = (n: number): string => n.toLocaleString('en-US');

/** Timed replays per policy; the best is printed. */
const TIMED_RUNS = 3;

export async function benchPolicies(options: PoliciesBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const requests = options.requests ?? 1_000_000;
  const universe = options.universe ?? 1_000_000;
  const alpha = options.alpha ?? 0.9;
  const fraction = options.cacheFraction ?? 0.1;
  const seed = options.seed ?? 0x6d616368; // "mach"

  const started = performance.now();
  const trace = zipfTrace(requests, universe, alpha, seed);
  const generated = (performance.now() - started) / 1000;
  const capacity = Math.max(1, Math.floor(fraction * trace.distinct));
  // Warm-up on a prefix (V8 optimises a replay loop after a few hundred thousand requests): the timed replay should
  // measure compiled code, not the JIT's first passes.
  const warm: Trace = { ids: trace.ids.subarray(0, Math.min(trace.ids.length, 300_000)), distinct: trace.distinct };

  const rows: BenchRow[] = [];
  for (const factory of allPolicyFactories()) {
    replay(warm, factory, capacity);
    // The best of a few timed replays: the fastest is the one least disturbed by the rest of the machine.
    let r = replay(trace, factory, capacity);
    for (let i = 1; i < TIMED_RUNS; i++) {
      const again = replay(trace, factory, capacity);
      if (again.seconds < r.seconds) r = again;
    }
    rows.push({
      name: `replay ${factory.name}${factory.offline === true ? ' (offline)' : ''}`,
      value: r.requests / r.seconds,
      unit: 'requests/s',
      detail: `miss ratio ${(r.misses / r.requests).toFixed(4)} (${count(r.misses)} misses)`,
    });
    // Yield between policies, so that a long run stays interruptible.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  printTable(
    `Policies: Zipf(${alpha}) trace, ${count(requests)} requests over ${count(universe)} pages (seed 0x${seed.toString(16)}; ${count(trace.distinct)} distinct, generated in ${generated.toFixed(2)} s), cache ${count(capacity)} pages = ${fraction * 100}% of them`,
    rows,
    print,
  );
  return rows;
}
