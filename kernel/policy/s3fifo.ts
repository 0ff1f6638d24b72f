/**
 * S3-FIFO (Yang et al., SOSP'23), as libCacheSim defines it
 * (cache-policies.md §5.7): a small FIFO S of Cs = floor(0.1 C) pages, a
 * main FIFO M of Cm = C − Cs pages and a ghost FIFO G of floor(0.9 C) ids.
 *
 * - Every hit does f += 1 (f is 0 on insertion); nothing moves.
 * - A miss whose id is in G (the id leaves G) goes to M, any other to S.
 * - Evicting: from M while |M| > Cm or S is empty, else from S.
 *   - S: its oldest page moves to M with f = 0 if f ≥ threshold (2, or 1
 *     for s3fifo1) and the next is looked at; otherwise it is evicted and
 *     its id joins G (an id already there stays where it is).
 *   - M: a 2-bit CLOCK: the oldest page with f ≥ 1 is reinserted at the
 *     newest end with f = min(f, 3) − 1; the first with f = 0 is evicted.
 * S is not capped at Cs: it takes whatever M leaves.
 *
 * Active = in M, inactive = in S. A page moving from S to M when S is
 * evicted is the reactivation (counted in victim(), like Mach's second
 * chance), so access() never reports one. A prefetched page goes to S's
 * oldest end (the next one S gives up, unless it is used twice first).
 *
 * Too small a cache: libCacheSim inserts nothing new while Cs < 2 (C < 20;
 * canInsert() says so to the replay). The live kernel cannot refuse a page
 * it holds, so there S simply takes it.
 */
import type { PolicyFactory } from './policy.js';
import { ProbationPolicy } from './probation.js';
import { NIL } from './slot-list.js';

const SMALL_RATIO = 0.1;
const GHOST_RATIO = 0.9;
/** f is read only as f ≥ threshold (≤ 2) and min(f, 3): saturating here changes nothing. */
const FREQ_MAX = 255;

/** probation = S, main = M, the ghosts = G. */
export class S3FifoPolicy extends ProbationPolicy {
  readonly name: string;
  private readonly freq: Uint8Array;
  private readonly smallCapacity: number;
  private readonly mainCapacity: number;

  constructor(
    capacity: number,
    slots = capacity,
    readonly threshold = 2,
  ) {
    super(capacity, slots, Math.floor(capacity * GHOST_RATIO));
    this.name = threshold === 2 ? 's3fifo' : `s3fifo${threshold}`;
    this.freq = new Uint8Array(slots);
    this.smallCapacity = Math.floor(capacity * SMALL_RATIO);
    this.mainCapacity = capacity - this.smallCapacity;
  }

  canInsert(): boolean {
    // libCacheSim: can_insert needs Cs ≥ 1, and S takes no page as large as itself.
    return this.smallCapacity >= 2 || (this.smallCapacity === 1 && this.ghostHit);
  }

  override insert(slot: number, key: number, flags: number): void {
    this.freq[slot] = 0;
    super.insert(slot, key, flags);
  }

  access(slot: number): boolean {
    const f = this.freq[slot];
    if (f < FREQ_MAX) this.freq[slot] = f + 1;
    return false;
  }

  victim(): number {
    for (;;) {
      if (this.main.size > this.mainCapacity || this.probation.size === 0) return this.evictMain();
      const slot = this.evictSmall();
      // S may have emptied into M without evicting: look again (libCacheSim's loop calls evict again).
      if (slot !== NIL) return slot;
    }
  }

  private evictSmall(): number {
    const { probation: small, main, freq } = this;
    for (let slot = small.head; slot !== NIL; slot = small.head) {
      small.remove(slot);
      if (freq[slot] >= this.threshold) {
        freq[slot] = 0;
        main.pushTail(slot);
        this.reactivations++;
        continue;
      }
      this.addGhost(slot);
      return slot;
    }
    return NIL;
  }

  private evictMain(): number {
    const { main, freq } = this;
    for (let slot = main.head; slot !== NIL; slot = main.head) {
      const f = freq[slot];
      if (f === 0) {
        main.remove(slot);
        return slot;
      }
      freq[slot] = (f < 3 ? f : 3) - 1;
      main.moveToTail(slot);
    }
    return NIL;
  }
}

export const s3fifo: PolicyFactory = {
  name: 's3fifo',
  description: 'S3-FIFO: small FIFO, main 2-bit CLOCK and ghost FIFO; promotion after 2 hits',
  create: (capacity, slots) => new S3FifoPolicy(capacity, slots, 2),
};

export const s3fifo1: PolicyFactory = {
  name: 's3fifo1',
  description: 'S3-FIFO promoting from the small FIFO after 1 hit',
  create: (capacity, slots) => new S3FifoPolicy(capacity, slots, 1),
};
