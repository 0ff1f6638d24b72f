/**
 * Seeded synthetic page traces, shared by the miss-ratio-curve tests and
 * the bench: Zipf popularity (an alias table: O(1) a request, so a
 * 100 M-request trace is made in seconds) and a scan mix (a Zipf hot set
 * broken by sequential scans over cold pages, the pattern LRU loses on).
 * Page ids are the ranks scattered over a wide range, as a real trace's
 * ids are (file number × 2^32 + page), so that no sampler sees ids in
 * rank order. Same seed, same trace.
 */

/** mulberry32: a small, fast, seeded PRNG giving doubles in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Walker's alias table over weights: sample() is one random double and one comparison. */
function aliasSampler(weights: Float64Array, random: () => number): () => number {
  const n = weights.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += weights[i];
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < n; i++) {
    prob[i] = (weights[i] * n) / sum;
    (prob[i] < 1 ? small : large).push(i);
  }
  while (small.length > 0 && large.length > 0) {
    const s = small.pop() ?? 0;
    const l = large.pop() ?? 0;
    alias[s] = l;
    prob[l] = prob[l] + prob[s] - 1;
    (prob[l] < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return () => {
    const x = random() * n;
    const i = Math.floor(x);
    return x - i < prob[i] ? i : alias[i];
  };
}

/** A page id for rank `rank`: spread over files of 2^20 pages, as recorded traces are. */
export function pageOfRank(rank: number): number {
  const mixed = Math.imul(rank ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  return (1 + (mixed >>> 20)) * 4294967296 + (mixed & 0xfffff);
}

export interface ZipfOptions {
  readonly seed: number;
  /** Distinct pages that may be asked for. */
  readonly pages: number;
  /** Zipf's exponent (0.8 to 1.2 is typical of storage traces). */
  readonly alpha: number;
}

/** An endless seeded Zipf stream of page ids. */
export function zipfStream(o: ZipfOptions): () => number {
  const weights = new Float64Array(o.pages);
  for (let i = 0; i < o.pages; i++) weights[i] = 1 / (i + 1) ** o.alpha;
  const sample = aliasSampler(weights, seededRandom(o.seed));
  const ids = new Float64Array(o.pages);
  for (let i = 0; i < o.pages; i++) ids[i] = pageOfRank(i);
  return () => ids[sample()];
}

export interface ScanMixOptions extends ZipfOptions {
  /** Chance that a request starts a scan instead. */
  readonly scanChance: number;
  /** Pages a scan reads in order. */
  readonly scanLength: number;
  /** Cold pages the scans walk through (in a range of their own), cyclically. */
  readonly scanPages: number;
}

/** An endless seeded stream: Zipf requests, now and then a sequential scan of cold pages. */
export function scanMixStream(o: ScanMixOptions): () => number {
  const zipf = zipfStream(o);
  const random = seededRandom(o.seed ^ 0x2545f491);
  let scanLeft = 0;
  let scanAt = 0;
  const scanBase = 4294967296 * 8191;
  return () => {
    if (scanLeft === 0 && random() < o.scanChance) {
      scanLeft = o.scanLength;
      scanAt = Math.floor(random() * o.scanPages);
    }
    if (scanLeft > 0) {
      scanLeft--;
      scanAt = (scanAt + 1) % o.scanPages;
      return scanBase + scanAt;
    }
    return zipf();
  };
}

/** The first `n` ids of a stream. */
export function take(stream: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = stream();
  return out;
}
