/**
 * FIFO: evict the page that came in first; hits change nothing.
 * FIFO has no aging, so every page is active except a prefetched page that
 * has not been used yet (its first use is a reactivation).
 */
import { INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

export class FifoPolicy implements ReplacementPolicy {
  readonly name: string = 'fifo';
  protected readonly queue: SlotList;
  /** 1 while a prefetched page has not been used. */
  protected readonly unused: Uint8Array;
  inactiveCount = 0;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    this.queue = new SlotList(new SlotLinks(slots), 1);
    this.unused = new Uint8Array(slots);
  }

  get size(): number {
    return this.queue.size;
  }

  get activeCount(): number {
    return this.queue.size - this.inactiveCount;
  }

  has(slot: number): boolean {
    return this.queue.has(slot);
  }

  insert(slot: number, _key: number, flags: number): void {
    this.queue.pushTail(slot);
    const prefetch = (flags & INSERT_PREFETCH) !== 0 ? 1 : 0;
    this.unused[slot] = prefetch;
    this.inactiveCount += prefetch;
  }

  access(slot: number): boolean {
    if (this.unused[slot] === 0) return false;
    this.unused[slot] = 0;
    this.inactiveCount--;
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    this.queue.remove(slot);
    this.forget(slot);
  }

  victim(): number {
    const slot = this.queue.popHead();
    if (slot !== NIL) this.forget(slot);
    return slot;
  }

  protected forget(slot: number): void {
    if (this.unused[slot] === 1) {
      this.unused[slot] = 0;
      this.inactiveCount--;
    }
  }
}

export const fifo: PolicyFactory = {
  name: 'fifo',
  description: 'first in, first out; hits do not matter',
  create: (capacity, slots) => new FifoPolicy(capacity, slots),
};
