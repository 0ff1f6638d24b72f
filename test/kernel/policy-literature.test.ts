/**
 * The policies from the literature (ARC, 2Q, LIRS, S3-FIFO, SIEVE, LRU-2,
 * S4LRU, Belady): each one's own rules, step by step against
 * /work/shared/reference/cache-policies.md (libCacheSim semantics), then a
 * harder live fuzz than policy.test.ts's (more pages than capacity, ghost
 * keys coming back through miss(), prefetched pages, evicted() never
 * called, as in the kernel).
 *
 * Directions: SlotList head = the OLDEST end; cache-policies.md calls the
 * newest end the "head". Slots here are small numbers and a page's key is
 * 100 + its slot unless said otherwise.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TwoQPolicy } from '../../kernel/policy/2q.js';
import { ArcPolicy } from '../../kernel/policy/arc.js';
import { BeladyPolicy } from '../../kernel/policy/belady.js';
import { KeyIndex, NO_ENTRY } from '../../kernel/policy/key-index.js';
import { LirsPolicy } from '../../kernel/policy/lirs.js';
import { LruKPolicy } from '../../kernel/policy/lruk.js';
import { INSERT_PREFETCH, type ReplacementPolicy } from '../../kernel/policy/policy.js';
import { allPolicyFactories, createPolicy, hasPolicy, policyFactory, policyNames } from '../../kernel/policy/registry.js';
import { replay } from '../../kernel/policy/replay.js';
import { S3FifoPolicy } from '../../kernel/policy/s3fifo.js';
import { SievePolicy } from '../../kernel/policy/sieve.js';
import { SlotHeap } from '../../kernel/policy/slot-heap.js';
import { NIL } from '../../kernel/policy/slot-list.js';
import { SlruPolicy } from '../../kernel/policy/slru.js';
import { parseTrace } from '../../kernel/policy/trace.js';
import { framesAccountedFor, PAGE, pattern, scrambled, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';
import { checkCounts, drainVictims, insertAll as insertAllFrom, rng } from '../helpers/policy-testing.js';

const insertAll = (policy: ReplacementPolicy, slots: readonly number[], flags = 0): void => insertAllFrom(policy, slots, flags, 100);

const NEW_LIVE = ['arc', '2q', 'lirs', 's3fifo', 's3fifo1', 'sieve', 'lruk', 'slru'] as const;





/** Misses of a trace given as page ids (any numbers), through the replay harness. */
function misses(name: string, ids: readonly number[], capacity: number): number {
  const factory = policyFactory(name);
  if (!factory) throw new Error(`no policy ${name}`);
  return replay(parseTrace(ids.join('\n')), factory, capacity).misses;
}

// ------------------------------------------------------------------ registry

describe('registry: the literature policies', () => {
  it('registers every policy; belady is offline only; mach stays the default', () => {
    expect(policyNames()).toEqual(expect.arrayContaining([...NEW_LIVE]));
    expect(policyNames()).not.toContain('belady');
    expect(allPolicyFactories().map((f) => f.name)).toContain('belady');
    expect(policyFactory('belady')?.offline).toBe(true);
    expect(hasPolicy('belady')).toBe(false);
    expect(() => createPolicy('belady', 8)).toThrow(/needs to know the future/);
    expect(policyNames()[0]).toBe('mach');
    for (const name of NEW_LIVE) expect(createPolicy(name, 8).name).toBe(name);
  });
});

// ------------------------------------------------------------------ helpers

describe('KeyIndex (ghost ids)', () => {
  it('finds, adds and deletes keys up to 2^53, reusing entries', () => {
    const index = new KeyIndex(4);
    const keys = [0, 4294967296 * 7 + 3, 2 ** 53 - 1, 12345];
    const entries = keys.map((k) => index.add(k));
    expect(index.full).toBe(true);
    expect(index.add(99)).toBe(NO_ENTRY);
    keys.forEach((k, i) => expect(index.find(k)).toBe(entries[i]));
    expect(index.find(4294967296 * 3 + 7)).toBe(NO_ENTRY);
    index.delete(entries[1]);
    expect(index.find(keys[1])).toBe(NO_ENTRY);
    expect(index.find(keys[3])).toBe(entries[3]);
    expect(index.used).toBe(3);
    const again = index.add(77);
    expect(index.find(77)).toBe(again);
  });

  it('stays consistent under random adds and deletes (backward-shift deletion)', () => {
    const random = rng(7);
    const index = new KeyIndex(64);
    const live = new Map<number, number>();
    for (let step = 0; step < 20000; step++) {
      const key = Math.floor(random() * 200) * 4294967296 + Math.floor(random() * 3);
      const entry = index.find(key);
      expect(entry === NO_ENTRY ? undefined : entry).toBe(live.get(key));
      if (entry !== NO_ENTRY) {
        index.delete(entry);
        live.delete(key);
      } else if (!index.full) {
        live.set(key, index.add(key));
      }
    }
    for (const [key, entry] of live) expect(index.find(key)).toBe(entry);
  });
});

