/**
 * SIEVE (Zhang et al., NSDI'24), as libCacheSim defines it
 * (cache-policies.md §5.8): a FIFO of pages with a visited bit and a hand.
 * New pages enter at the newest end unvisited; a hit sets the bit and moves
 * nothing. To evict, the hand starts where it stopped last (at the oldest
 * page the first time) and walks towards the newest end, clearing visited
 * bits and wrapping from the newest page to the oldest, until it finds an
 * unvisited page: that one goes, and the hand stays at its newer neighbour.
 * Unlike CLOCK, survivors are not moved, so new pages stay behind old ones.
 *
 * Active = visited (the hand would let it stay), inactive = not visited; a
 * hit on an unvisited page is a reactivation. A prefetched page is inserted
 * like any other: it is unvisited, which already makes it the first
 * candidate of its age.
 */
import { MarkedFifoPolicy } from './marked-fifo.js';
import type { PolicyFactory } from './policy.js';
import { NIL } from './slot-list.js';

/** The mark is the visited bit; the queue's head is the oldest page (the "tail" of §5.8), its tail the newest. */
export class SievePolicy extends MarkedFifoPolicy {
  readonly name = 'sieve';
  private readonly next: Int32Array;
  /** Where the next eviction looks first; NIL = start at the oldest page. */
  private hand = NIL;

  constructor(capacity: number, slots = capacity) {
    super(capacity, slots);
    this.next = this.queue.links.next;
  }

  override remove(slot: number): void {
    // The hand moves on as it would past an evicted page.
    if (this.hand === slot) this.hand = this.next[slot];
    super.remove(slot);
  }

  victim(): number {
    const queue = this.queue;
    const next = this.next;
    const visited = this.mark;
    let slot = this.hand !== NIL ? this.hand : queue.head;
    if (slot === NIL) return NIL;
    while (visited[slot] === 1) {
      visited[slot] = 0;
      this.inactiveCount++;
      slot = next[slot];
      if (slot === NIL) slot = queue.head;
    }
    this.hand = next[slot];
    queue.remove(slot);
    this.inactiveCount--;
    return slot;
  }
}

export const sieve: PolicyFactory = {
  name: 'sieve',
  description: 'SIEVE: FIFO with a visited bit and a hand that does not move survivors',
  byBytes: true,
  create: (capacity, slots) => new SievePolicy(capacity, slots),
};
