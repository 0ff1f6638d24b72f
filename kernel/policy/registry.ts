/** The policies by name: what --policy and `machpager policy` accept. */
import { clock, clock2 } from './clock.js';
import { fifo } from './fifo.js';
import { lru } from './lru.js';
import { mach } from './mach.js';
import type { PolicyFactory, ReplacementPolicy } from './policy.js';

const factories = new Map<string, PolicyFactory>();
for (const factory of [mach, fifo, lru, clock, clock2]) factories.set(factory.name, factory);

export const DEFAULT_POLICY = mach.name;

export function policyNames(): string[] {
  return [...factories.keys()];
}

export function policyFactories(): PolicyFactory[] {
  return [...factories.values()];
}

export function hasPolicy(name: string): boolean {
  return factories.has(name);
}

/** Throws a RangeError naming the known policies when `name` is unknown. */
export function createPolicy(name: string, capacity: number, slots = capacity): ReplacementPolicy {
  const factory = factories.get(name);
  if (!factory) throw new RangeError(`unknown policy "${name}" (known: ${policyNames().join(', ')})`);
  return factory.create(capacity, Math.max(slots, capacity));
}
