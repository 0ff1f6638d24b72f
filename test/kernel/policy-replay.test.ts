/**
 * The policies replayed on the real trace of cache-policies.md: every cell
 * of its cloudPhysicsIO table, exact miss counts (not rounded ratios).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyFactory } from '../../kernel/policy/registry.js';
import { replay, type Trace } from '../../kernel/policy/replay.js';
import { parseTrace, TraceFormatError } from '../../kernel/policy/trace.js';
import { CLOUD_PHYSICS, CLOUD_PHYSICS_CAPACITIES, CLOUD_PHYSICS_MISSES } from '../fixtures/traces/cloud-physics.js';

const TRACE = CLOUD_PHYSICS;
const CAPACITIES = CLOUD_PHYSICS_CAPACITIES;
const TABLE = CLOUD_PHYSICS_MISSES;

let trace: Trace | undefined;
function cloudPhysics(): Trace {
  trace ??= parseTrace(readFileSync(TRACE, 'utf8'));
  return trace;
}

describe('the cloudPhysicsIO trace', () => {
  it('has the reference figures: 113,872 requests, 48,974 distinct pages; C = floor(fraction × WSS)', () => {
    const t = cloudPhysics();
    expect(t.ids.length).toBe(113872);
    expect(t.distinct).toBe(48974);
    expect([0.01, 0.05, 0.1, 0.25].map((f) => Math.floor(f * t.distinct))).toEqual([...CAPACITIES]);
  });
});

describe.each(Object.entries(TABLE))('%s reproduces the reference miss counts', (name, misses) => {
  const factory = policyFactory(name);
  it.each(CAPACITIES.map((c, i) => [c, misses[i]] as const))('C=%i: %i misses', (capacity, expected) => {
    if (!factory) throw new Error(`no policy ${name}`);
    const result = replay(cloudPhysics(), factory, capacity);
    expect(result.requests).toBe(113872);
    expect(result.misses).toBe(expected);
  });
});

describe('trace text', () => {
  it('takes ids and op,id lines; skips blanks and comments; makes ids dense', () => {
    const t = parseTrace('# a trace\n7\nr,9\n\nw, 7\n100000000000\n');
    expect([...t.ids]).toEqual([0, 1, 0, 2]);
    expect(t.distinct).toBe(3);
  });

  it('names the line of a bad entry', () => {
    expect(() => parseTrace('1\n2\nx\n')).toThrow(TraceFormatError);
    expect(() => parseTrace('1\n2\nx\n')).toThrow(/^line 3: "x" is not a page id/);
    expect(() => parseTrace('1\n99999999999999999999\n')).toThrow(/line 2: .*larger than 2\^53/);
  });
});
