/**
 * What `machpager sim` replays: the policies (by name, from the registry,
 * never a list of our own), the cache sizes (PAGES, or PERCENT% of the
 * trace's working set, C = floor(fraction × WSS) as cache-policies.md's
 * reference does), the sizes of a miss-ratio curve, and the replay of each
 * policy × size cell.
 */
import { lruHistogram, replay, type PolicyFactory, type Trace } from '../../../kernel/index.js';
import { usageError } from '../cli-error.js';

/**
 * The largest cache sim replays. The replay and the policies keep a few
 * typed arrays per cache page (~30 bytes a page), so this bounds the memory
 * a typo can ask for (~2 GiB) while leaving room far past any working set a
 * trace can have (the dense-id Map stops at 2^24 distinct pages).
 */
export const MAX_CACHE_PAGES = 2 ** 26;

/** A cache size as given: whole pages, or a fraction of the working set. */
export type CacheSpec = { readonly text: string; readonly pages: number } | { readonly text: string; readonly fraction: number };

/** One size: `4096` (pages) or `12.5%` (of the distinct pages). `what` names the option in errors. */
export function parseCacheSpec(text: string, what: string): CacheSpec {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d*)?|\.\d+)%$/.exec(t);
  if (pct) {
    // p / 100 is the double nearest to the fraction, the same double as the literal (0.01, 0.05 ...): floor() then agrees with the reference.
    const fraction = Number(pct[1]) / 100;
    if (!(fraction > 0)) throw usageError(what, `${t} is no cache (a percentage must be above 0)`);
    return { text: t, fraction };
  }
  if (/^\d+$/.test(t)) {
    const pages = Number(t);
    if (pages < 1) throw usageError(what, 'a cache of 0 pages holds nothing (at least 1 page)');
    if (pages > MAX_CACHE_PAGES) throw usageError(what, `${t} pages is more than the ${MAX_CACHE_PAGES} pages sim replays`);
    return { text: t, pages };
  }
  throw usageError(what, `"${t}" is not a cache size (PAGES, a whole number, or PERCENT% of the trace's distinct pages: 4096, 10%)`);
}

/** A comma-separated list of sizes (--cache 1%,5%,4096). */
export function parseCacheList(text: string, what = `--cache ${text}`): CacheSpec[] {
  const parts = text.split(',');
  if (parts.some((p) => p.trim() === '')) throw usageError(what, 'an empty size in the list');
  return parts.map((p) => parseCacheSpec(p, what));
}

/** The pages of `spec` for a trace with `wss` distinct pages: floor(fraction × WSS) for a percentage. */
export function cachePages(spec: CacheSpec, wss: number, what: string, limit = MAX_CACHE_PAGES): number {
  if ('pages' in spec) return spec.pages;
  const pages = Math.floor(spec.fraction * wss);
  if (pages < 1) throw usageError(what, `${spec.text} of ${wss} distinct pages is 0 pages (at least 1 page)`);
  if (pages > limit) throw usageError(what, `${spec.text} of ${wss} distinct pages is ${pages} pages, more than the ${MAX_CACHE_PAGES} sim replays`);
  return pages;
}

/** The policies of `--policy` (comma-separated names, or `all`; undefined is all), from `known` (the registry's). */
export function choosePolicies(text: string | undefined, known: readonly PolicyFactory[]): PolicyFactory[] {
  if (text === undefined || text.trim().toLowerCase() === 'all') return [...known];
  const what = `--policy ${text}`;
  const names = text.split(',').map((n) => n.trim());
  const chosen: PolicyFactory[] = [];
  for (const name of names) {
    if (name === '') throw usageError(what, 'an empty name in the list');
    const factory = known.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (!factory) throw usageError(what, `unknown policy "${name}" (known: ${known.map((f) => f.name).join(', ')}, or all)`);
    if (!chosen.includes(factory)) chosen.push(factory);
  }
  return chosen;
}

export interface CurveRange {
  readonly from: CacheSpec;
  readonly to: CacheSpec;
  readonly points: number;
}

/** The default curve: 20 sizes, log-spaced from 0.1% to 100% of the working set. */
export const DEFAULT_CURVE: CurveRange = { from: { text: '0.1%', fraction: 0.001 }, to: { text: '100%', fraction: 1 }, points: 20 };

/**
 * The cache sizes of a miss-ratio curve: `points` sizes log-spaced from
 * `from` to `to` (both included), in pages, floored like --cache sizes,
 * at least 1 page (a small trace's 0.1% is less), ascending, without
 * repeats (a small trace has fewer distinct sizes than points).
 */
