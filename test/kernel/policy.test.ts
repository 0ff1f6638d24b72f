/**
 * kernel/policy: the replacement policies the pageout daemon asks for
 * victims. A shared suite checks the ReplacementPolicy contract for every
 * registered policy; then each policy's exact order, against
 * /work/shared/reference/cache-policies.md (libCacheSim semantics) and, for
 * 'mach', GNU Mach's queues (mach-interface.md §3.4, checklist rows 33, 34).
 *
 * Note on directions: in SlotList, head = the OLDEST end and tail = the
 * newest, while cache-policies.md calls the newest end the "head".
 */
import { describe, expect, it } from 'vitest';
import { ClockPolicy } from '../../kernel/policy/clock.js';
import { FifoPolicy } from '../../kernel/policy/fifo.js';
import { LruPolicy } from '../../kernel/policy/lru.js';
import { MachPolicy } from '../../kernel/policy/mach.js';
import { INSERT_INTERNAL, INSERT_PREFETCH, type ReplacementPolicy } from '../../kernel/policy/policy.js';
import {
  createPolicy,
  DEFAULT_POLICY,
  hasPolicy,
  policyFactories,
  policyNames,
} from '../../kernel/policy/registry.js';
import { NIL, SlotLinks, SlotList } from '../../kernel/policy/slot-list.js';
import { checkCounts, drainVictims, insertAll, rng } from '../helpers/policy-testing.js';

const checkCountsWithin = (policy: ReplacementPolicy): void => checkCounts(policy, { withinCapacity: true });

// ------------------------------------------------------------------ helpers


function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}




/**
 * Replay a trace of page keys as libCacheSim's harness does (§5.0): a hit is
 * access(); a miss evicts while the cache is full, then inserts. Slots are
 * handed out from a free list. Returns the number of misses.
 */
function replay(policy: ReplacementPolicy, trace: readonly number[]): number {
  const slotOf = new Map<number, number>();
  const keyOf = new Map<number, number>();
  const free: number[] = [];
  for (let slot = policy.capacity - 1; slot >= 0; slot--) free.push(slot);
  let misses = 0;
  for (const key of trace) {
    const slot = slotOf.get(key);
    if (slot !== undefined) {
      policy.access(slot);
      continue;
    }
    misses++;
    while (policy.size >= policy.capacity) {
      const victim = policy.victim();
      const victimKey = keyOf.get(victim);
      if (victimKey === undefined) throw new Error(`victim ${victim} is not a cached slot`);
      slotOf.delete(victimKey);
      keyOf.delete(victim);
      free.push(victim);
    }
    const next = free.pop();
    if (next === undefined) throw new Error('no free slot');
    policy.insert(next, key, 0);
    slotOf.set(key, next);
    keyOf.set(next, key);
  }
  return misses;
}

// ------------------------------------------------------------------ registry