describe('SlotHeap', () => {
  it('keeps the smallest (or largest) key on top through updates and removals', () => {
    const random = rng(3);
    for (const largestFirst of [false, true]) {
      const heap = new SlotHeap(50, largestFirst);
      const keys = new Map<number, number>();
      for (let step = 0; step < 5000; step++) {
        const slot = Math.floor(random() * 50);
        const key = Math.floor(random() * 1000);
        if (!heap.has(slot)) {
          heap.push(slot, key);
          keys.set(slot, key);
        } else if (random() < 0.5) {
          heap.update(slot, key);
          keys.set(slot, key);
        } else {
          heap.remove(slot);
          keys.delete(slot);
        }
        expect(heap.size).toBe(keys.size);
        if (keys.size > 0) {
          const values = [...keys.values()];
          const best = largestFirst ? Math.max(...values) : Math.min(...values);
          expect(keys.get(heap.top())).toBe(best);
        }
      }
    }
  });
});

// ------------------------------------------------------------------ SIEVE

describe('sieve (§5.8)', () => {
  it('the hand clears visited bits without moving pages, and stays where it stopped', () => {
    const policy = new SievePolicy(8);
    insertAll(policy, [0, 1, 2, 3]); // oldest → newest
    expect(policy.inactiveCount).toBe(4);
    expect(policy.access(1)).toBe(true);
    expect(policy.access(3)).toBe(true);
    expect(policy.access(1)).toBe(false);
    expect(policy.reactivations).toBe(2);
    // Hand starts at the oldest: 0 is unvisited → evicted; the hand stays at 1.
    expect(policy.victim()).toBe(0);
    // 1 is visited: cleared, not moved; 2 is evicted; the hand stays at 3.
    expect(policy.victim()).toBe(2);
    expect(policy.inactiveCount).toBe(1);
    insertAll(policy, [4]); // newest
    // 3 is visited: cleared; the new page 4 is next and unvisited: it goes before the older 1.
    expect(policy.victim()).toBe(4);
    // The hand fell off the newest end: it starts again at the oldest, 1 (cleared before).
    expect(drainVictims(policy)).toEqual([1, 3]);
  });

  it('wraps from the newest page to the oldest', () => {
    const policy = new SievePolicy(4);
    insertAll(policy, [0, 1, 2]);
    for (const slot of [0, 1, 2]) policy.access(slot);
    expect(policy.activeCount).toBe(3);
    expect(policy.victim()).toBe(0);
    expect(policy.inactiveCount).toBe(2);
  });

  it('removing the page under the hand moves the hand to its newer neighbour', () => {
    const policy = new SievePolicy(8);
    insertAll(policy, [0, 1, 2, 3]);
    policy.access(1);
    expect(policy.victim()).toBe(0); // hand now at 1
    policy.remove(1); // hand → 2
    policy.access(2);
    // From 2 (visited: cleared) to 3: evicted.
    expect(policy.victim()).toBe(3);
    expect(drainVictims(policy)).toEqual([2]);
  });
});

// ------------------------------------------------------------------ LRU-K

