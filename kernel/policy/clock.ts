/**
 * CLOCK (second chance), as libCacheSim defines it: a FIFO of pages with an
 * n-bit reference counter. New pages enter at the newest end with counter 0;
 * a hit increments the counter (saturating); the hand looks at the oldest
 * page: a non-zero counter is decremented and the page moved to the newest
 * end, a zero counter means eviction. One bit is classic second chance, the
 * same idea as Mach's inactive queue; two bits is Clock-2.
 * A page with counter 0 is inactive (it would be evicted when the hand comes).
 */
import { MarkedFifoPolicy } from './marked-fifo.js';
import type { PolicyFactory } from './policy.js';
import { NIL } from './slot-list.js';

/** The mark is the reference counter. */
export class ClockPolicy extends MarkedFifoPolicy {
  readonly name: string;
  private readonly max: number;

  constructor(capacity: number, bits = 1, slots = capacity) {
    super(capacity, slots);
    if (bits < 1 || bits > 8) throw new RangeError('clock counter bits must be 1..8');
    this.name = bits === 1 ? 'clock' : `clock${bits}`;
    this.max = (1 << bits) - 1;
  }

  override access(slot: number): boolean {
    const f = this.mark[slot];
    if (f >= this.max) return false;
    this.mark[slot] = f + 1;
    if (f !== 0) return false;
    this.inactiveCount--;
    this.reactivations++;
    return true;
  }

  victim(): number {
    for (;;) {
      const slot = this.queue.head;
      if (slot === NIL) return NIL;
      const f = this.mark[slot];
      if (f === 0) {
        this.queue.remove(slot);
        this.inactiveCount--;
        return slot;
      }
      this.mark[slot] = f - 1;
      if (f === 1) this.inactiveCount++;
      this.queue.moveToTail(slot);
    }
  }
}

export const clock: PolicyFactory = {
  name: 'clock',
  description: 'CLOCK / second chance with a 1-bit reference counter',
  byBytes: true,
  create: (capacity, slots) => new ClockPolicy(capacity, 1, slots),
};

export const clock2: PolicyFactory = {
  name: 'clock2',
  description: 'CLOCK with a 2-bit reference counter',
  byBytes: true,
  create: (capacity, slots) => new ClockPolicy(capacity, 2, slots),
};
