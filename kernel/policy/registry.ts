/**
 * The policies by name. Live ones (what --policy and `machpager policy`
 * accept) drive the pageout daemon; offline ones (Belady) need the future
 * and only replay traces (`machpager sim`).
 */
import { twoQ } from './2q.js';
import { arc } from './arc.js';
import { belady } from './belady.js';
import { clock, clock2 } from './clock.js';
import { fifo } from './fifo.js';
import { lirs } from './lirs.js';
import { lru } from './lru.js';
import { lruk } from './lruk.js';
import { mach } from './mach.js';
import type { PolicyFactory, ReplacementPolicy } from './policy.js';
import { s3fifo, s3fifo1 } from './s3fifo.js';
import { sieve } from './sieve.js';
import { slru } from './slru.js';

const factories = new Map<string, PolicyFactory>();
for (const factory of [mach, fifo, lru, clock, clock2, arc, twoQ, lirs, s3fifo, s3fifo1, sieve, lruk, slru, belady]) factories.set(factory.name, factory);

export const DEFAULT_POLICY = mach.name;

/** The live policies' names. */
export function policyNames(): string[] {
  return policyFactories().map((f) => f.name);
}

/** The live policies. */
export function policyFactories(): PolicyFactory[] {
  return [...factories.values()].filter((f) => f.offline !== true);
}

/** Every policy, offline ones included: what trace replay accepts. */
export function allPolicyFactories(): PolicyFactory[] {
  return [...factories.values()];
}

/** A policy by name, offline ones included. */
export function policyFactory(name: string): PolicyFactory | undefined {
  return factories.get(name);
}

/** Whether `name` is a live policy. */
export function hasPolicy(name: string): boolean {
  const factory = factories.get(name);
  return factory !== undefined && factory.offline !== true;
}

/** A live policy. Throws a RangeError naming the known policies when `name` is unknown or offline only. */
export function createPolicy(name: string, capacity: number, slots = capacity): ReplacementPolicy {
  const factory = factories.get(name);
  if (factory?.offline === true) throw new RangeError(`policy "${name}" needs to know the future: it replays traces only (machpager sim), it cannot run a live cache`);
  if (!factory) throw new RangeError(`unknown policy "${name}" (known: ${policyNames().join(', ')})`);
  return factory.create(capacity, Math.max(slots, capacity));
}
