/**
 * LRU-K (O'Neil, O'Neil & Weikum, SIGMOD'93) with K = 2, as libCacheSim's
 * LRU_K.cpp does it (cache-policies.md §5.9). Time is the request count
 * (every insert and every hit is one tick, so times are unique). Each cached
 * page keeps its last K access times; the history goes with the page when it
 * is evicted (no retained-information period).
 *
 * - Pages with fewer than K accesses wait in a FIFO in insertion order: their
 *   backward K-distance is infinite, so they go first, oldest first.
 * - Pages with K accesses or more are ordered by their K-th most recent
 *   access time; the smallest (the largest backward K-distance) goes.
 *
 * Active = K accesses or more, inactive = still in the FIFO; the hit that
 * gives a page its K-th access (FIFO → priority queue) is a reactivation.
 * A prefetched page enters the FIFO at its oldest end with no access
 * recorded: it goes first unless it is used, and its first use puts it at
 * the newest end with one access, where a demand miss would have put it.
 */
import { INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { SlotHeap } from './slot-heap.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

export class LruKPolicy implements ReplacementPolicy {
  readonly name: string;
  private readonly fifo: SlotList;
  /** Pages with K accesses or more, smallest K-th most recent access time on top. */
  private readonly ranked: SlotHeap;
  /** The last K access times of each slot: a ring of K per slot. */
  private readonly times: Float64Array;
  /** Where each slot's ring writes next (once full, also its oldest time). */
  private readonly ringNext: Uint8Array;
  /** Accesses recorded, at most K. */
  private readonly accesses: Uint8Array;
  private vtime = 0;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
    readonly k = 2,
  ) {
    if (!Number.isInteger(k) || k < 1 || k > 255) throw new RangeError('LRU-K needs K in 1..255');
    this.name = k === 2 ? 'lruk' : `lru${k}`;
    this.fifo = new SlotList(new SlotLinks(slots), 1);
    this.ranked = new SlotHeap(slots, false);
    this.times = new Float64Array(slots * k);
    this.ringNext = new Uint8Array(slots);
    this.accesses = new Uint8Array(slots);
  }

  get size(): number {
    return this.fifo.size + this.ranked.size;
  }

  get activeCount(): number {
    return this.ranked.size;
  }

  get inactiveCount(): number {
    return this.fifo.size;
  }

  has(slot: number): boolean {
    return this.fifo.has(slot) || this.ranked.has(slot);
  }

  isInactive(slot: number): boolean {
    return this.fifo.has(slot);
  }

  insert(slot: number, _key: number, flags: number): void {
    this.vtime++;
    this.ringNext[slot] = 0;
    this.accesses[slot] = 0;
    if ((flags & INSERT_PREFETCH) !== 0) {
      this.fifo.pushHead(slot);
      return;
    }
    if (this.record(slot) >= this.k) this.ranked.push(slot, this.kth(slot));
    else this.fifo.pushTail(slot);
  }

  access(slot: number): boolean {
    this.vtime++;
    const n = this.record(slot);
    if (!this.fifo.has(slot)) {
      this.ranked.update(slot, this.kth(slot));
      return false;
    }
    if (n >= this.k) {
      this.fifo.remove(slot);
      this.ranked.push(slot, this.kth(slot));
      this.reactivations++;
      return true;
    }
    // A prefetched page's first use: it now stands where a demand miss would have put it.
    if (n === 1) this.fifo.moveToTail(slot);
    return false;
  }

  remove(slot: number): void {
    if (this.fifo.has(slot)) this.fifo.remove(slot);
    else this.ranked.remove(slot);
  }

  victim(): number {
    const slot = this.fifo.popHead();
    return slot !== NIL ? slot : this.ranked.pop();
  }

  /** Record an access now; returns the accesses recorded (at most K). */
  private record(slot: number): number {
    const k = this.k;
    let i = this.ringNext[slot];
    this.times[slot * k + i] = this.vtime;
    i++;
    this.ringNext[slot] = i === k ? 0 : i;
    const n = this.accesses[slot] < k ? this.accesses[slot] + 1 : k;
    this.accesses[slot] = n;
    return n;
  }

  /** The K-th most recent access time (the ring is full: the next write position holds the oldest). */
  private kth(slot: number): number {
    return this.times[slot * this.k + this.ringNext[slot]];
  }
}

export const lruk: PolicyFactory = {
  name: 'lruk',
  description: 'LRU-2: pages seen once go first (FIFO), then the oldest second-to-last access',
  byBytes: true,
  create: (capacity, slots) => new LruKPolicy(capacity, slots, 2),
};