describe('lruk (LRU-2, §5.9)', () => {
  it('pages seen once go first, oldest insert first; then the oldest second-to-last access', () => {
    const policy = new LruKPolicy(8);
    insertAll(policy, [0, 1, 2]); // t = 1, 2, 3
    expect(policy.inactiveCount).toBe(3);
    expect(policy.access(1)).toBe(true); // t4: 1 has 2 accesses → ranked by t2
    expect(policy.access(0)).toBe(true); // t5: ranked by t1
    expect(policy.activeCount).toBe(2);
    expect(policy.reactivations).toBe(2);
    expect(policy.victim()).toBe(2); // the FIFO first, even though 2 is the newest
    expect(policy.victim()).toBe(0); // K-th most recent: 0 at t1, 1 at t2
    expect(policy.victim()).toBe(1);
  });

  it('ranks by the second most recent access, not the last one (unlike LRU)', () => {
    const policy = new LruKPolicy(8);
    insertAll(policy, [0, 1]); // t1, t2
    policy.access(0); // t3: 0 → (t1, t3)
    policy.access(1); // t4: 1 → (t2, t4)
    policy.access(1); // t5: 1 → (t4, t5)
    policy.access(0); // t6: 0 → (t3, t6)
    // LRU would evict 1 (last used at t5 < t6); LRU-2 compares t3 with t4.
    expect(policy.victim()).toBe(0);
  });

  it('a prefetched page waits at the FIFO\'s oldest end; its first use puts it at the newest end', () => {
    const policy = new LruKPolicy(8);
    insertAll(policy, [0, 1]);
    insertAll(policy, [2], INSERT_PREFETCH);
    expect(policy.access(2)).toBe(false); // one access: still in the FIFO, now newest
    expect(policy.victim()).toBe(0);
    expect(policy.access(2)).toBe(true); // second access: ranked
    expect(drainVictims(policy)).toEqual([1, 2]);
  });

  it('history goes with the page: a page evicted and re-inserted starts over', () => {
    const policy = new LruKPolicy(2);
    insertAll(policy, [0]);
    policy.access(0);
    expect(policy.victim()).toBe(0);
    policy.insert(0, 100, 0);
    expect(policy.activeCount).toBe(0);
    expect(policy.inactiveCount).toBe(1);
  });
});

// ------------------------------------------------------------------ S3-FIFO

describe('s3fifo (§5.7)', () => {
  it('a page in S with f ≥ 2 moves to M (the reactivation); one with f < 2 is evicted to G', () => {
    const policy = new S3FifoPolicy(20); // Cs = 2, Cm = 18, |G| ≤ 18
    insertAll(policy, [0, 1, 2]);
    expect(policy.inactiveCount).toBe(3);
    expect(policy.access(0)).toBe(false); // hits move nothing and never count here
    policy.access(0);
    policy.access(1); // f1 = 1 < 2
    expect(policy.victim()).toBe(1);
    expect(policy.reactivations).toBe(1);
    expect(policy.activeCount).toBe(1); // 0 in M
    // 1's id is in G: its next miss goes to M.
    policy.miss(101);
    policy.insert(1, 101, 0);
    expect(policy.activeCount).toBe(2);
    // A miss not in G goes to S.
    policy.miss(150);
    policy.insert(5, 150, 0);
    expect(policy.inactiveCount).toBe(2);
  });

  it('threshold 1 (s3fifo1) promotes after a single hit', () => {
    const two = new S3FifoPolicy(20, 20, 2);
    const one = new S3FifoPolicy(20, 20, 1);
    for (const policy of [two, one]) {
      insertAll(policy, [0, 1]);
      policy.access(0);
    }
    expect(two.victim()).toBe(0);
    expect(one.victim()).toBe(1);
    expect(one.name).toBe('s3fifo1');
  });

  it('M is a 2-bit CLOCK: f = min(f, 3) − 1 on each pass; f counts every hit, uncapped', () => {
    const policy = new S3FifoPolicy(20);
    insertAll(policy, [0, 1, 2, 3]);
    for (const slot of [0, 0, 1, 1, 2, 2, 3, 3]) policy.access(slot);
    // S empties into M (4 reactivations, f reset to 0), then M evicts its oldest with f = 0.
    expect(policy.victim()).toBe(0);
    expect(policy.reactivations).toBe(4);
    for (let i = 0; i < 5; i++) policy.access(1); // f1 = 5
    policy.access(2); // f2 = 1
    // 1: 5 → 2, reinserted; 2: 1 → 0, reinserted; 3 (f 0) evicted.
    expect(policy.victim()).toBe(3);
    // 1: 2 → 1; 2 (f 0) evicted.
    expect(policy.victim()).toBe(2);
    expect(policy.victim()).toBe(1);
  });

  it('evicts from M while M holds more than Cm pages, even with pages in S', () => {
    const policy = new S3FifoPolicy(20); // Cm = 18
    for (let slot = 0; slot < 19; slot++) {
      policy.miss(500 + slot); // no ghost: S
      policy.insert(slot, 500 + slot, 0);
      policy.access(slot);
      policy.access(slot);
    }
    // All 19 in S with f = 2: the first victim() moves them all to M and evicts M's oldest.
    expect(policy.victim()).toBe(0);
    policy.insert(19, 999, 0); // S
    expect(policy.inactiveCount).toBe(1);
    // |M| = 18 = Cm: S goes first.
    expect(policy.victim()).toBe(19);
  });

  it('G is a FIFO of floor(0.9 C) ids; an id already in G stays where it is', () => {
    const policy = new S3FifoPolicy(20); // |G| ≤ 18
    for (let round = 0; round < 20; round++) {
      policy.insert(0, 1000 + round, 0);
      expect(policy.victim()).toBe(0); // to G
    }
    // Ids 1000, 1001 were dropped from G (20 ids, room for 18); 1002 is still there.
    policy.miss(1000);
    policy.insert(0, 1000, 0);
    expect(policy.activeCount).toBe(0);
    policy.remove(0);
    policy.miss(1002);
    policy.insert(0, 1002, 0);
    expect(policy.activeCount).toBe(1);
  });

  it('a prefetched page goes to the oldest end of S', () => {
    const policy = new S3FifoPolicy(20);
    insertAll(policy, [0, 1]);
    insertAll(policy, [2], INSERT_PREFETCH);
    expect(policy.victim()).toBe(2);
  });

  it('libCacheSim caches nothing while Cs < 2 (C < 20): canInsert refuses', () => {
    expect(new S3FifoPolicy(19).canInsert()).toBe(false);
    expect(new S3FifoPolicy(20).canInsert()).toBe(true);
    const ids = [1, 2, 1, 2, 3, 1, 2, 3];
    expect(misses('s3fifo', ids, 19)).toBe(ids.length);
    expect(misses('s3fifo', ids, 20)).toBe(3);
  });
});

