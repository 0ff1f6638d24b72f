/**
 * LRU: a hit moves the page to the most recently used end; the least
 * recently used page is evicted. Active / inactive as for FIFO.
 */
import { FifoPolicy } from './fifo.js';
import type { PolicyFactory } from './policy.js';

export class LruPolicy extends FifoPolicy {
  override readonly name: string = 'lru';

  override access(slot: number): boolean {
    this.queue.moveToTail(slot);
    return super.access(slot);
  }
}

export const lru: PolicyFactory = {
  name: 'lru',
  description: 'least recently used',
  byBytes: true,
  create: (capacity, slots) => new LruPolicy(capacity, slots),
};
