/**
 * Miniature simulations that run as the requests come (Waldspurger et
 * al., USENIX ATC 2017), beside a fixed-size SHARDS sample (shards.ts):
 * a few policies, each at a few cache sizes, every one a MiniCache of the
 * size scaled by the sampling rate and fed only the requests of pages in
 * its sample. The daemon keeps them for its live curves.
 *
 * SHARDS lowers its rate a little each time its sample overflows; a
 * miniature cache cannot shrink that often (a resize rebuilds it). So the
 * miniatures sample at a rate of their own: the largest power of two at
 * or below SHARDS's (between half its pages and all of them), halved
 * when SHARDS's falls under it, which happens a few times per doubling of
 * the working set. Their sample is part of SHARDS's, so they name pages
 * by SHARDS's slots and need no map of their own.
 *
 * A miss found at rate R stands for 1/R misses; a policy's miss ratio is
 * those weighed misses over every request seen (SHARDS_adj's correction,
 * as mini-sim.ts does offline).
 */
import { MiniCache } from './mini-cache.js';
import type { PolicyFactory } from './policy.js';
import type { Shards } from './shards.js';

const TWO_32 = 4294967296;

export class MiniatureSimulations {
  /** factories.length × sizes.length caches, policy by policy. */
  private readonly caches: MiniCache[] = [];
  private readonly weighedMisses: Float64Array;
  /** Per SHARDS slot: the hash of the page in it (valid while it is in this sample). */
  private readonly hashOf: Float64Array;
  /** Per SHARDS slot: 1 while its page is in this sample. */
  private readonly inSample: Uint8Array;
  private threshold = TWO_32;
  private weight = 1;
  /** Pages in this sample now. */
  pages = 0;
  /** Requests of pages in this sample. */
  sampled = 0;

  constructor(
    readonly factories: readonly PolicyFactory[],
    /** The full-size caches, in pages. */
    readonly sizes: readonly number[],
    /** SHARDS slots are below this (its maxPages + 2). */
    readonly ids: number,
  ) {
    this.hashOf = new Float64Array(ids);
    this.inSample = new Uint8Array(ids);
    this.weighedMisses = new Float64Array(factories.length * sizes.length);
    for (const factory of factories) for (const pages of sizes) this.caches.push(new MiniCache(factory, this.capacity(pages), ids));
  }

  /** The sampling rate now: 1, 1/2, 1/4, ... */
  get rate(): number {
    return this.threshold / TWO_32;
  }

  /**
   * A cache of `pages` scaled by the rate. Past 4× the sample's pages a
   * bigger one would never evict, and it would cost memory for nothing:
   * 4× keeps even 2Q's A1in (a quarter of the cache) from ever filling.
   */
  private capacity(pages: number): number {
    return Math.min(4 * this.ids, Math.max(1, Math.round(pages * this.rate)));
  }

  /** Follow `shards`: hear its sampled requests and its falls of rate. */
  attach(shards: Shards): void {
    shards.onSample = (id, slot, hash) => this.request(id, slot, hash);
    shards.onRateChange = () => this.follow(shards.hashThreshold);
  }

  /** A request SHARDS sampled: page `id` in its `slot`, of hash `hash`. */
  request(id: number, slot: number, hash: number): void {
    if (hash >= this.threshold) return;
    if (this.inSample[slot] === 0) {
      this.inSample[slot] = 1;
      this.hashOf[slot] = hash;
      this.pages++;
    }
    this.sampled++;
    const caches = this.caches;
    const weight = this.weight;
    for (let i = 0; i < caches.length; i++) if (!caches[i].request(slot, id)) this.weighedMisses[i] += weight;
  }

  /** SHARDS's threshold fell to `threshold`: halve ours until it is at or below it, dropping the pages above. */
  follow(threshold: number): void {
    if (this.threshold <= threshold) return;
    while (this.threshold > threshold) this.threshold /= 2;
    this.weight = TWO_32 / this.threshold;
    for (let slot = 0; slot < this.ids; slot++) {
      if (this.inSample[slot] === 0 || this.hashOf[slot] < this.threshold) continue;
      this.inSample[slot] = 0;
      this.pages--;
      for (const cache of this.caches) cache.drop(slot);
    }
    let i = 0;
    for (let p = 0; p < this.factories.length; p++) for (const pages of this.sizes) this.caches[i++]?.resize(this.capacity(pages));
  }

  /** Each policy's estimated miss ratio at each size, given every request seen (sampled or not). */
  missRatios(requests: number): number[][] {
    return this.factories.map((_, p) => this.sizes.map((_, k) => (requests > 0 ? Math.min(1, (this.weighedMisses[p * this.sizes.length + k] ?? 0) / requests) : 0)));
  }
}
