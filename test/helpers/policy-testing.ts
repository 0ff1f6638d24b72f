/** What the policy tests share: a seeded PRNG and small drivers of a ReplacementPolicy. */
import { expect } from 'vitest';
import type { ReplacementPolicy } from '../../kernel/policy/policy.js';
import { NIL } from '../../kernel/policy/slot-list.js';
import { mulberry32 } from '../../stores/seeded-random.js';

/** Deterministic PRNG (mulberry32), so a failing fuzz run can be replayed. */
export const rng = mulberry32;

/** Insert each slot with key `keyBase + slot`. */
export function insertAll(policy: ReplacementPolicy, slots: readonly number[], flags = 0, keyBase = 1000): void {
  for (const slot of slots) policy.insert(slot, keyBase + slot, flags);
}

/** Victims until the policy is empty. */
export function drainVictims(policy: ReplacementPolicy): number[] {
  const out: number[] = [];
  for (let v = policy.victim(); v !== NIL; v = policy.victim()) out.push(v);
  return out;
}

/** Active and inactive add up to the size, isInactive() agrees page by page (and, unless live use may overfill it, the size fits the capacity). */
export function checkCounts(policy: ReplacementPolicy, options: { withinCapacity?: boolean } = {}): void {
  expect(policy.activeCount).toBeGreaterThanOrEqual(0);
  expect(policy.inactiveCount).toBeGreaterThanOrEqual(0);
  expect(policy.activeCount + policy.inactiveCount).toBe(policy.size);
  // Page by page (the web view's frame map), the inactive pages are the ones inactiveCount counts.
  let inactive = 0;
  for (let slot = 0; slot < policy.slots; slot++) {
    if (!policy.isInactive(slot)) continue;
    inactive++;
    expect(policy.has(slot)).toBe(true);
  }
  expect(inactive).toBe(policy.inactiveCount);
  if (options.withinCapacity === true) expect(policy.size).toBeLessThanOrEqual(policy.capacity);
}
