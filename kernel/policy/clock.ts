/**
 * CLOCK (second chance), as libCacheSim defines it: a FIFO of pages with an
 * n-bit reference counter. New pages enter at the newest end with counter 0;
 * a hit increments the counter (saturating); the hand looks at the oldest
 * page: a non-zero counter is decremented and the page moved to the newest
 * end, a zero counter means eviction. One bit is classic second chance, the
 * same idea as Mach's inactive queue; two bits is Clock-2.
 * A page with counter 0 is inactive (it would be evicted when the hand comes).
 */
import type { PolicyFactory, ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

export class ClockPolicy implements ReplacementPolicy {
  readonly name: string;
  private readonly queue: SlotList;
  private readonly counter: Uint8Array;
  private readonly max: number;
  inactiveCount = 0;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    bits = 1,
    readonly slots = capacity,
  ) {
    if (bits < 1 || bits > 8) throw new RangeError('clock counter bits must be 1..8');
    this.name = bits === 1 ? 'clock' : `clock${bits}`;
    this.max = (1 << bits) - 1;
    this.queue = new SlotList(new SlotLinks(slots), 1);
    this.counter = new Uint8Array(slots);
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
    this.counter[slot] = 0;
    this.inactiveCount++;
  }

  access(slot: number): boolean {
    const f = this.counter[slot];
    if (f >= this.max) return false;
    this.counter[slot] = f + 1;
    if (f !== 0) return false;
    this.inactiveCount--;
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    this.queue.remove(slot);
    if (this.counter[slot] === 0) this.inactiveCount--;
  }

  victim(): number {
    for (;;) {
      const slot = this.queue.head;
      if (slot === NIL) return NIL;
      const f = this.counter[slot];
      if (f === 0) {
        this.queue.remove(slot);
        this.inactiveCount--;
        return slot;
      }
      this.counter[slot] = f - 1;
      if (f === 1) this.inactiveCount++;
      this.queue.moveToTail(slot);
    }
  }
}

export const clock: PolicyFactory = {
  name: 'clock',
  description: 'CLOCK / second chance with a 1-bit reference counter',
  create: (capacity, slots) => new ClockPolicy(capacity, 1, slots),
};

export const clock2: PolicyFactory = {
  name: 'clock2',
  description: 'CLOCK with a 2-bit reference counter',
  create: (capacity, slots) => new ClockPolicy(capacity, 2, slots),
};
