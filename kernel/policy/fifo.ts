/**
 * FIFO: evict the page that came in first; hits change nothing.
 * FIFO has no aging, so every page is active except a prefetched page that
 * has not been used yet (its first use is a reactivation): the mark is
 * "used", 0 only for such a page.
 */
import { MarkedFifoPolicy } from './marked-fifo.js';
import { INSERT_PREFETCH, type PolicyFactory } from './policy.js';
import { NIL } from './slot-list.js';

export class FifoPolicy extends MarkedFifoPolicy {
  readonly name: string = 'fifo';

  override insert(slot: number, _key: number, flags: number): void {
    this.enqueue(slot, (flags & INSERT_PREFETCH) !== 0 ? 0 : 1);
  }

  victim(): number {
    const slot = this.queue.head;
    if (slot !== NIL) this.remove(slot);
    return slot;
  }
}

export const fifo: PolicyFactory = {
  name: 'fifo',
  description: 'first in, first out; hits do not matter',
  byBytes: true,
  create: (capacity, slots) => new FifoPolicy(capacity, slots),
};
