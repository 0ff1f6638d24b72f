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
import type { PolicyFactory, ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

export class SievePolicy implements ReplacementPolicy {
  readonly name = 'sieve';
  /** SlotList head = oldest (the "tail" of §5.8), tail = newest. */
  private readonly queue: SlotList;
  private readonly next: Int32Array;
  private readonly visited: Uint8Array;
  /** Where the next eviction looks first; NIL = start at the oldest page. */
  private hand = NIL;
  inactiveCount = 0;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    this.queue = new SlotList(new SlotLinks(slots), 1);
    this.next = this.queue.links.next;
    this.visited = new Uint8Array(slots);
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

  insert(slot: number): void {
    this.queue.pushTail(slot);
    this.visited[slot] = 0;
    this.inactiveCount++;
  }

  access(slot: number): boolean {
    if (this.visited[slot] === 1) return false;
    this.visited[slot] = 1;
    this.inactiveCount--;
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    // The hand moves on as it would past an evicted page.
    if (this.hand === slot) this.hand = this.next[slot];
    this.queue.remove(slot);
    if (this.visited[slot] === 0) this.inactiveCount--;
  }

  victim(): number {
    const queue = this.queue;
    const next = this.next;
    const visited = this.visited;
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
  create: (capacity, slots) => new SievePolicy(capacity, slots),
};
