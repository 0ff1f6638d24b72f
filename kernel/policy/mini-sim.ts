/**
 * Miniature simulations (Waldspurger, Park, Garthwaite and Ahmad, USENIX
 * ATC 2017): any policy, not only LRU, replayed on a spatially sampled
 * sub-trace (shards.ts) with its cache scaled by the sampling rate. A cache
 * of C pages is simulated as one of round(C × R) pages fed the requests of
 * the sampled pages only; its miss ratio estimates the full cache's.
 *
 * SampledTrace keeps the sub-trace (8 bytes a sampled request, so memory
 * follows the sample, not the trace) and drops the requests of pages that
 * leave a fixed-size sample when its threshold falls.
 */
import type { PolicyFactory } from './policy.js';
import { replay, type Trace } from './replay.js';
import { spatialHash } from './shards.js';
import { TraceBuilder } from './trace.js';

export class SampledTrace {
  private ids = new Float64Array(1024);
  private length = 0;

  get requests(): number {
    return this.length;
  }

  add(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Float64Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }

  /** Keep only the requests of pages whose hash is below `threshold` (the sample's new one), in order. */
  keepBelow(threshold: number): void {
    const ids = this.ids;
    let kept = 0;
    for (let i = 0; i < this.length; i++) if (spatialHash(ids[i]) < threshold) ids[kept++] = ids[i];
    this.length = kept;
  }

  /** The sub-trace with dense ids, for replay. */
  build(): Trace {
    const builder = new TraceBuilder();
    for (let i = 0; i < this.length; i++) builder.add(this.ids[i]);
    return builder.build();
  }
}

/** The scaled cache: C × R pages, at least 1. */
export function miniCapacity(pages: number, rate: number): number {
  return Math.max(1, Math.round(pages * rate));
}

/**
 * A miniature simulation: `factory` on the sub-trace with a cache of
 * `pages` × `rate`. Its miss ratio estimates that of `pages`. The misses
 * are counted against the requests the sample should have had (`expected`:
 * every request × the rate), not those it had, as SHARDS_adj does: a
 * sample that caught a hot page has too many requests, and they are hits.
 */
export function miniSimulation(sub: Trace, factory: PolicyFactory, pages: number, rate: number, expected = sub.ids.length): { missRatio: number; capacity: number; seconds: number } {
  const capacity = miniCapacity(pages, rate);
  if (sub.ids.length === 0 || expected <= 0) return { missRatio: 0, capacity, seconds: 0 };
  const r = replay(sub, factory, capacity);
  return { missRatio: Math.min(1, r.misses / expected), capacity, seconds: r.seconds };
}