// ------------------------------------------------------------------ 2Q

describe('2q (§5.5)', () => {
  it('A1in is a FIFO hits do not touch; pushed-out ids go to A1out (Kout = C/2); a return goes to Am', () => {
    const policy = new TwoQPolicy(4); // Kin 1, Kout 2, Am 3
    insertAll(policy, [0, 1, 2, 3]);
    expect(policy.access(0)).toBe(false); // nothing moves
    expect(policy.inactiveCount).toBe(4);
    // |A1in| > Kin: A1in's oldest goes, its id to A1out.
    expect(policy.victim()).toBe(0);
    expect(policy.victim()).toBe(1);
    expect(policy.victim()).toBe(2); // A1out holds 2 ids: 100 dropped, 101 102 kept
    policy.miss(100); // dropped from A1out: a new page
    policy.insert(0, 100, 0);
    expect(policy.activeCount).toBe(0);
    policy.miss(101); // in A1out: to Am
    expect(policy.needsRoom()).toBe(false); // Am is empty
    policy.insert(1, 101, 0);
    expect(policy.activeCount).toBe(1);
    expect(policy.reactivations).toBe(0); // no resident page moved from A1in to Am
  });

  it('while |A1in| ≤ Kin, Am gives up its LRU page; Am.get makes room below C − Kin (needsRoom)', () => {
    const policy = new TwoQPolicy(4, 8); // Kin 1, Kout 2, Am 3
    insertAll(policy, [0, 1, 2, 3]); // A1in: 0 1 2 3
    expect(policy.victim()).toBe(0); // |A1in| > Kin: A1in's oldest, id to A1out
    expect(policy.victim()).toBe(1); // A1out: 100 101
    for (const slot of [0, 1]) {
      policy.miss(100 + slot);
      expect(policy.needsRoom()).toBe(false);
      policy.insert(slot, 100 + slot, 0); // back from A1out: Am
    }
    policy.access(0); // Am: 1 0
    expect(policy.access(2)).toBe(false); // A1in: nothing moves
    expect(policy.victim()).toBe(2); // A1in 2 3: |A1in| > Kin; A1out: 102
    policy.insert(4, 104, 0);
    expect(policy.victim()).toBe(3); // A1in 3 4; A1out: 102 103
    policy.miss(102);
    expect(policy.needsRoom()).toBe(false); // |Am| = 2 < C − Kin
    policy.insert(2, 102, 0); // Am: 1 0 2, A1in: 4
    expect(policy.victim()).toBe(1); // |A1in| = 1 ≤ Kin: Am's LRU
    policy.insert(1, 201, 0);
    expect(policy.victim()).toBe(4); // A1in 4 1; A1out: 103 104
    policy.miss(103);
    policy.insert(3, 103, 0); // Am: 0 2 3
    policy.remove(1); // the cache is not full now: 3 pages
    policy.miss(104);
    // Am.get: |Am| = 3 ≥ C − Kin, so Am's LRU goes although the cache has room.
    expect(policy.needsRoom()).toBe(true);
    expect(policy.victim()).toBe(0);
    expect(policy.needsRoom()).toBe(false);
    policy.insert(4, 104, 0);
    expect(policy.activeCount).toBe(3);
    expect(drainVictims(policy)).toEqual([2, 3, 4]);
  });

  it('caches nothing below C = 4 in the replay (Kin < 1)', () => {
    expect(misses('2q', [1, 1, 1, 2, 2], 3)).toBe(5);
    expect(misses('2q', [1, 1, 1, 2, 2], 4)).toBe(2);
  });
});

