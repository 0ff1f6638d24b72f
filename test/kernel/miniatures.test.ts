/**
 * Miniature simulations fed request by request (kernel/policy/mini-cache.ts,
 * miniatures.ts), as the daemon keeps them for its live curves:
 *
 * - a MiniCache fed a whole trace one request at a time misses exactly as
 *   replay() does, for every policy of the registry that can run live;
 * - a resize keeps the pages the old cache would have evicted last;
 * - beside a fixed-size SHARDS sample (4096 pages, as the daemon's) whose
 *   rate falls as a seeded trace's working set grows past it, the
 *   miniatures of mach, clock, arc and 2q stay within 0.05 of each
 *   policy's exact curve at 4 sizes (the test prints the error measured:
 *   on these seeds, rate 1/16 with 2406 and 2955 pages, worst 0.027 on the
 *   Zipf trace and 0.018 on the scan mix, both at the smallest size).
 */
import { describe, expect, it } from 'vitest';
import { MiniatureSimulations, MiniCache, policyFactories, policyFactory, replay, Shards, TraceBuilder, type PolicyFactory, type Trace } from '../../kernel/index.js';
import { scanMixStream, take, zipfStream } from '../../bench/synthetic-traces.js';

function traceOf(ids: Float64Array): Trace {
  const b = new TraceBuilder();
  for (const id of ids) b.add(id);
  return b.build();
}

function factory(name: string): PolicyFactory {
  const f = policyFactory(name);
  if (!f) throw new Error(`no policy ${name}`);
  return f;
}

describe('MiniCache', () => {
  it('misses as replay() does, request by request, for every live policy', () => {
    const trace = traceOf(take(zipfStream({ seed: 21, pages: 3000, alpha: 0.9 }), 60_000));
    for (const f of policyFactories()) {
      for (const capacity of [10, 200, 1500]) {
        const cache = new MiniCache(f, capacity, trace.distinct);
        for (const id of trace.ids) cache.request(id, id);
        expect(cache.misses, `${f.name} at ${capacity}`).toBe(replay(trace, f, capacity).misses);
        expect(cache.requests).toBe(trace.ids.length);
      }
    }
  });

  it('resize keeps the pages last in the eviction order; drop forgets one', () => {
    const cache = new MiniCache(factory('lru'), 4, 10);
    for (const id of [1, 2, 3, 4, 1]) cache.request(id, id); // LRU order, oldest first: 2 3 4 1
    cache.resize(2);
    expect([1, 2, 3, 4].filter((id) => cache.has(id))).toEqual([1, 4]);
    expect(cache.request(4, 4)).toBe(true);
    expect(cache.request(2, 2)).toBe(false);
    cache.drop(4);
    expect(cache.has(4)).toBe(false);
    expect(cache.size).toBe(1);
  });
});

describe('MiniatureSimulations beside fixed-size SHARDS', () => {
  for (const [name, ids] of [
    ['zipf', take(zipfStream({ seed: 5, pages: 40_000, alpha: 0.8 }), 400_000)],
    ['scan mix', take(scanMixStream({ seed: 6, pages: 30_000, alpha: 0.8, scanChance: 0.0005, scanLength: 2000, scanPages: 20_000 }), 400_000)],
  ] as const) {
    it(`${name}: within 0.05 of the exact curves while the rate falls`, () => {
      const trace = traceOf(ids);
      const sizes = [500, 2000, 8000, 20_000];
      const policies = ['mach', 'clock', 'arc', '2q'].map(factory);
      const shards = new Shards({ rate: 1, maxPages: 4096 });
      const minis = new MiniatureSimulations(policies, sizes, 4096 + 2);
      minis.attach(shards);
      for (const id of ids) shards.access(id);
      expect(minis.rate).toBeLessThanOrEqual(shards.rate);
      expect(minis.rate).toBeGreaterThan(shards.rate / 2);
      expect(minis.pages).toBeLessThanOrEqual(shards.pages);
      const ratios = minis.missRatios(shards.requests);
      const gaps: string[] = [];
      let worst = 0;
      policies.forEach((f, p) => {
        sizes.forEach((c, k) => {
          const exact = replay(trace, f, c).misses / trace.ids.length;
          const gap = Math.abs((ratios[p]?.[k] ?? NaN) - exact);
          worst = Math.max(worst, gap);
          gaps.push(`${f.name}@${c} ${gap.toFixed(3)}`);
        });
      });
      process.stdout.write(`miniatures (${name}, rate ${minis.rate}, ${minis.pages} pages): worst ${worst.toFixed(4)}; ${gaps.join(', ')}\n`);
      expect(worst).toBeLessThanOrEqual(0.05);
    });
  }
});
