/**
 * Trace replay: one request at a time through a policy with a cache of
 * exactly `capacity` pages, the way libCacheSim's cache_get_base does it
 * (cache-policies.md §5.0):
 *
 *   hit  → policy.access(slot)
 *   miss → policy.miss?(key); unless the policy refuses the page
 *          (canInsert, libCacheSim's can_insert): while the cache is full
 *          (or the policy asks for room: needsRoom), evict policy.victim();
 *          insert the page.
 *
 * After every call the pages the policy evicted on its own (evicted: LIRS
 * and S4LRU do during some hits) are freed too.
 *
 * Every request counts, reads and writes alike; a miss inserts unless the
 * policy refuses it (as libCacheSim does for caches too small for it). The
 * policy is the same code the pageout daemon asks for victims; slots here
 * are handed out by the replay (the live kernel uses frame numbers), and a
 * page's key is its dense trace id.
 */
import type { PolicyFactory, ReplacementPolicy } from './policy.js';

/** A page trace with ids made dense: ids[i] in [0, distinct). */
export interface Trace {
  readonly ids: Int32Array;
  /** Distinct pages (the working-set size). */
  readonly distinct: number;
}

export interface ReplayResult {
  readonly requests: number;
  readonly misses: number;
  /** Wall time of the replay loop alone (not the trace's loading). */
  readonly seconds: number;
}

const NONE = -1;

/** Next-request index of each request's page (`requests` when it is never asked for again): Belady's oracle. */
export function nextAccesses(trace: Trace): Int32Array {
  const n = trace.ids.length;
  const next = new Int32Array(n);
  const seen = new Int32Array(trace.distinct).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    const id = trace.ids[i];
    next[i] = seen[id];
    seen[id] = i;
  }
  return next;
}

/** Replay `trace` through a new policy of `factory` holding `capacity` pages. */
export function replay(trace: Trace, factory: PolicyFactory, capacity: number): ReplayResult {
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`cache capacity must be a whole number of pages ≥ 1, not ${capacity}`);
  const slots = Math.max(capacity, factory.replaySlots?.(capacity) ?? capacity);
  const policy: ReplacementPolicy = factory.create(capacity, slots);
  const ids = trace.ids;
  const n = ids.length;
  const slotOf = new Int32Array(trace.distinct).fill(NONE);
  const idOf = new Int32Array(slots).fill(NONE);
  const freeSlots = new Int32Array(slots);
  for (let s = 0; s < slots; s++) freeSlots[s] = slots - 1 - s;
  let free = slots;
  const oracle = policy.nextAccess ? nextAccesses(trace) : undefined;
  let misses = 0;

  const release = (slot: number): void => {
    slotOf[idOf[slot]] = NONE;
    idOf[slot] = NONE;
    freeSlots[free++] = slot;
  };
  // Pages the policy evicted on its own (policy.ts, evicted()).
  const evicted = policy.evicted ? (): void => {
    for (let slot = policy.evicted?.() ?? NONE; slot >= 0; slot = policy.evicted?.() ?? NONE) release(slot);
  } : undefined;

  const evict = (): boolean => {
    const slot = policy.victim();
    if (slot < 0) return false;
    release(slot);
    evicted?.();
    return true;
  };

  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    let slot = slotOf[id];
    if (slot !== NONE) {
      if (oracle) policy.nextAccess?.(slot, oracle[i]);
      policy.access(slot);
      evicted?.();
      continue;
    }
    misses++;
    policy.miss?.(id);
    evicted?.();
    if (policy.canInsert?.() === false) continue; // still a miss
    while (free === 0 || policy.needsRoom?.() === true) {
      if (!evict()) break;
    }
    if (free === 0) continue; // nothing evictable: the page is not inserted (still a miss)
    slot = freeSlots[--free];
    slotOf[id] = slot;
    idOf[slot] = id;
    if (oracle) policy.nextAccess?.(slot, oracle[i]);
    policy.insert(slot, id, 0);
    evicted?.();
  }
  return { requests: n, misses, seconds: (performance.now() - started) / 1000 };
}
