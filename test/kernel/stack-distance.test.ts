/**
 * The one-pass LRU curve (Mattson's stack distances, kernel/policy/stack-distance.ts)
 * against the replay of the LRU policy one cache size at a time: equal miss
 * counts at every point, on the shared cloudPhysicsIO trace and on seeded
 * Zipf and scan-mix traces; the renumbering of times (a tree bounded by the
 * keys, not by the trace), byte weights, and forgetting a key.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DistanceHistogram, StackDistances, lruHistogram } from '../../kernel/policy/stack-distance.js';
import { replay, type Trace } from '../../kernel/policy/replay.js';
import { policyFactory } from '../../kernel/policy/registry.js';
import { TraceBuilder, parseTrace } from '../../kernel/policy/trace.js';
import { curveSizes, DEFAULT_CURVE } from '../../daemon/cli/sim/plan.js';
import { scanMixStream, take, zipfStream } from '../../bench/synthetic-traces.js';
import { CLOUD_PHYSICS } from '../fixtures/traces/cloud-physics.js';

const LRU = (() => {
  const f = policyFactory('lru');
  if (!f) throw new Error('no lru policy');
  return f;
})();

function traceOf(ids: Float64Array): Trace {
  const b = new TraceBuilder();
  for (const id of ids) b.add(id);
  return b.build();
}

/** Every point of the default curve, plus 1 page and the whole working set. */
function sizesOf(trace: Trace): number[] {
  return [...new Set([1, 2, ...curveSizes(DEFAULT_CURVE, trace.distinct), trace.distinct])].sort((a, b) => a - b);
}

function expectOnePassEqualsReplay(trace: Trace): void {
  const sizes = sizesOf(trace);
  const onePass = lruHistogram(trace.ids, trace.distinct).misses(sizes);
  const replayed = sizes.map((c) => replay(trace, LRU, c).misses);
  expect(onePass).toEqual(replayed);
}

describe('one-pass LRU curve = LRU replayed per size, at every point', () => {
  it('cloudPhysicsIO (113,872 requests)', () => {
    expectOnePassEqualsReplay(parseTrace(readFileSync(CLOUD_PHYSICS, 'utf8')));
  });

  it('a seeded Zipf trace (200,000 requests, α 0.9)', () => {
    expectOnePassEqualsReplay(traceOf(take(zipfStream({ seed: 7, pages: 50_000, alpha: 0.9 }), 200_000)));
  });

  it('a seeded scan mix (200,000 requests: Zipf broken by scans of cold pages)', () => {
    expectOnePassEqualsReplay(traceOf(take(scanMixStream({ seed: 11, pages: 30_000, alpha: 1.0, scanChance: 0.002, scanLength: 500, scanPages: 100_000 }), 200_000)));
  });
});

describe('StackDistances', () => {
  it('distances by hand: 1 2 3 1 4 1 2', () => {
    const s = new StackDistances(16);
    expect([1, 2, 3, 1, 4, 1, 2].map((k) => s.access(k))).toEqual([-1, -1, -1, 2, -1, 1, 3]);
    expect(s.size).toBe(4);
  });

  it('times are renumbered: a tree sized for 16 keys serves a long trace over them', () => {
    const s = new StackDistances(16);
    const h = new DistanceHistogram();
    const ids = new Int32Array(100_000);
    for (let i = 0; i < ids.length; i++) ids[i] = (i * 7) % 13;
    for (const id of ids) h.record(s.access(id));
    const trace: Trace = { ids, distinct: 13 };
    expect(h.misses([5, 12, 13])).toEqual([5, 12, 13].map((c) => replay(trace, LRU, c).misses));
  });

  it('weights: the distance counts the bytes of the pages used since', () => {
    const s = new StackDistances();
    s.access(0, 100);
    s.access(1, 4000);
    s.access(2, 50);
    expect(s.access(0, 100)).toBe(4050);
  });

  it('forget: the key is new again, and no longer counted in others\' distances', () => {
    const s = new StackDistances();
    s.access(0);
    s.access(1);
    s.access(2);
    s.forget(1);
    expect(s.access(0)).toBe(1);
    expect(s.access(1)).toBe(-1);
    expect(s.size).toBe(3);
  });
});