describe('registry', () => {
  it('knows the policies by name; mach is the default', () => {
    expect(policyNames()).toEqual(expect.arrayContaining(['mach', 'fifo', 'lru', 'clock', 'clock2']));
    expect(policyFactories().map((f) => f.name)).toEqual(policyNames());
    expect(DEFAULT_POLICY).toBe('mach');
    expect(hasPolicy('lru')).toBe(true);
    expect(hasPolicy('nope')).toBe(false);
    for (const factory of policyFactories()) expect(factory.description.length).toBeGreaterThan(0);
  });

  it('rejects an unknown name with a RangeError naming the known ones', () => {
    expect(() => createPolicy('belady', 8)).toThrow(RangeError);
    expect(() => createPolicy('belady', 8)).toThrow(/mach/);
  });

  it('creates the right classes', () => {
    expect(createPolicy('mach', 4)).toBeInstanceOf(MachPolicy);
    expect(createPolicy('fifo', 4)).toBeInstanceOf(FifoPolicy);
    expect(createPolicy('lru', 4)).toBeInstanceOf(LruPolicy);
    expect(createPolicy('clock', 4)).toBeInstanceOf(ClockPolicy);
    expect(createPolicy('clock2', 4)).toBeInstanceOf(ClockPolicy);
    expect(() => new ClockPolicy(4, 0)).toThrow(RangeError);
    expect(() => new ClockPolicy(4, 9)).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ shared contract

describe.each(policyNames())('policy %s: the ReplacementPolicy contract', (name) => {
  it('starts empty; victim() is -1 when nothing is tracked', () => {
    const policy = createPolicy(name, 8);
    expect(policy.name).toBe(name);
    expect(policy.capacity).toBe(8);
    expect(policy.size).toBe(0);
    expect(policy.activeCount).toBe(0);
    expect(policy.inactiveCount).toBe(0);
    expect(policy.reactivations).toBe(0);
    expect(policy.victim()).toBe(NIL);
    for (let slot = 0; slot < 8; slot++) expect(policy.has(slot)).toBe(false);
  });

  it('insert tracks pages; counts add up', () => {
    const policy = createPolicy(name, 8);
    insertAll(policy, [3, 0, 7, 5]);
    expect(policy.size).toBe(4);
    checkCountsWithin(policy);
    for (let slot = 0; slot < 8; slot++) expect(policy.has(slot)).toBe([3, 0, 7, 5].includes(slot));
  });

  it('every tracked page is a victim exactly once, then -1', () => {
    const policy = createPolicy(name, 8);
    insertAll(policy, [0, 1, 2, 3, 4, 5, 6, 7]);
    policy.access(2);
    policy.access(5);
    const victims: number[] = [];
    for (let i = 0; i < 8; i++) {
      const v = policy.victim();
      victims.push(v);
      expect(policy.has(v)).toBe(false);
      expect(policy.size).toBe(7 - i);
      checkCountsWithin(policy);
    }
    expect([...victims].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(policy.victim()).toBe(NIL);
    expect(policy.size).toBe(0);
  });

  it('a removed slot is never returned as a victim', () => {
    const policy = createPolicy(name, 8);
    insertAll(policy, [0, 1, 2, 3, 4, 5]);
    policy.access(0);
    policy.remove(0);
    policy.remove(3);
    expect(policy.has(0)).toBe(false);
    expect(policy.has(3)).toBe(false);
    expect(policy.size).toBe(4);
    checkCountsWithin(policy);
    const victims = drainVictims(policy);
    expect(victims).not.toContain(0);
    expect(victims).not.toContain(3);
    expect([...victims].sort((a, b) => a - b)).toEqual([1, 2, 4, 5]);
  });

  it('a slot can be reused after it was evicted or removed', () => {
    const policy = createPolicy(name, 2);
    insertAll(policy, [0, 1]);
    const v = policy.victim();
    policy.insert(v, 77, 0);
    expect(policy.has(v)).toBe(true);
    policy.remove(v);
    policy.insert(v, 78, INSERT_PREFETCH);
    expect(policy.size).toBe(2);
    checkCountsWithin(policy);
    expect([...drainVictims(policy)].sort((a, b) => a - b)).toEqual([0, 1]);
  });

  it('access returns true exactly when it counts a reactivation', () => {
    const policy = createPolicy(name, 4);
    insertAll(policy, [0, 1], INSERT_PREFETCH);
    insertAll(policy, [2, 3]);
    for (const slot of [0, 1, 2, 3, 0, 0, 2]) {
      const before = policy.reactivations;
      const counted = policy.access(slot);
      expect(policy.reactivations).toBe(before + (counted ? 1 : 0));
      checkCountsWithin(policy);
    }
  });

  it('keeps its invariants under random operations (fuzz)', () => {
    const capacity = 16;
    const policy = createPolicy(name, capacity);
    const random = rng(0x5eed + name.length);
    const tracked = new Set<number>();
    const flagChoices = [0, 0, INSERT_PREFETCH, INSERT_INTERNAL, INSERT_PREFETCH | INSERT_INTERNAL];
    for (let step = 0; step < 4000; step++) {
      const r = random();
      const members = [...tracked];
      if (r < 0.35 && tracked.size < capacity) {
        const free = [...Array(capacity).keys()].filter((s) => !tracked.has(s));
        const slot = pick(free, random);
        policy.insert(slot, step, pick(flagChoices, random));
        tracked.add(slot);
      } else if (r < 0.7 && members.length > 0) {
        const before = policy.reactivations;
        const counted = policy.access(pick(members, random));
        expect(policy.reactivations).toBe(before + (counted ? 1 : 0));
      } else if (r < 0.8 && members.length > 0) {
        const slot = pick(members, random);
        policy.remove(slot);
        tracked.delete(slot);
      } else {
        const victim = policy.victim();
        if (members.length === 0) {
          expect(victim).toBe(NIL);
        } else {
          expect(tracked.has(victim)).toBe(true);
          tracked.delete(victim);
        }
      }
      expect(policy.size).toBe(tracked.size);
      checkCountsWithin(policy);
      if (step % 50 === 0) for (let s = 0; s < capacity; s++) expect(policy.has(s)).toBe(tracked.has(s));
    }
  });
});

// ------------------------------------------------------------------ FIFO

describe('fifo', () => {
  it('evicts in insertion order; hits change nothing', () => {
    const policy = createPolicy('fifo', 8);
    insertAll(policy, [4, 1, 6, 2]);
    policy.access(4);
    policy.access(4);
    policy.access(6);
    expect(drainVictims(policy)).toEqual([4, 1, 6, 2]);
  });

  it('every page is active except an unused prefetched one, whose first use is a reactivation', () => {
    const policy = createPolicy('fifo', 4);
    insertAll(policy, [0]);
    insertAll(policy, [1], INSERT_PREFETCH);
    expect(policy.activeCount).toBe(1);
    expect(policy.inactiveCount).toBe(1);
    expect(policy.access(0)).toBe(false);
    expect(policy.access(1)).toBe(true);
    expect(policy.access(1)).toBe(false);
    expect(policy.reactivations).toBe(1);
    expect(policy.inactiveCount).toBe(0);
    // An unused prefetched page that is evicted or removed leaves the inactive count.
    insertAll(policy, [2, 3], INSERT_PREFETCH);
    expect(policy.inactiveCount).toBe(2);
    policy.remove(3);
    expect(policy.inactiveCount).toBe(1);
    expect(drainVictims(policy)).toEqual([0, 1, 2]);
    expect(policy.inactiveCount).toBe(0);
  });
});

// ------------------------------------------------------------------ LRU

describe('lru', () => {
  it('a hit moves the page to the most recently used end', () => {
    const policy = createPolicy('lru', 8);
    insertAll(policy, [0, 1, 2, 3]);
    policy.access(0);
    policy.access(2);
    policy.access(0);
    expect(drainVictims(policy)).toEqual([1, 3, 2, 0]);
  });

  it('a prefetched page counts a reactivation at its first use and moves like any hit', () => {
    const policy = createPolicy('lru', 4);
    insertAll(policy, [0], INSERT_PREFETCH);
    insertAll(policy, [1]);
    expect(policy.inactiveCount).toBe(1);
    expect(policy.access(0)).toBe(true);
    expect(policy.reactivations).toBe(1);
    expect(drainVictims(policy)).toEqual([1, 0]);
  });
});

// ------------------------------------------------------------------ CLOCK

describe('clock (cache-policies.md §5.3)', () => {
  it('1 bit: a referenced page is moved to the newest end with its bit cleared, then the next is evicted', () => {
    const policy = createPolicy('clock', 8);
    // Oldest to newest: 0 1 2, all f = 0 (inactive).
    insertAll(policy, [0, 1, 2]);
    expect(policy.inactiveCount).toBe(3);
    policy.access(0); // f0 = 1
    policy.access(1); // f1 = 1
    expect(policy.inactiveCount).toBe(1);
    // Hand: 0 (f 1 -> 0, reinserted), 1 (f 1 -> 0, reinserted), 2 (f 0) evicted.
    expect(policy.victim()).toBe(2);
    // Now 0 1 (oldest first), both f = 0: the bits were cleared when the hand passed.
    expect(policy.inactiveCount).toBe(2);
    expect(policy.victim()).toBe(0);
    expect(policy.victim()).toBe(1);
  });

  it('1 bit: the counter saturates at 1', () => {
    const policy = createPolicy('clock', 8);
    insertAll(policy, [0, 1]);
    policy.access(0);
    expect(policy.access(0)).toBe(false);
    expect(policy.access(0)).toBe(false);
    // 0: f 1 -> 0, moved behind 1; 1 evicted; then 0.
    expect(drainVictims(policy)).toEqual([1, 0]);
    expect(policy.reactivations).toBe(1);
  });

  it('2 bits (clock2): the counter goes up to 3 and is decremented by 1 per pass, not reset', () => {
    const policy = createPolicy('clock2', 8);
    insertAll(policy, [0, 1, 2]);
    policy.access(0);
    policy.access(0);
    policy.access(0);
    expect(policy.access(0)).toBe(false); // f0 stays 3
    policy.access(1); // f1 = 1
    expect(policy.reactivations).toBe(2);
    // Pass 1: 0 (3 -> 2), 1 (1 -> 0), 2 evicted. Queue: 0(2) 1(0).
    expect(policy.victim()).toBe(2);
    expect(policy.inactiveCount).toBe(1);
    // Pass 2: 0 (2 -> 1), 1 evicted.
    expect(policy.victim()).toBe(1);
    expect(policy.activeCount).toBe(1);
    // Pass 3: 0 (1 -> 0), 0 evicted.
    expect(policy.victim()).toBe(0);
    // The same accesses with 1 bit give a different order.
    const oneBit = createPolicy('clock', 8);
    insertAll(oneBit, [0, 1, 2]);
    for (const slot of [0, 0, 0, 1]) oneBit.access(slot);
    expect(drainVictims(oneBit)).toEqual([2, 0, 1]);
  });

  it('row 33: a page referenced while inactive is reactivated, not evicted (clock)', () => {
    const policy = createPolicy('clock', 8);
    insertAll(policy, [0, 1, 2]);
    expect(policy.inactiveCount).toBe(3);
    expect(policy.access(0)).toBe(true);
    expect(policy.reactivations).toBe(1);
    expect(policy.inactiveCount).toBe(2);
    expect(policy.activeCount).toBe(1);
    expect(policy.victim()).toBe(1);
    expect(policy.has(0)).toBe(true);
    // Its second chance is used up: it is inactive again.
    expect(policy.inactiveCount).toBe(2);
  });

  it('removing a referenced or unreferenced page keeps the counts right', () => {
    const policy = createPolicy('clock2', 8);
    insertAll(policy, [0, 1, 2]);
    policy.access(1);
    policy.access(1);
    policy.remove(1);
    expect(policy.inactiveCount).toBe(2);
    expect(policy.activeCount).toBe(0);
    policy.remove(0);
    expect(policy.inactiveCount).toBe(1);
    expect(drainVictims(policy)).toEqual([2]);
  });
});

// ------------------------------------------------------------------ mach

describe('mach (GNU Mach queues)', () => {
  it('pages asked for go active; prefetched pages go inactive', () => {
    const policy = createPolicy('mach', 8);
    insertAll(policy, [0, 1]);
    insertAll(policy, [2], INSERT_PREFETCH);
    insertAll(policy, [3], INSERT_INTERNAL);
    insertAll(policy, [4], INSERT_INTERNAL | INSERT_PREFETCH);
    expect(policy.activeCount).toBe(3);
    expect(policy.inactiveCount).toBe(2);
  });

  it('refill keeps active pages at most 1/3 of all pages, oldest active first', () => {
    const policy = createPolicy('mach', 16);
    insertAll(policy, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(policy.activeCount).toBe(9);
    // Refill: 9 pages, at most 3 active: 0..5 go inactive; the oldest inactive is the victim.
    expect(policy.victim()).toBe(0);
    expect(policy.activeCount).toBe(3);
    expect(policy.inactiveCount).toBe(5);
    // Keep inserting active pages and evicting: at every refill active <= 1/3.
    let next = 9;
    for (let round = 0; round < 20; round++) {
      policy.insert(next % 16, next, 0);
      next++;
      while (policy.size >= 12) {
        const before = policy.size;
        policy.victim();
        expect(policy.activeCount).toBeLessThanOrEqual(Math.floor(before / 3));
        checkCountsWithin(policy);
      }
      // Avoid inserting a slot that is still tracked.
      while (policy.has(next % 16)) next++;
    }
  });

  it('row 34: eviction order is inactive external, inactive internal, active external, active internal; FIFO per list', () => {
    // Inactive internal pages go after inactive external ones, even older ones.
    const inactiveOnly = createPolicy('mach', 16);
    insertAll(inactiveOnly, [0, 1], INSERT_INTERNAL | INSERT_PREFETCH);
    insertAll(inactiveOnly, [2, 3], INSERT_PREFETCH);
    expect(drainVictims(inactiveOnly)).toEqual([2, 3, 0, 1]);

    // All four queues. Active pages are only taken once refill (active > 1/3)
    // has moved them to the inactive queues, external ones first, so an
    // active external page joins the inactive external queue and goes before
    // the inactive internal pages, as vm_pageout's refill-then-evict does.
    const a = createPolicy('mach', 16);
    insertAll(a, [0, 1], INSERT_INTERNAL | INSERT_PREFETCH); // oldest, inactive internal
    insertAll(a, [2, 3], INSERT_PREFETCH); // inactive external
    insertAll(a, [4], INSERT_INTERNAL); // active internal
    insertAll(a, [5], 0); // active external
    // 6 pages, 2 active (= 1/3): no refill; inactive external first.
    expect(a.victim()).toBe(2);
    expect(a.activeCount).toBe(2);
    // 5 pages: refill moves active external 5 (not the older internal 4).
    expect(a.victim()).toBe(3);
    expect(a.has(5)).toBe(true);
    expect(a.activeCount).toBe(1);
    expect(drainVictims(a)).toEqual([5, 0, 1, 4]);

    // With only active pages: refill moves active external pages first, so they go
    // before older active internal pages.
    const b = createPolicy('mach', 16);
    insertAll(b, [0, 1], INSERT_INTERNAL);
    insertAll(b, [2, 3], 0);
    // 4 pages, at most 1 active: 2, 3 (external) then 0 go inactive; 1 stays active.
    expect(b.victim()).toBe(2);
    expect(b.activeCount).toBe(1);
    expect(b.has(1)).toBe(true);
    expect(drainVictims(b)).toEqual([3, 0, 1]);

    // FIFO within one list.
    const c = createPolicy('mach', 16);
    insertAll(c, [7, 3, 5, 1], INSERT_PREFETCH);
    expect(drainVictims(c)).toEqual([7, 3, 5, 1]);
  });

  it('row 33: a page referenced while inactive is reactivated, not evicted (mach)', () => {
    const policy = createPolicy('mach', 16);
    insertAll(policy, [0, 1, 2, 3, 4, 5]);
    // Refill: 6 pages, at most 2 active: 0..3 inactive, 4 5 active; 0 evicted.
    expect(policy.victim()).toBe(0);
    expect(policy.inactiveCount).toBe(3);
    // A fault on inactive page 1 reactivates it.
    expect(policy.access(1)).toBe(true);
    expect(policy.reactivations).toBe(1);
    expect(policy.inactiveCount).toBe(2);
    expect(policy.activeCount).toBe(3);
    expect(policy.victim()).toBe(2);
    expect(policy.has(1)).toBe(true);
    // 1 is now the newest active page: it goes last.
    expect(drainVictims(policy)).toEqual([3, 4, 5, 1]);
  });

  it('counts reactivations only for inactive pages', () => {
    const policy = createPolicy('mach', 8);
    insertAll(policy, [0]);
    expect(policy.access(0)).toBe(false); // active: only the reference bit
    insertAll(policy, [1], INSERT_PREFETCH);
    expect(policy.access(1)).toBe(true); // prefetched, first use
    expect(policy.access(1)).toBe(false);
    insertAll(policy, [2], INSERT_PREFETCH | INSERT_INTERNAL);
    expect(policy.access(2)).toBe(true);
    expect(policy.reactivations).toBe(2);
    expect(policy.activeCount).toBe(3);
    expect(policy.inactiveCount).toBe(0);
  });

  it('remove takes a page out of whichever queue it is on', () => {
    const policy = createPolicy('mach', 8);
    insertAll(policy, [0], 0);
    insertAll(policy, [1], INSERT_INTERNAL);
    insertAll(policy, [2], INSERT_PREFETCH);
    insertAll(policy, [3], INSERT_PREFETCH | INSERT_INTERNAL);
    policy.remove(1);
    policy.remove(2);
    expect(policy.activeCount).toBe(1);
    expect(policy.inactiveCount).toBe(1);
    // 2 pages, 1 active > 2/3: refill moves 0 to the inactive external queue, which goes first.
    expect(drainVictims(policy)).toEqual([0, 3]);
  });
});

// ------------------------------------------------------------------ trace replay

describe('trace replay against hand-computed miss counts', () => {
  // Belady's trace. Capacity 3:
  //   FIFO: 1 2 3 M, 4 M(-1), 1 M(-2), 2 M(-3), 5 M(-4), 1 H, 2 H, 3 M(-1), 4 M(-2), 5 H = 9.
  //   LRU:  1 2 3 M, 4 M(-1), 1 M(-2), 2 M(-3), 5 M(-4), 1 H, 2 H, 3 M(-5), 4 M(-1), 5 M(-2) = 10.
  //   CLOCK: as FIFO up to 5 (no bit set); 1 H, 2 H set f; 3 M: 1, 2 get a second chance, 5 out;
  //          4 M: 1 out; 5 M: 2 out = 10. CLOCK2: no counter ever passes 1, the same 10.
  // Capacity 4: FIFO 10 (Belady's anomaly: more frames, more misses), LRU 8,
  //   CLOCK 8 (1 2 3 4 M, 1 H, 2 H, 5 M: 1 2 passed, 3 out; 1 H, 2 H, 3 M: 4 out; 4 M: 1 2 passed, 5 out;
  //   5 M: 1 out), CLOCK2 8.
  const belady = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

  // A trace on which all four differ, capacity 3:
  //   FIFO:  2 M, 2 H, 3 M, 2 H, 1 M, 5 M(-2), 3 H, 1 H, 5 H, 1 H                 = 4
  //   LRU:   2 M, 2 H, 3 M, 2 H, 1 M, 5 M(-3), 3 M(-2), 1 H, 5 H, 1 H             = 5
  //   CLOCK: 2 M, 2 H (f1), 3 M, 2 H, 1 M, 5 M (2 passed, 3 out), 3 M (1 out),
  //          1 M (2 out), 5 H, 1 H                                                 = 6
  //   CLOCK2: 2 M, 2 H (f1), 3 M, 2 H (f2), 1 M, 5 M (2: 2->1, 3 out), 3 M (1 out),
  //          1 M (2: 1->0, 5 out), 5 M (3 out), 1 H                                = 7
  //   mach:  2 M, 2 H, 3 M, 2 H, 1 M, 5 M (refill: 2 3 inactive, 2 out), 3 H (reactivated),
  //          1 H, 5 H, 1 H                                                         = 4
  const mixed = [2, 2, 3, 2, 1, 5, 3, 1, 5, 1];

  it.each([
    ['fifo', belady, 3, 9],
    ['lru', belady, 3, 10],
    ['clock', belady, 3, 10],
    ['clock2', belady, 3, 10],
    ['fifo', belady, 4, 10],
    ['lru', belady, 4, 8],
    ['clock', belady, 4, 8],
    ['clock2', belady, 4, 8],
    ['fifo', mixed, 3, 4],
    ['lru', mixed, 3, 5],
    ['clock', mixed, 3, 6],
    ['clock2', mixed, 3, 7],
    ['mach', mixed, 3, 4],
  ] as const)('%s on %j with capacity %i: %i misses', (name, trace, capacity, misses) => {
    const policy = createPolicy(name, capacity);
    expect(replay(policy, trace)).toBe(misses);
    checkCountsWithin(policy);
    expect(policy.size).toBe(capacity);
  });

  it('every policy misses at least once per distinct page and at most once per request', () => {
    const random = rng(42);
    const trace = Array.from({ length: 3000 }, () => Math.floor(random() * 40));
    const distinct = new Set(trace).size;
    for (const name of policyNames()) {
      const misses = replay(createPolicy(name, 10), trace);
      expect(misses).toBeGreaterThanOrEqual(distinct);
      expect(misses).toBeLessThanOrEqual(trace.length);
    }
    // With room for every page, only the first touch of each page misses.
    for (const name of policyNames()) expect(replay(createPolicy(name, 40), trace)).toBe(distinct);
  });
});

// ------------------------------------------------------------------ slot lists

describe('SlotList', () => {
  it('keeps several lists over shared links, head = oldest', () => {
    const links = new SlotLinks(8);
    const a = new SlotList(links, 1);
    const b = new SlotList(links, 2);
    a.pushTail(1);
    a.pushTail(2);
    a.pushHead(0);
    b.pushTail(5);
    expect([a.head, a.tail, a.size]).toEqual([0, 2, 3]);
    expect(a.nextOf(0)).toBe(1);
    expect(a.prevOf(2)).toBe(1);
    expect(a.has(5)).toBe(false);
    expect(b.has(5)).toBe(true);
    a.moveToTail(0);
    expect([a.head, a.tail]).toEqual([1, 0]);
    a.remove(2);
    expect(a.has(2)).toBe(false);
    expect(a.popHead()).toBe(1);
    expect(a.popHead()).toBe(0);
    expect(a.popHead()).toBe(NIL);
    expect([a.head, a.tail, a.size]).toEqual([NIL, NIL, 0]);
    expect(b.size).toBe(1);
    expect(() => new SlotList(links, 0)).toThrow(RangeError);
    expect(() => new SlotList(links, 256)).toThrow(RangeError);
  });
});