export function curveSizes(range: CurveRange, wss: number, limit = MAX_CACHE_PAGES): number[] {
  const real = (spec: CacheSpec): number => ('pages' in spec ? spec.pages : spec.fraction * wss);
  const lo = Math.max(1, real(range.from));
  const hi = Math.max(1, real(range.to));
  if (lo > hi) throw usageError(`--mrc-from ${range.from.text}`, `is above --mrc-to ${range.to.text} (${Math.floor(lo)} > ${Math.floor(hi)} pages)`);
  if (Math.floor(hi) > limit) throw usageError(`--mrc-to ${range.to.text}`, `is ${Math.floor(hi)} pages, more than the ${MAX_CACHE_PAGES} sim replays`);
  const n = range.points;
  const sizes = new Set<number>();
  for (let i = 0; i < n; i++) {
    // The ends exactly (pow would leave 48973.99 for 100%), the points between on a geometric scale.
    // (The nudge keeps a point that lands on a whole number, 10 × 100^0.5, from flooring to 99 through pow's rounding.)
    const x = i === 0 ? lo : i === n - 1 ? hi : lo * (hi / lo) ** (i / (n - 1)) * (1 + 1e-12);
    sizes.add(Math.max(1, Math.floor(x)));
  }
  return [...sizes].sort((a, b) => a - b);
}

/** One cell of the result: the JSON object of --json, as it is printed. */
export interface SimCell {
  readonly policy: string;
  readonly cache_pages: number;
  readonly requests: number;
  readonly misses: number;
  readonly miss_ratio: number;
  /** null when the replay was too quick for the clock to see (0 seconds). */
  readonly requests_per_second: number | null;
}

/** Requests replayed, untimed, to warm each policy up: V8 optimises a replay loop after a few hundred thousand. */
const WARM_UP_REQUESTS = 300_000;
/** At most this many warm-up replays of a short trace (a tiny one is too quick to time anyway). */
const WARM_UP_ROUNDS = 4;

/** The policy whose whole curve one pass of stack distances gives (Mattson): its cells come from the histogram, not from a replay per size. */
export const ONE_PASS_POLICY = 'lru';

/** LRU's cells at every size from one pass of stack distances; requests_per_second is the pass's (one pass serves every size). */
export function onePassLru(trace: Trace, sizes: readonly number[]): SimCell[] {
  const started = performance.now();
  const histogram = lruHistogram(trace.ids, trace.distinct);
  const misses = histogram.misses(sizes);
  const seconds = (performance.now() - started) / 1000;
  const n = trace.ids.length;
  return sizes.map((capacity, i) => {
    const m = misses[i] ?? n;
    return { policy: ONE_PASS_POLICY, cache_pages: capacity, requests: n, misses: m, miss_ratio: n > 0 ? m / n : 0, requests_per_second: seconds > 0 ? n / seconds : null };
  });
}

/**
 * Replay `trace` through every policy × every size, policies outermost, in
 * the order given; `onReplay` hears of each replay done. With `onePass`
 * (a curve), LRU's cells come from one pass of stack distances.
 */
export function simulate(trace: Trace, policies: readonly PolicyFactory[], sizes: readonly number[], onReplay?: (done: number, total: number) => void, onePass = false): SimCell[] {
  const cells: SimCell[] = [];
  const warm: Trace = { ids: trace.ids.subarray(0, Math.min(trace.ids.length, WARM_UP_REQUESTS)), distinct: trace.distinct };
  for (const factory of policies) {
    if (onePass && factory.name === ONE_PASS_POLICY) {
      cells.push(...onePassLru(trace, sizes));
      onReplay?.(cells.length, policies.length * sizes.length);
      continue;
    }
    // Untimed, on a prefix (a short trace a few times): otherwise a policy's first cells would time V8 compiling it.
    const rounds = Math.min(WARM_UP_ROUNDS, Math.ceil(WARM_UP_REQUESTS / Math.max(1, warm.ids.length)));
    for (let i = 0; i < rounds && sizes.length > 0; i++) replay(warm, factory, sizes[0] ?? 1);
    for (const capacity of sizes) {
      const r = replay(trace, factory, capacity);
      cells.push({
        policy: factory.name,
        cache_pages: capacity,
        requests: r.requests,
        misses: r.misses,
        miss_ratio: r.requests > 0 ? r.misses / r.requests : 0,
        requests_per_second: r.seconds > 0 ? r.requests / r.seconds : null,
      });
      onReplay?.(cells.length, policies.length * sizes.length);
    }
  }
  return cells;
}
