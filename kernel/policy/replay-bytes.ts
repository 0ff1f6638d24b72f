/**
 * Trace replay with the cache counted in bytes (`sim --by-bytes`): each
 * request carries its object's size; a miss evicts the policy's victims
 * until the object fits. An object bigger than the whole cache passes
 * through it and pushes every other out, and a hit with a new size takes
 * that size (evicting if the cache no longer fits): both as the one-pass
 * LRU in bytes counts them (stack distances weighed by the latest sizes),
 * so that LRU gives the same counts either way. (libCacheSim leaves the
 * cache as it is for an object bigger than it: the two differ only on
 * such objects.)
 *
 * Only policies whose choices do not depend on the capacity they are
 * given can run here (PolicyFactory.byBytes: FIFO, LRU, CLOCK, SIEVE,
 * LRU-K, Mach, Belady): they order pages, and the bytes decide how many
 * go. ARC, 2Q, LIRS, S3-FIFO and SLRU size their parts (ARC's target p,
 * 2Q's A1in, S3-FIFO's small queue, ...) in pages of the capacity; giving
 * them a byte count would be another policy than the one they name.
 */
import type { PolicyFactory } from './policy.js';
import { nextAccesses, type ReplayResult, type Trace } from './replay.js';

const NONE = -1;

/** Replay `trace` (request i of `sizes[i]` bytes) through `factory` with a cache of `capacity` bytes. */
export function replayBytes(trace: Trace, sizes: Uint32Array, factory: PolicyFactory, capacity: number): ReplayResult {
  if (factory.byBytes !== true) throw new RangeError(`policy "${factory.name}" sizes its parts in pages: it cannot count its cache in bytes`);
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`cache capacity must be a whole number of bytes ≥ 1, not ${capacity}`);
  const ids = trace.ids;
  const n = ids.length;
  // Every object may be cached at once (they can be 1 byte): a slot per distinct object.
  const slots = Math.max(1, trace.distinct);
  const policy = factory.create(slots, slots);
  const slotOf = new Int32Array(trace.distinct).fill(NONE);
  const idOf = new Int32Array(slots).fill(NONE);
  const sizeOf = new Float64Array(slots);
  const freeSlots = new Int32Array(slots);
  for (let s = 0; s < slots; s++) freeSlots[s] = slots - 1 - s;
  let free = slots;
  let used = 0;
  let misses = 0;
  const oracle = policy.nextAccess ? nextAccesses(trace) : undefined;
  const release = (slot: number): void => {
    used -= sizeOf[slot];
    slotOf[idOf[slot]] = NONE;
    idOf[slot] = NONE;
    freeSlots[free++] = slot;
  };
  const drain = (): void => {
    if (!policy.evicted) return;
    for (let slot = policy.evicted(); slot >= 0; slot = policy.evicted()) release(slot);
  };
  const evict = (): boolean => {
    const victim = policy.victim();
    if (victim < 0) return false;
    release(victim);
    drain();
    return true;
  };
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    let slot = slotOf[id];
    if (slot !== NONE) {
      if (oracle) policy.nextAccess?.(slot, oracle[i]);
      policy.access(slot);
      drain();
      const grown = sizes[i] - sizeOf[slot];
      if (grown !== 0 && slotOf[id] === slot) {
        sizeOf[slot] = sizes[i];
        used += grown;
        while (used > capacity && evict());
      }
      continue;
    }
    misses++;
    const size = sizes[i];
    policy.miss?.(id);
    drain();
    if (size > capacity) {
      while (evict()); // it passes through: every other object goes
      continue; // and it is not kept (still a miss)
    }
    while (used + size > capacity || free === 0) {
      if (!evict()) break;
    }
    if (used + size > capacity || free === 0) continue;
    slot = freeSlots[--free];
    slotOf[id] = slot;
    idOf[slot] = id;
    sizeOf[slot] = size;
    used += size;
    if (oracle) policy.nextAccess?.(slot, oracle[i]);
    policy.insert(slot, id, 0);
    drain();
  }
  return { requests: n, misses, seconds: (performance.now() - started) / 1000 };
}
