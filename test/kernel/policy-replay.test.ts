/**
 * The policies replayed on the real trace of cache-policies.md: every cell
 * of its cloudPhysicsIO table, exact miss counts (not rounded ratios).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyFactory } from '../../kernel/policy/registry.js';
import { replay, type Trace } from '../../kernel/policy/replay.js';
import { parseTrace, TraceFormatError } from '../../kernel/policy/trace.js';

const TRACE = path.resolve(import.meta.dirname, '../fixtures/traces/cloudPhysicsIO.txt');
const CAPACITIES = [489, 2448, 4897, 12243] as const;

/** cache-policies.md, "cloudPhysicsIO (113,872 req): exact miss counts". */
const TABLE: Record<string, readonly [number, number, number, number]> = {
  lru: [95420, 93897, 91657, 76538],
  fifo: [96518, 94122, 91716, 77971],
  clock: [95332, 93829, 91599, 77041],
  clock2: [95181, 93714, 91531, 77150],
  arc: [94229, 92392, 88002, 69901],
  '2q': [94573, 92813, 88160, 72818],
  lirs: [94680, 92673, 85609, 70184],
  s3fifo: [94559, 91396, 85691, 74318],
  s3fifo1: [94346, 91392, 85066, 69646],
  sieve: [94419, 93052, 90040, 75430],
  lruk: [96547, 93052, 90040, 75430],
  slru: [94590, 93530, 90011, 78120],
  belady: [90263, 80078, 71620, 59600],
};

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
