/**
 * Belady's MIN (1966), insert-always, as libCacheSim's Belady is used for
 * the reference figures (cache-policies.md §5.11): every miss is inserted
 * (no bypass), and the page evicted is the one whose next request is
 * furthest in the future. Pages never asked for again tie at the end, and
 * which of them goes does not change the miss count.
 *
 * It needs the future: the replay tells it, through nextAccess(), when each
 * page will be asked for next, so it is offline only (the factory says so
 * and createPolicy refuses it for the live kernel).
 *
 * Knowing the future leaves nothing to age: every page counts as active and
 * there are no reactivations. A page whose next access is unknown (inserted
 * without nextAccess) counts as never asked for again.
 */
import type { PolicyFactory, ReplacementPolicy } from './policy.js';
import { SlotHeap } from './slot-heap.js';

export class BeladyPolicy implements ReplacementPolicy {
  readonly name = 'belady';
  /** The furthest next access on top. */
  private readonly heap: SlotHeap;
  /** Next access times given for slots before their insert. */
  private readonly pending: Float64Array;
  readonly inactiveCount = 0;
  readonly reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    this.heap = new SlotHeap(slots, true);
    this.pending = new Float64Array(slots).fill(Infinity);
  }

  get size(): number {
    return this.heap.size;
  }

  get activeCount(): number {
    return this.heap.size;
  }

  has(slot: number): boolean {
    return this.heap.has(slot);
  }

  isInactive(_slot: number): boolean {
    return false;
  }

  nextAccess(slot: number, time: number): void {
    if (this.heap.has(slot)) this.heap.update(slot, time);
    else this.pending[slot] = time;
  }

  insert(slot: number): void {
    this.heap.push(slot, this.pending[slot]);
    this.pending[slot] = Infinity;
  }

  access(): boolean {
    return false;
  }

  remove(slot: number): void {
    this.heap.remove(slot);
  }

  victim(): number {
    return this.heap.pop();
  }
}

export const belady: PolicyFactory = {
  name: 'belady',
  description: "Belady's MIN: evict the page asked for furthest in the future (offline: trace replay only)",
  offline: true,
  byBytes: true,
  create: (capacity, slots) => new BeladyPolicy(capacity, slots),
};
