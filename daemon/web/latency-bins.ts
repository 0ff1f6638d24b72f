/**
 * The fault-latency histogram as the page draws it: the kernel's
 * log-linear buckets (16 per power of two) gathered into one bin per power
 * of two of microseconds, from the first non-empty one to the last, so the
 * bars stay few and readable from 1 µs to seconds.
 */
import type { LatencyBucket } from '../../kernel/index.js';

export interface LatencyBins {
  /** Each bin holds faults served in at most this many µs (and more than the bin before). */
  le_us: number[];
  counts: number[];
  total: number;
}

export function latencyBins(buckets: readonly LatencyBucket[]): LatencyBins {
  const byPower = new Map<number, number>();
  let total = 0;
  for (const b of buckets) {
    if (b.count <= 0) continue;
    const power = Math.max(0, Math.ceil(Math.log2(Math.max(1, b.le_us))));
    byPower.set(power, (byPower.get(power) ?? 0) + b.count);
    total += b.count;
  }
  if (byPower.size === 0) return { le_us: [], counts: [], total: 0 };
  const powers = [...byPower.keys()];
  const low = Math.min(...powers);
  const high = Math.max(...powers);
  const le_us: number[] = [];
  const counts: number[] = [];
  for (let p = low; p <= high; p++) {
    le_us.push(2 ** p);
    counts.push(byPower.get(p) ?? 0);
  }
  return { le_us, counts, total };
}
