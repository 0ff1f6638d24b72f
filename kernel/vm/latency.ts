/**
 * A fixed-size latency histogram (log-linear buckets, like HdrHistogram at
 * low precision): recording is O(1) with no allocation, percentiles are read
 * from the counts. Values are microseconds.
 */
const SUB_BUCKETS = 16; // per power of two: ~6% resolution
const MAX_POWER = 40; // up to 2^40 µs (12 days)

export interface LatencySummary {
  count: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
}

export interface LatencyBucket {
  /** Values in this bucket are at most this many µs. */
  le_us: number;
  count: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(MAX_POWER * SUB_BUCKETS);
  private total = 0;
  private sum = 0;
  private max = 0;

  record(us: number): void {
    const v = us < 1 ? 1 : us;
    this.counts[bucketOf(v)]++;
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
    };
  }
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
