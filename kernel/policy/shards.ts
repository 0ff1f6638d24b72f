/**
 * SHARDS: spatially hashed sampling of a request stream for miss-ratio
 * curves (Waldspurger, Park, Garthwaite and Ahmad, FAST 2015). A page is
 * in the sample when hash(page) < T, for a threshold T = R × 2^32: every
 * request of a sampled page is kept and no request of any other, so a
 * sampled page's reuse is seen whole. Stack distances measured among the
 * sampled pages, divided by R, estimate the full trace's; each sampled
 * request stands for 1/R requests.
 *
 * The histogram is corrected the SHARDS_adj way (the requests the sample
 * should have had, N × R, against those it had: the difference goes to
 * distance 0), at a fixed rate and at a fixed size alike. Fixed rate: R
 * stays put. Fixed size (`maxPages`): at
 * most that many sampled pages are tracked; one more lowers T to the
 * largest hash in the set, which leaves it (and every page at or above the
 * new T), so that memory stays bounded for a stream of unknown length.
 * Requests sampled at an older, higher rate keep their weight (1/R at the
 * time), which is the paper's rescaling of the older counts by R'/R.
 *
 * The sampled requests can be handed on (`onSample`): the miniature
 * simulations (mini-sim.ts) replay that sub-trace.
 */
import { DistanceHistogram, StackDistances } from './stack-distance.js';

const TWO_32 = 4294967296;

/** A 32-bit hash of a page id (any safe integer), uniform enough to sample by: murmur3's finaliser over both halves. */
export function spatialHash(id: number): number {
  // ToUint32 truncates: the low and high halves of a safe integer without Math.floor.
  const lo = id >>> 0;
  const hi = (id / TWO_32) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1) ^ 0x2f1b7c35, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ hi, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export interface ShardsOptions {
  /** The sampling rate to start at, in (0, 1]. */
  readonly rate: number;
  /** Fixed-size SHARDS: at most this many sampled pages (the rate drops to keep it). Unbounded when absent. */
  readonly maxPages?: number;
  /** Histogram buckets at most (they widen past it); default 4096. */
  readonly maxBuckets?: number;
}

/** Sampled pages kept in a max-heap by hash, for fixed-size SHARDS to drop the largest. */
class HashHeap {
  private hash = new Float64Array(64);
  private slot = new Int32Array(64);
  size = 0;

  push(hash: number, slot: number): void {
    if (this.size === this.hash.length) {
      const h = new Float64Array(this.size * 2);
      h.set(this.hash);
      const s = new Int32Array(this.size * 2);
      s.set(this.slot);
      this.hash = h;
      this.slot = s;
    }
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.hash[parent] >= hash) break;
      this.hash[i] = this.hash[parent];
      this.slot[i] = this.slot[parent];
      i = parent;
    }
    this.hash[i] = hash;
    this.slot[i] = slot;
  }

  topHash(): number {
    return this.size > 0 ? this.hash[0] : -1;
  }

  /** Remove the largest; its slot. */
  pop(): number {
    const top = this.slot[0];
    const lastHash = this.hash[--this.size];
    const lastSlot = this.slot[this.size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const c = r < this.size && this.hash[r] > this.hash[l] ? r : l;
      if (this.hash[c] <= lastHash) break;
      this.hash[i] = this.hash[c];
      this.slot[i] = this.slot[c];
      i = c;
    }
    this.hash[i] = lastHash;
    this.slot[i] = lastSlot;
    return top;
  }
}

export class Shards {
  /** Sampled page id → its dense slot. */
  private readonly slots = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private keyOf: Float64Array = new Float64Array(1024);
  private readonly stack = new StackDistances();
  private readonly heap: HashHeap | undefined;
  private threshold: number;
  private currentRate: number;
  private readonly histogram: DistanceHistogram;
  private readonly fixedSize: boolean;
  /** Every request seen, sampled or not. */
  requests = 0;
  /** Requests sampled. */
  sampled = 0;
  /** Sampled requests, each weighed by 1/R at its time (the requests they stand for). */
  private weighed = 0;
  /** Hears of each sampled request: the page id, its dense slot here (below maxPages + 1 with a fixed size) and its hash. */
  onSample: ((id: number, slot: number, hash: number) => void) | undefined;
  /** Hears when fixed-size SHARDS lowers the rate. */
  onRateChange: ((rate: number) => void) | undefined;

  constructor(readonly options: ShardsOptions) {
    if (!(options.rate > 0 && options.rate <= 1)) throw new RangeError(`a sampling rate is in (0, 1], not ${options.rate}`);
    this.threshold = Math.round(options.rate * TWO_32);
    this.currentRate = options.rate;
    this.fixedSize = options.maxPages !== undefined;
    if (this.fixedSize) this.heap = new HashHeap();
    this.histogram = new DistanceHistogram(1, options.maxBuckets ?? 4096);
  }

  /** The sampling rate now (it only drops, and only with maxPages): the rate asked for until then, exactly. */
  get rate(): number {
    return this.currentRate;
  }

  /** The threshold now: a page is sampled when spatialHash(page) is below it. */
  get hashThreshold(): number {
    return this.threshold;
  }

  /** Sampled pages tracked now. */
  get pages(): number {
    return this.slots.size;
  }

  /** A request for page `id`; true when it is in the sample. */
  access(id: number): boolean {
    this.requests++;
    const hash = spatialHash(id);
    if (hash >= this.threshold) return false;
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.slots.size;
      this.slots.set(id, slot);
      if (slot >= this.keyOf.length) {
        const grown = new Float64Array(this.keyOf.length * 2);
        grown.set(this.keyOf);
        this.keyOf = grown;
      }
      this.keyOf[slot] = id;
      this.heap?.push(hash, slot);
    }
    const rate = this.rate;
    const distance = this.stack.access(slot);
    this.histogram.record(distance < 0 ? -1 : distance / rate, 1 / rate);
    this.sampled++;
    this.weighed += 1 / rate;
    this.onSample?.(id, slot, hash);
    const max = this.options.maxPages;
    if (max !== undefined && this.slots.size > max) this.shrink();
    return true;
  }

  /** Fixed size: lower the threshold to the largest hash in the sample, and drop every page at or above it. */
  private shrink(): void {
    const heap = this.heap;
    if (!heap) return;
    this.threshold = heap.topHash();
    this.currentRate = this.threshold / TWO_32;
    while (heap.size > 0 && heap.topHash() >= this.threshold) {
      const slot = heap.pop();
      this.slots.delete(this.keyOf[slot]);
      this.stack.forget(slot);
      this.freeSlots.push(slot);
    }
    this.onRateChange?.(this.rate);
  }

  /** The estimated LRU miss ratio at each size in pages. */
  missRatios(sizes: readonly number[]): number[] {
    if (this.sampled === 0) return this.histogram.missRatios(sizes);
    // SHARDS_adj: the requests the sample stands for, against those it should (every request): the gap is at distance 0.
    // A request at distance 0 is a hit at every size: the misses stay, the whole grows to every request. A fixed-size
    // sample needs it as much (more: with few pages, one hot page in or out of it moves the whole curve; a live Zipf
    // workload's sample stood for 1.31x its requests and put LRU's miss ratio 0.08 under the exact one).
    const total = this.histogram.total + (this.requests - this.weighed);
    return this.histogram.misses(sizes).map((m) => (total > 0 ? Math.min(1, Math.max(0, m / total)) : 0));
  }

  /** Estimated distinct pages of the whole stream: those sampled now over the rate. */
  get estimatedPages(): number {
    return this.slots.size / this.rate;
  }
}