// ------------------------------------------------------------------ ARC

describe('arc (§5.4)', () => {
  it('a hit in T1 moves the page to T2 (the reactivation); REPLACE sends T1 pages above p to B1', () => {
    const policy = new ArcPolicy(4);
    insertAll(policy, [0, 1, 2, 3]);
    expect(policy.inactiveCount).toBe(4);
    expect(policy.access(0)).toBe(true);
    expect(policy.access(0)).toBe(false);
    expect(policy.activeCount).toBe(1);
    // Complete miss: |T1| + |B1| + 1 = 4 ≤ C; REPLACE: |T1| = 3 > p = 0: T1's LRU → B1.
    expect(policy.victim()).toBe(1);
    // A ghost hit in B1 raises p by max(|B2|/|B1|, 1) = 1.
    policy.miss(101);
    expect(policy.target).toBe(1);
    // REPLACE: |T1| = 2 > p = 1: T1's LRU, 2, → B1; the page enters T2.
    expect(policy.victim()).toBe(2);
    policy.insert(1, 101, 0);
    expect(policy.activeCount).toBe(2);
    expect(policy.inactiveCount).toBe(1);
  });

  it('a ghost hit in B2 lowers p; at |T1| = p a B2 hit still takes T1\'s page', () => {
    const policy = new ArcPolicy(4);
    insertAll(policy, [0, 1, 2, 3]);
    for (const slot of [0, 1, 2, 3]) policy.access(slot); // all in T2
    // T1 empty: REPLACE takes T2's LRU → B2.
    expect(policy.victim()).toBe(0);
    policy.miss(999); // not a ghost
    policy.insert(0, 999, 0); // T1
    policy.miss(100); // B2 hit: p = max(0 − 1, 0) = 0
    expect(policy.target).toBe(0);
    // |T1| = 1 > p = 0: T1's page goes to B1.
    expect(policy.victim()).toBe(0);
    policy.insert(0, 100, 0); // T2
    expect(policy.activeCount).toBe(4);
  });

  it('a complete miss with |T1| + |B1| = C drops T1\'s LRU page without a ghost when B1 is empty', () => {
    const policy = new ArcPolicy(3);
    insertAll(policy, [0, 1, 2]);
    expect(policy.victim()).toBe(0); // |T1| = 3: no ghost
    policy.miss(100);
    policy.insert(0, 100, 0);
    expect(policy.activeCount).toBe(0); // 100 was not remembered: T1
  });

  it('a prefetched page enters T1 at its LRU end', () => {
    const policy = new ArcPolicy(8);
    insertAll(policy, [0, 1]);
    insertAll(policy, [2], INSERT_PREFETCH);
    expect(policy.victim()).toBe(2);
  });
});

// ------------------------------------------------------------------ LIRS

