/**
 * A fixed-size latency histogram (log-linear buckets, like HdrHistogram at
 * low precision): recording is O(1) with no allocation, percentiles are read
 * from the counts. Values are microseconds.
 *
 * Beside it, the counts at a few fixed bounds (LATENCY_BOUNDS_US): what a
 * Prometheus histogram exposes as _bucket{le}. They are counted at record
 * time, exactly (the log-linear buckets' edges fall elsewhere, and a value
 * on an edge belongs to the bucket above it, where `le` wants it below).
 */
const SUB_BUCKETS = 16; // per power of two: ~6% resolution
const MAX_POWER = 40; // up to 2^40 µs (12 days)

/**
 * The fixed upper bounds (µs) of the cumulative buckets: 10 µs to 10 s, 1-2.5-5
 * a decade (Prometheus' habit), from a cache hit's fault up to a pager timeout.
 */
export const LATENCY_BOUNDS_US: readonly number[] = [
  10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/** A cumulative bucket: `count` values were at most `le_us` µs. */
export interface LatencyBound {
  le_us: number;
  count: number;
}

export interface LatencySummary {
  count: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  /** The sum of every value recorded (µs): a histogram's _sum. */
  sum_us: number;
  /** Cumulative counts at LATENCY_BOUNDS_US, smallest first; values above the last are counted only by `count` (+Inf). */
  buckets: LatencyBound[];
}

export interface LatencyBucket {
  /** Values in this bucket are at most this many µs. */
  le_us: number;
  count: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(MAX_POWER * SUB_BUCKETS);
  /** Values in (LATENCY_BOUNDS_US[i-1], LATENCY_BOUNDS_US[i]]; the last slot: above every bound. */
  private readonly bounded = new Float64Array(LATENCY_BOUNDS_US.length + 1);
  private total = 0;
  private sum = 0;
  private max = 0;

  record(us: number): void {
    const v = us < 1 ? 1 : us;
    this.counts[bucketOf(v)]++;
    this.bounded[boundOf(v)]++;
    this.total++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  get count(): number {
    return this.total;
  }

  /** The smallest bucket bound at or above the given quantile (0..1). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(upperBound(i), this.max);
    }
    return this.max;
  }

  /** The non-empty buckets, smallest first: each one's upper bound (µs, at most the largest value seen) and count. */
  buckets(): LatencyBucket[] {
    const out: LatencyBucket[] = [];
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] > 0) out.push({ le_us: round(Math.min(upperBound(i), this.max)), count: this.counts[i] });
    }
    return out;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50_us: round(this.quantile(0.5)),
      p90_us: round(this.quantile(0.9)),
      p99_us: round(this.quantile(0.99)),
      max_us: round(this.max),
      mean_us: this.total === 0 ? 0 : round(this.sum / this.total),
      sum_us: round(this.sum),
      buckets: this.cumulative(),
    };
  }

  private cumulative(): LatencyBound[] {
    let seen = 0;
    return LATENCY_BOUNDS_US.map((le_us, i) => ({ le_us, count: (seen += this.bounded[i]) }));
  }
}

/** The slot of the first bound at or above `v` (binary search: the bounds are sorted). */
function boundOf(v: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_US.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= LATENCY_BOUNDS_US[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function bucketOf(v: number): number {
  const power = Math.min(Math.floor(Math.log2(v)), MAX_POWER - 1);
  const base = 2 ** power;
  const sub = Math.min(Math.floor(((v - base) / base) * SUB_BUCKETS), SUB_BUCKETS - 1);
  return power * SUB_BUCKETS + sub;
}

function upperBound(bucket: number): number {
  const power = Math.floor(bucket / SUB_BUCKETS);
  const sub = bucket % SUB_BUCKETS;
  const base = 2 ** power;
  return base + ((sub + 1) * base) / SUB_BUCKETS;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
