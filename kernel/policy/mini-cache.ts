/**
 * A cache fed one request at a time: replay.ts's loop (libCacheSim's
 * cache_get_base) turned inside out, for miniature simulations that run
 * while the requests come (the daemon's live curves) rather than over a
 * trace held whole. Pages are named by a dense id below `ids` (the
 * caller's own numbering, e.g. a SHARDS sample's slots) and keep a key
 * (the page's identity, for policies with ghost lists).
 *
 * Nothing is allocated per request: the maps are typed arrays made once.
 * A page can leave (drop: it left the sample) and the cache can be
 * resized (resize: the sampling rate fell, so the scaled cache shrinks);
 * a resize makes a new policy of the new size and inserts the pages kept
 * in the order the old one would have evicted them, so recency survives
 * and what the policy learnt otherwise (frequency, ghosts) starts over.
 */
import type { PolicyFactory, ReplacementPolicy } from './policy.js';

const NONE = -1;

export class MiniCache {
  private policy: ReplacementPolicy;
  private capacityNow: number;
  /** Caller's id → policy slot, NONE when not cached. */
  private readonly slotOf: Int32Array;
  /** Policy slot → caller's id. */
  private idOf: Int32Array;
  /** Policy slot → page key. */
  private keyOf: Float64Array;
  private freeSlots: Int32Array;
  private free = 0;
  /** Misses so far. */
  misses = 0;
  /** Requests so far. */
  requests = 0;

  constructor(
    readonly factory: PolicyFactory,
    capacity: number,
    /** Ids are below this. */
    readonly ids: number,
  ) {
    this.slotOf = new Int32Array(ids).fill(NONE);
    this.capacityNow = 0;
    this.policy = this.make(capacity);
    this.idOf = new Int32Array(0);
    this.keyOf = new Float64Array(0);
    this.freeSlots = new Int32Array(0);
    this.allocate();
  }

  get capacity(): number {
    return this.capacityNow;
  }

  /** Pages cached now. */
  get size(): number {
    return this.idOf.length - this.free;
  }

  /** Whether page `id` is cached now. */
  has(id: number): boolean {
    return this.slotOf[id] !== NONE;
  }

  private make(capacity: number): ReplacementPolicy {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`cache capacity must be a whole number of pages ≥ 1, not ${capacity}`);
    this.capacityNow = capacity;
    const slots = Math.max(capacity, this.factory.replaySlots?.(capacity) ?? capacity);
    return this.factory.create(capacity, slots);
  }

  /** Slot tables for the policy now (every slot free). */
  private allocate(): void {
    const slots = this.policy.slots;
    this.idOf = new Int32Array(slots).fill(NONE);
    this.keyOf = new Float64Array(slots);
    this.freeSlots = new Int32Array(slots);
    for (let s = 0; s < slots; s++) this.freeSlots[s] = slots - 1 - s;
    this.free = slots;
  }

  private release(slot: number): void {
    this.slotOf[this.idOf[slot]] = NONE;
    this.idOf[slot] = NONE;
    this.freeSlots[this.free++] = slot;
  }

  /** Free the pages the policy evicted on its own (policy.ts, evicted()). */
  private drain(): void {
    const policy = this.policy;
    if (!policy.evicted) return;
    for (let slot = policy.evicted(); slot >= 0; slot = policy.evicted()) this.release(slot);
  }

  /** A request for page `id` (key `key`): true on a hit. As replay.ts does it, request by request. */
  request(id: number, key: number): boolean {
    this.requests++;
    const policy = this.policy;
    let slot = this.slotOf[id];
    if (slot !== NONE) {
      policy.access(slot);
      this.drain();
      return true;
    }
    this.misses++;
    policy.miss?.(key);
    this.drain();
    if (policy.canInsert?.() === false) return false;
    while (this.free === 0 || policy.needsRoom?.() === true) {
      const victim = policy.victim();
      if (victim < 0) break;
      this.release(victim);
      this.drain();
    }
    if (this.free === 0) return false;
    slot = this.freeSlots[--this.free];
    this.slotOf[id] = slot;
    this.idOf[slot] = id;
    this.keyOf[slot] = key;
    policy.insert(slot, key, 0);
    this.drain();
    return false;
  }

  /** Page `id` leaves (it is out of the sample now): forget it if cached. */
  drop(id: number): void {
    const slot = this.slotOf[id];
    if (slot === NONE) return;
    this.policy.remove(slot);
    this.release(slot);
  }

  /** A cache of `capacity` pages from now on, keeping the pages that fit in the old policy's eviction order. */
  resize(capacity: number): void {
    if (capacity === this.capacityNow) return;
    const old = this.policy;
    const order: number[] = [];
    const keys: number[] = [];
    for (let slot = old.victim(); slot >= 0; slot = old.victim()) {
      order.push(this.idOf[slot]);
      keys.push(this.keyOf[slot]);
      this.release(slot);
    }
    // Pages the policy kept but would not hand out (none for the policies here): let them go too.
    for (let slot = 0; slot < this.idOf.length; slot++) if (this.idOf[slot] !== NONE) this.release(slot);
    this.policy = this.make(capacity);
    this.allocate();
    // The last ones out of the old cache are the ones the new one keeps: the first to go are skipped.
    const start = Math.max(0, order.length - capacity);
    for (let i = start; i < order.length; i++) {
      while (this.free === 0 || this.policy.needsRoom?.() === true) {
        const victim = this.policy.victim();
        if (victim < 0) break;
        this.release(victim);
      }
      if (this.free === 0) break;
      const slot = this.freeSlots[--this.free];
      const id = order[i] ?? NONE;
      this.slotOf[id] = slot;
      this.idOf[slot] = id;
      this.keyOf[slot] = keys[i] ?? 0;
      this.policy.insert(slot, keys[i] ?? 0, 0);
    }
    this.drain();
  }
}