describe('lirs (§5.6)', () => {
  it('LIR hits, a resident HIR block in S becoming LIR, evictHIR and non-resident blocks coming back as LIR', () => {
    const policy = new LirsPolicy(3, 8); // hirs_limit 1, lirs_limit 2
    insertAll(policy, [0, 1]); // LIR: the LIR set has room
    insertAll(policy, [2]); // HIR: on S and Q
    expect(policy.activeCount).toBe(2);
    expect(policy.inactiveCount).toBe(1);
    expect(policy.access(0)).toBe(false); // LIR hit: S = 1 2 0 (bottom first)
    // HIR block 2 is in S: it becomes LIR; the bottom LIR, 1, is demoted to Q.
    expect(policy.access(2)).toBe(true);
    expect(policy.reactivations).toBe(1);
    expect(policy.activeCount).toBe(2);
    expect(policy.inactiveCount).toBe(1); // 1, in Q only
    // A new block with both sets full: evictHIR makes room in Q first (can_insert).
    policy.miss(103);
    expect(policy.evicted()).toBe(1); // 1 was on Q only: gone entirely
    expect(policy.evicted()).toBe(NIL);
    policy.insert(3, 103, 0); // HIR on S and Q
    policy.miss(104);
    expect(policy.evicted()).toBe(3); // 3 is on S: it stays there, non-resident
    policy.insert(4, 104, 0);
    // 103 is a non-resident block of S: its miss demotes the bottom LIR (0) into Q,
    // which evicts Q's resident 104 (its entry on S becomes non-resident too).
    policy.miss(103);
    expect(policy.evicted()).toBe(4);
    expect(policy.canInsert()).toBe(true);
    expect(policy.needsRoom()).toBe(false);
    policy.insert(3, 103, 0);
    expect(policy.activeCount).toBe(2); // 2 and 103
    expect(policy.inactiveCount).toBe(1); // 0
    expect(policy.victim()).toBe(0); // Q's LRU
  });

  it('a hit on a block only in Q keeps it HIR, demotes a LIR block (libCacheSim) and may evict during the hit', () => {
    const policy = new LirsPolicy(300); // hirs_limit 3, lirs_limit 297
    // 0..296 become LIR (the LIR set fills), 297..299 resident HIR on S and Q.
    for (let slot = 0; slot < 300; slot++) policy.insert(slot, 100 + slot, 0);
    expect(policy.activeCount).toBe(297);
    // A prefetched page is a resident HIR block on Q alone (at its LRU end): Q = 297 298 299.
    policy.remove(297);
    policy.insert(297, 397, INSERT_PREFETCH);
    // A hit on it: Q's MRU end, and (LIR set full) S's bottom LIR block, 0, is demoted into
    // Q, which is full: Q's LRU block, 298, is evicted during the hit. 297 stays HIR, now on S.
    expect(policy.access(297)).toBe(false);
    expect(policy.evicted()).toBe(298);
    expect(policy.evicted()).toBe(NIL);
    expect(policy.activeCount).toBe(296);
    expect(policy.inactiveCount).toBe(3); // 299 297 0
    // On S now, its next hit makes it LIR.
    expect(policy.access(297)).toBe(true);
  });

  it('stays exact where libCacheSim keeps an uncounted block (hirs_limit 1): the replay gives it spare slots', () => {
    expect(policyFactory('lirs')?.replaySlots?.(50)).toBeGreaterThan(50);
    // Any trace: the replay never runs out of slots, and every page is inserted.
    const random = rng(11);
    const ids = Array.from({ length: 3000 }, () => Math.floor(random() * random() * 40));
    const m = misses('lirs', ids, 10);
    expect(m).toBeGreaterThanOrEqual(new Set(ids).size);
    expect(m).toBeLessThan(ids.length);
  });

  it('caches nothing at C = 1 in the replay (lirs_limit 0)', () => {
    expect(misses('lirs', [1, 1, 1], 1)).toBe(3);
  });
});

// ------------------------------------------------------------------ S4LRU

