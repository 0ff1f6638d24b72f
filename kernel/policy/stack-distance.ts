/**
 * LRU stack distances (Mattson, Gecsei, Slutz and Traiger, 1970): the
 * distance of a request is how many other distinct pages were asked for
 * since its page's last request. An LRU cache of C pages hits exactly the
 * requests of distance below C, so one pass gives the miss ratio at every
 * size. The one implementation of it: `machpager sim --mrc`, SHARDS
 * (shards.ts), the web view's curve of a recorded trace and the daemon's
 * live curve all count with it.
 *
 * Each tracked key holds the time of its last request; a Fenwick tree over
 * times counts the keys whose last request is later than a given time
 * (weighted by their size, for caches counted in bytes). Times are
 * renumbered when they run out (the live keys, in order, from 0), so the
 * tree has O(M) entries for M tracked keys whatever the trace's length:
 * O(log M) per request, a stream of unknown length included.
 */

const NONE = -1;

export class StackDistances {
  /** Per slot: the time of its last request, NONE when untracked. */
  private last: Int32Array;
  /** Per slot: the weight it counts for (1, or its size in bytes). */
  private weight: Float64Array;
  /** Per time: the slot last requested then, NONE when that time is stale. */
  private slotAt: Int32Array;
  /** Fenwick tree over times (1-based inside). */
  private tree: Float64Array;
  private now = 0;
  private liveWeight = 0;
  private liveSlots = 0;

  constructor(initialSlots = 1024) {
    const cap = Math.max(16, initialSlots);
    this.last = new Int32Array(cap).fill(NONE);
    this.weight = new Float64Array(cap);
    this.slotAt = new Int32Array(2 * cap).fill(NONE);
    this.tree = new Float64Array(2 * cap + 1);
  }

  /** Keys tracked now. */
  get size(): number {
    return this.liveSlots;
  }

  /**
   * A request for `slot` (a dense key, any number ≥ 0). Returns the weight
   * of the other keys requested since its last request (their count, when
   * every weight is 1), or -1 for its first request (a cold miss).
   * `weight` is the key's size from now on.
   */
  access(slot: number, weight = 1): number {
    if (slot >= this.last.length) this.growSlots(slot + 1);
    const last = this.last[slot];
    let distance = -1;
    if (last !== NONE) {
      distance = this.liveWeight - this.prefix(last);
      this.add(last, -this.weight[slot]);
      this.slotAt[last] = NONE;
      this.liveWeight -= this.weight[slot];
    } else {
      this.liveSlots++;
    }
    if (this.now === this.slotAt.length) this.renumber();
    const t = this.now++;
    this.last[slot] = t;
    this.slotAt[t] = slot;
    this.weight[slot] = weight;
    this.add(t, weight);
    this.liveWeight += weight;
    return distance;
  }

  /** Stop tracking `slot` (a key leaving a bounded sample): its next request is a first one. */
  forget(slot: number): void {
    if (slot >= this.last.length) return;
    const last = this.last[slot];
    if (last === NONE) return;
    this.add(last, -this.weight[slot]);
    this.slotAt[last] = NONE;
    this.liveWeight -= this.weight[slot];
    this.liveSlots--;
    this.last[slot] = NONE;
  }

  /** Weight of the keys whose last request is at time ≤ t. */
  private prefix(t: number): number {
    const tree = this.tree;
    let s = 0;
    for (let x = t + 1; x > 0; x -= x & -x) s += tree[x];
    return s;
  }

  private add(t: number, v: number): void {
    const tree = this.tree;
    const n = tree.length - 1;
    for (let x = t + 1; x <= n; x += x & -x) tree[x] += v;
  }

  private growSlots(min: number): void {
    let cap = this.last.length;
    while (cap < min) cap *= 2;
    const last = new Int32Array(cap).fill(NONE);
    last.set(this.last);
    const weight = new Float64Array(cap);
    weight.set(this.weight);
    this.last = last;
    this.weight = weight;
  }

  /** Times ran out: the live keys get times 0.. in their order (the tree doubles when more than half is live). */
  private renumber(): void {
    const old = this.slotAt;
    const cap = this.liveSlots * 2 > old.length ? old.length * 2 : old.length;
    const slotAt = new Int32Array(cap).fill(NONE);
    const tree = new Float64Array(cap + 1);
    let t = 0;
    for (let i = 0; i < old.length; i++) {
      const slot = old[i];
      if (slot === NONE) continue;
      slotAt[t] = slot;
      this.last[slot] = t;
      tree[t + 1] = this.weight[slot];
      t++;
    }
    // Linear Fenwick build: each node adds itself into its parent.
    for (let x = 1; x <= cap; x++) {
      const parent = x + (x & -x);
      if (parent <= cap) tree[parent] += tree[x];
    }
    this.slotAt = slotAt;
    this.tree = tree;
    this.now = t;
  }
}

