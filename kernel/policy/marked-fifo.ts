/**
 * The shape FIFO, LRU, CLOCK and SIEVE share: one queue of pages (head =
 * oldest) and one byte per page, its mark: FIFO and LRU's "used" (0 only
 * for a prefetched page nobody used yet), CLOCK's reference counter,
 * SIEVE's visited bit. A page whose mark is 0 is inactive (the first to go
 * when its turn comes); a hit that raises a mark from 0 is a reactivation.
 * Each policy says how it inserts, how a hit counts (CLOCK's counter goes
 * past 1) and how it chooses a victim.
 */
import type { ReplacementPolicy } from './policy.js';
import { SlotLinks, SlotList } from './slot-list.js';

export abstract class MarkedFifoPolicy implements ReplacementPolicy {
  abstract readonly name: string;
  protected readonly queue: SlotList;
  protected readonly mark: Uint8Array;
  inactiveCount = 0;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    this.queue = new SlotList(new SlotLinks(slots), 1);
    this.mark = new Uint8Array(slots);
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

  isInactive(slot: number): boolean {
    return this.queue.has(slot) && this.mark[slot] === 0;
  }

  /** A new page enters at the newest end, unmarked (inactive). */
  insert(slot: number, _key: number, _flags: number): void {
    this.enqueue(slot, 0);
  }

  /** A hit marks the page; on an unmarked page it is a reactivation. */
  access(slot: number): boolean {
    if (this.mark[slot] !== 0) return false;
    this.mark[slot] = 1;
    this.inactiveCount--;
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    this.queue.remove(slot);
    if (this.mark[slot] === 0) this.inactiveCount--;
  }

  abstract victim(): number;

  protected enqueue(slot: number, mark: number): void {
    this.queue.pushTail(slot);
    this.mark[slot] = mark;
    if (mark === 0) this.inactiveCount++;
  }
}