describe('slru (S4LRU(25:25:25:25), §5.10)', () => {
  it('misses fill the lowest segment with room; a hit promotes one segment; overflow demotes one down', () => {
    const policy = new SlruPolicy(8); // segments of 2
    insertAll(policy, [0, 1, 2, 3, 4, 5, 6, 7]); // s0: 0 1, s1: 2 3, s2: 4 5, s3: 6 7
    expect(policy.inactiveCount).toBe(2);
    expect(policy.activeCount).toBe(6);
    expect(policy.access(0)).toBe(true); // s0 → s1; s1's LRU, 2, down to s0
    expect(policy.access(6)).toBe(false); // top segment: MRU end
    expect(policy.access(4)).toBe(false); // s2 → s3; s3's LRU, 7, down to s2
    expect(policy.reactivations).toBe(1);
    // Lowest non-empty segment first, LRU first: s0 = 1 2, s1 = 3 0, s2 = 5 7, s3 = 6 4.
    expect(drainVictims(policy)).toEqual([1, 2, 3, 0, 5, 7, 6, 4]);
  });

  it('when 4 does not divide C, segment 0 holds one page more, and a cascade evicts during a hit', () => {
    const policy = new SlruPolicy(9); // segments of 2; 8 < 9
    insertAll(policy, [0, 1, 2, 3, 4, 5, 6, 7, 8]); // no segment has room: 8 goes to s0 (3 pages)
    expect(policy.inactiveCount).toBe(3);
    // 8 → s1 (3 > 2): s1's LRU, 2, → s0 (3 > 2): segment 0's LRU, 0, is evicted.
    expect(policy.access(8)).toBe(true);
    expect(policy.has(0)).toBe(true); // still held until handed out
    expect(policy.inactiveCount).toBe(3); // 1, 2 and the evicted 0
    expect(policy.evicted()).toBe(0);
    expect(policy.has(0)).toBe(false);
    expect(policy.evicted()).toBe(NIL);
  });

  it('live (evicted() never called): the page evicted during a hit is the next victim', () => {
    const policy = new SlruPolicy(9);
    insertAll(policy, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    policy.access(8);
    expect(policy.victim()).toBe(0);
    // A page evicted during a hit but used again before the daemon took it comes back like a miss.
    const other = new SlruPolicy(9);
    insertAll(other, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    other.access(8);
    expect(other.access(0)).toBe(false);
    expect(other.size).toBe(9);
    checkCounts(other);
  });

  it('a prefetched page goes to the LRU end of segment 0', () => {
    const policy = new SlruPolicy(8);
    insertAll(policy, [0, 1]);
    insertAll(policy, [2], INSERT_PREFETCH);
    expect(policy.victim()).toBe(2);
  });

  it('caches nothing below C = 4 in the replay', () => {
    expect(misses('slru', [1, 1, 2, 2], 3)).toBe(4);
    expect(misses('slru', [1, 1, 2, 2], 4)).toBe(2);
  });
});

// ------------------------------------------------------------------ Belady

describe('belady (§5.11)', () => {
  it('reproduces the optimal miss counts of Belady\'s example', () => {
    const ids = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
    // OPT, capacity 3: 1 2 3 M, 4 M(-3), 1 H, 2 H, 5 M(-4... 1 2 are next: evict 4), 1 H, 2 H, 3 M, 4 M, 5 H = 7.
    expect(misses('belady', ids, 3)).toBe(7);
    expect(misses('belady', ids, 4)).toBe(6);
  });

  it('evicts the page asked for furthest in the future; unknown future counts as never', () => {
    const policy = new BeladyPolicy(4);
    policy.nextAccess(0, 10);
    policy.insert(0);
    policy.nextAccess(1, 5);
    policy.insert(1);
    policy.insert(2); // no nextAccess: never again
    expect(policy.victim()).toBe(2);
    policy.nextAccess(1, 20);
    expect(policy.victim()).toBe(1);
    expect(policy.activeCount).toBe(1);
    expect(policy.inactiveCount).toBe(0);
  });
});

// ------------------------------------------------------------------ live fuzz

describe.each([...NEW_LIVE])('policy %s, live use', (name) => {
  it('over capacity, ghost keys coming back, prefetch, removes, evicted() never called: victims are always tracked pages', () => {
    const capacity = 12;
    const slots = 20;
    const policy = createPolicy(name, capacity, slots);
    const random = rng(0xbeef + name.length * 31);
    const slotOfKey = new Map<number, number>();
    const keyOfSlot = new Map<number, number>();
    const untrack = (slot: number): void => {
      const key = keyOfSlot.get(slot);
      if (key === undefined) throw new Error(`slot ${slot} was not tracked`);
      keyOfSlot.delete(slot);
      slotOfKey.delete(key);
    };
    for (let step = 0; step < 6000; step++) {
      const r = random();
      const key = Math.floor(random() * 40) * 4294967296 + Math.floor(random() * 3);
      const slot = slotOfKey.get(key);
      if (slot !== undefined && r < 0.55) {
        const before = policy.reactivations;
        const counted = policy.access(slot);
        expect(policy.reactivations).toBe(before + (counted ? 1 : 0));
      } else if (slot === undefined && r < 0.55 && keyOfSlot.size < slots) {
        // A page comes in: miss() then insert(), as Kernel.pageIn does; no eviction in between.
        const free = [...Array(slots).keys()].filter((s) => !keyOfSlot.has(s));
        const next = free[Math.floor(random() * free.length)];
        policy.miss?.(key);
        policy.insert(next, key, random() < 0.2 ? INSERT_PREFETCH : 0);
        slotOfKey.set(key, next);
        keyOfSlot.set(next, key);
      } else if (r < 0.62 && keyOfSlot.size > 0) {
        const members = [...keyOfSlot.keys()];
        const victimSlot = members[Math.floor(random() * members.length)];
        policy.remove(victimSlot);
        untrack(victimSlot);
      } else {
        // The pageout daemon evicts ahead of time, often several in a row.
        const burst = 1 + Math.floor(random() * 4);
        for (let i = 0; i < burst; i++) {
          const v = policy.victim();
          if (keyOfSlot.size === 0) {
            expect(v).toBe(NIL);
            break;
          }
          expect(keyOfSlot.has(v)).toBe(true);
          untrack(v);
        }
      }
      expect(policy.size).toBe(keyOfSlot.size);
      checkCounts(policy);
      if (step % 97 === 0) for (let s = 0; s < slots; s++) expect(policy.has(s)).toBe(keyOfSlot.has(s));
    }
    // Everything left comes out, once each.
    const rest = drainVictims(policy);
    expect([...rest].sort((a, b) => a - b)).toEqual([...keyOfSlot.keys()].sort((a, b) => a - b));
    expect(policy.size).toBe(0);
  });

  it('a policy rebuilt for a smaller cache takes more pages than its capacity (a shrink in progress)', () => {
    const policy = createPolicy(name, 4, 10);
    for (let slot = 0; slot < 10; slot++) policy.insert(slot, 100 + slot, slot % 3 === 0 ? INSERT_PREFETCH : 0);
    for (let slot = 0; slot < 10; slot += 2) policy.access(slot);
    expect(policy.size).toBe(10);
    checkCounts(policy);
    expect([...drainVictims(policy)].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });
});

// ------------------------------------------------------------------ the live kernel

describe.each([...NEW_LIVE])('policy %s drives the live kernel', (name) => {
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('evicts through the pageout daemon, survives a shrink and a grow, and hands its pages to another policy', async () => {
    s = setup({ cacheSize: 48 * PAGE, policy: name });
    const kernel = s.kernel;
    expect(kernel.statistics().policy).toBe(name);
    const w = await s.map();
    // Far more pages than frames, written then read twice in a scrambled order (hits, misses, ghosts).
    for (let i = 0; i < 150; i++) expect((await w.write(i * PAGE, pattern(1, i))).error).toBe(0);
    for (const round of [0, 1]) {
      for (const i of scrambled(150)) {
        const r = await w.read(i * PAGE, PAGE);
        expect(r.error).toBe(0);
        expect(r.data.equals(pattern(1, i))).toBe(true);
        if (round === 1 && i % 5 === 0) await w.read(i * PAGE, PAGE); // re-reference some
      }
    }
    await settle();
    let st = kernel.statistics();
    expect(st.evictions_clean + st.evictions_dirty).toBeGreaterThan(100);
    expect(st.active_count + st.inactive_count).toBe(kernel.policy.size);
    expect(framesAccountedFor(kernel)).toBe(true);
    // Shrink while pages are resident: the daemon evicts in the policy's order.
    await kernel.resize(16 * PAGE);
    expect(w.object.residentCount).toBeLessThanOrEqual(16);
    expect(kernel.statistics().policy).toBe(name);
    await kernel.resize(40 * PAGE);
    for (const i of scrambled(60)) expect((await w.read(i * PAGE, PAGE)).data.equals(pattern(1, i))).toBe(true);
    // Switch to another policy and back: every resident page is kept.
    const resident = w.object.residentCount;
    kernel.setPolicy('mach');
    expect(kernel.policy.size).toBe(resident);
    kernel.setPolicy(name);
    expect(kernel.policy.size).toBe(resident);
    for (let i = 0; i < 150; i++) expect((await w.read(i * PAGE, PAGE)).data.equals(pattern(1, i))).toBe(true);
    await settle();
    st = kernel.statistics();
    expect(st.active_count + st.inactive_count).toBe(kernel.policy.size);
    expect(framesAccountedFor(kernel)).toBe(true);
    w.deallocate();
  });
});