/**
 * Requests by stack distance: hits[d] weighs the requests of distance d
 * (an LRU cache larger than d hits them), cold the first requests. Weights
 * are 1 for an exact curve, 1/R for a sample at rate R (SHARDS).
 * Distances are bucketed by `bucket` units (1 page, or bytes).
 */
export class DistanceHistogram {
  private hits = new Float64Array(1024);
  private top = 0;
  cold = 0;
  total = 0;
  private width: number;

  /**
   * `bucket`: the distances one bucket holds (1: exact). `maxBuckets`:
   * past that many the buckets double in width (pairs merge), so that a
   * sampled histogram stays small however far its distances reach; sizes
   * between bucket edges are then interpolated.
   */
  constructor(
    bucket = 1,
    private readonly maxBuckets = Infinity,
  ) {
    this.width = bucket;
  }

  /** The distances one bucket holds now. */
  get bucket(): number {
    return this.width;
  }

  /** A request of `distance` (-1: a first request) weighing `weight`. */
  record(distance: number, weight = 1): void {
    this.total += weight;
    if (distance < 0) {
      this.cold += weight;
      return;
    }
    let b = Math.floor(distance / this.width);
    while (b >= this.maxBuckets) {
      this.coarsen();
      b = Math.floor(distance / this.width);
    }
    if (b >= this.hits.length) {
      let cap = this.hits.length;
      while (cap <= b) cap *= 2;
      const grown = new Float64Array(cap);
      grown.set(this.hits);
      this.hits = grown;
    }
    this.hits[b] += weight;
    if (b >= this.top) this.top = b + 1;
  }

  /** Buckets twice as wide: each pair merges. */
  private coarsen(): void {
    const hits = this.hits;
    for (let i = 0; i < this.top; i += 2) hits[i >> 1] = hits[i] + (i + 1 < this.top ? hits[i + 1] : 0);
    const top = (this.top + 1) >> 1;
    hits.fill(0, top, this.top);
    this.top = top;
    this.width *= 2;
  }

  /** Add `weight` to the requests of distance 0 (SHARDS_adj's correction; may be negative). */
  adjustFirst(weight: number): void {
    this.record(0, weight);
  }

  /** Every bucket times `factor` (fixed-size SHARDS rescales the counts taken at an older rate). */
  scale(factor: number): void {
    for (let i = 0; i < this.top; i++) this.hits[i] *= factor;
    this.cold *= factor;
    this.total *= factor;
  }

  /**
   * The weight of the requests an LRU cache of each size misses (sizes in
   * pages, or bytes when bucket counts bytes): a size hits the distances
   * below it. (For bytes the caller records distance + the page's own size
   * - 1, so that a hit is "fits with everything used since".)
   */
  misses(sizes: readonly number[]): number[] {
    const below = new Float64Array(this.top + 1);
    for (let i = 0; i < this.top; i++) below[i + 1] = below[i] + this.hits[i];
    const width = this.width;
    return sizes.map((size) => {
      // Distances below `size`: whole buckets, and the share of the bucket the size cuts (none when exact).
      const at = Math.max(0, size / width);
      const whole = Math.min(this.top, Math.floor(at));
      const part = whole < this.top ? (at - whole) * this.hits[whole] : 0;
      return Math.min(this.total, Math.max(0, this.total - below[whole] - part));
    });
  }

  /** The LRU miss ratio at each size: misses() over every request. */
  missRatios(sizes: readonly number[]): number[] {
    const total = this.total;
    return this.misses(sizes).map((m) => (total > 0 ? m / total : 0));
  }
}

/** The exact stack-distance histogram of a dense-id trace, in one pass (O(N log M)): its misses() at any size are LRU's. */
export function lruHistogram(ids: Int32Array, distinct: number, onProgress?: (done: number) => void): DistanceHistogram {
  const stack = new StackDistances(distinct);
  const histogram = new DistanceHistogram();
  const n = ids.length;
  for (let i = 0; i < n; i++) {
    histogram.record(stack.access(ids[i]));
    if (onProgress && (i & 0xfffff) === 0xfffff) onProgress(i + 1);
  }
  return histogram;
}
