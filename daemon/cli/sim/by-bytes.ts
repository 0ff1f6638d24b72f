/**
 * `sim --by-bytes`: caches and objects counted in bytes, for traces whose
 * requests carry object sizes (oracleGeneral, csv with a size column). An
 * LRU cache of C bytes hits a request when the object and every other
 * object asked for since its last request fit in C bytes together: its
 * byte-weighted stack distance plus its own size is at most C. One pass
 * gives that at every size (kernel/policy/stack-distance.ts, weights in
 * bytes). The other policies that can (PolicyFactory.byBytes: their
 * choices do not depend on their capacity) are replayed once per size,
 * evicting until the object fits (kernel/policy/replay-bytes.ts).
 */
import { replayBytes, StackDistances, type PolicyFactory, type Trace } from '../../../kernel/index.js';
import { usageError } from '../cli-error.js';
import type { CacheSpec } from './plan.js';
import type { SimCell } from './plan.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A cache size in bytes: BYTES with an optional K, M, G or T (binary: 64M is 64 MiB), or PERCENT% of the working set's bytes. */
export function parseByteSpec(text: string, what: string): CacheSpec {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d*)?|\.\d+)%$/.exec(t);
  if (pct) {
    const fraction = Number(pct[1]) / 100;
    if (!(fraction > 0)) throw usageError(what, `${t} is no cache (a percentage must be above 0)`);
    return { text: t, fraction };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(t);
  if (!m) throw usageError(what, `"${t}" is not a cache size in bytes (BYTES, 64K, 512M, 2G, or PERCENT% of the working set's bytes)`);
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
  if (bytes < 1) throw usageError(what, 'a cache of 0 bytes holds nothing');
  if (!Number.isSafeInteger(bytes)) throw usageError(what, `${t} is more bytes than a count can hold exactly`);
  return { text: t, pages: bytes };
}

/** The working set in bytes: each distinct object at its last size. */
export function workingSetBytes(trace: Trace, sizes: Uint32Array): number {
  const last = new Float64Array(trace.distinct);
  for (let i = 0; i < trace.ids.length; i++) last[trace.ids[i]] = sizes[i];
  let sum = 0;
  for (let i = 0; i < last.length; i++) sum += last[i];
  return sum;
}

/** LRU in bytes at every size (ascending or not), in one pass: exact. `cache_pages` holds bytes here. */
export function lruByBytes(trace: Trace, sizes: Uint32Array, caches: readonly number[]): SimCell[] {
  const started = performance.now();
  const order = [...caches].sort((a, b) => a - b);
  const hitsAt = new Float64Array(order.length + 1);
  const stack = new StackDistances(trace.distinct);
  const n = trace.ids.length;
  for (let i = 0; i < n; i++) {
    const size = sizes[i];
    const d = stack.access(trace.ids[i], size);
    if (d < 0) continue;
    const need = d + size;
    // The smallest cache that holds it: every cache from there up hits.
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((order[mid] ?? 0) >= need) hi = mid;
      else lo = mid + 1;
    }
    hitsAt[lo]++;
  }
  const seconds = (performance.now() - started) / 1000;
  const missesAt = new Map<number, number>();
  let hits = 0;
  for (let j = 0; j < order.length; j++) {
    hits += hitsAt[j];
    missesAt.set(order[j] ?? 0, n - hits);
  }
  return caches.map((c) => {
    const misses = missesAt.get(c) ?? n;
    return { policy: 'lru', cache_pages: c, requests: n, misses, miss_ratio: n > 0 ? misses / n : 0, requests_per_second: seconds > 0 ? n / seconds : null };
  });
}

/** The cells of every policy at every size (bytes): LRU in one pass, the others by a replay per size. */
export function bytesCells(trace: Trace, sizes: Uint32Array, policies: readonly PolicyFactory[], caches: readonly number[], onReplay?: (done: number) => void): SimCell[] {
  const cells: SimCell[] = [];
  let done = 0;
  for (const factory of policies) {
    if (factory.name === 'lru') {
      cells.push(...lruByBytes(trace, sizes, caches));
      done += caches.length;
      onReplay?.(done);
      continue;
    }
    for (const c of caches) {
      const r = replayBytes(trace, sizes, factory, c);
      const n = r.requests;
      cells.push({ policy: factory.name, cache_pages: c, requests: n, misses: r.misses, miss_ratio: n > 0 ? r.misses / n : 0, requests_per_second: r.seconds > 0 ? n / r.seconds : null });
      onReplay?.(++done);
    }
  }
  return cells;
}
