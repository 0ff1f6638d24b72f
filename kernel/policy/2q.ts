/**
 * 2Q (Johnson & Shasha, VLDB'94), the full version, as libCacheSim's TwoQ
 * does it (cache-policies.md §5.5): Kin = floor(C/4), Kout = floor(C/2).
 *
 * - A1in: a FIFO of pages seen once. A hit there moves nothing (2Q's
 *   correlated-reference period).
 * - A1out: a FIFO of the ids of pages pushed out of A1in, at most Kout.
 * - Am: an LRU of pages asked for again after they left A1in, with its own
 *   capacity C − Kin.
 *
 * A miss whose id is in A1out (the id leaves it) goes to Am, first evicting
 * Am's LRU pages while |Am| ≥ C − Kin (needsRoom() asks the replay for those
 * evictions); any other miss goes to A1in. Evicting while the cache is full:
 * A1in's oldest page, its id to A1out, if |A1in| > Kin; else Am's LRU page.
 * So A1in can exceed Kin while Am is below its own size.
 *
 * Active = Am, inactive = A1in. No resident page ever moves from A1in to Am
 * (pages reach Am only from A1out, that is on a miss), so 2Q counts no
 * reactivations. A prefetched page goes to A1in's oldest end (the first to
 * leave), even when its id was in A1out: it has not been asked for.
 *
 * Too small a cache: libCacheSim caches nothing while Kin < 1 (C < 4;
 * canInsert() tells the replay). The live kernel keeps every page.
 */
import type { PolicyFactory } from './policy.js';
import { ProbationPolicy } from './probation.js';
import { NIL } from './slot-list.js';

const IN_RATIO = 0.25;
const OUT_RATIO = 0.5;

/** probation = A1in, main = Am, the ghosts = A1out. */
export class TwoQPolicy extends ProbationPolicy {
  readonly name = '2q';
  private readonly kin: number;
  private readonly amCapacity: number;

  constructor(capacity: number, slots = capacity) {
    super(capacity, slots, Math.floor(capacity * OUT_RATIO));
    this.kin = Math.floor(capacity * IN_RATIO);
    this.amCapacity = capacity - this.kin;
  }

  canInsert(): boolean {
    return this.kin >= 1;
  }

  /** Am.get(x) evicts Am's LRU page while |Am| ≥ C − Kin before x goes in. */
  needsRoom(): boolean {
    return this.ghostHit && this.main.size > 0 && this.main.size >= this.amCapacity;
  }

  access(slot: number): boolean {
    if (this.main.has(slot)) this.main.moveToTail(slot);
    return false;
  }

  victim(): number {
    // Between miss() on an A1out id and its insert, a cache that is not full
    // evicts for Am.get only (the replay's needsRoom); otherwise this is
    // TwoQ's own eviction.
    if (this.ghostHit && this.size < this.capacity && this.main.size > 0) return this.main.popHead();
    if (this.probation.size > this.kin || this.main.size === 0) {
      const slot = this.probation.popHead();
      if (slot !== NIL) this.addGhost(slot);
      return slot;
    }
    return this.main.popHead();
  }
}

export const twoQ: PolicyFactory = {
  name: '2q',
  description: '2Q: FIFO A1in for pages seen once, ghost A1out, LRU Am for pages seen again',
  create: (capacity, slots) => new TwoQPolicy(capacity, slots),
};
