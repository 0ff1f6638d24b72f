/**
 * `sim --sample RATE` from the command line: the output says the rate and
 * the expected error, the cells are near the exact run's, stdin is sampled
 * within a bound (fixed-size SHARDS), and the options are checked.
 */
import { createReadStream } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SimCell } from '../../daemon/cli/sim/plan.js';
import { runInProcess } from './harness.js';
import { CLOUD_PHYSICS } from '../fixtures/traces/cloud-physics.js';

type SampledCell = SimCell & { sample_rate: number; expected_error: number };

afterEach(() => {
  vi.restoreAllMocks();
});

function sim(args: string[]): ReturnType<typeof runInProcess> {
  return runInProcess(['sim', ...args], { cwd: process.cwd() });
}

describe('sim --sample', () => {
  it('cloudPhysicsIO at rate 0.1: LRU by SHARDS, ARC by a miniature simulation, each within 0.03 of the exact curve', async () => {
    const exact = JSON.parse((await sim([CLOUD_PHYSICS, '--mrc', '--policy', 'lru,arc', '--mrc-points', '8', '--json'])).stdout) as SimCell[];
    const r = await sim([CLOUD_PHYSICS, '--mrc', '--policy', 'lru,arc', '--mrc-points', '8', '--sample', '0.1', '--json']);
    expect(r.code).toBe(0);
    const sampled = JSON.parse(r.stdout) as SampledCell[];
    expect(sampled).toHaveLength(exact.length);
    for (const c of sampled) {
      expect(c.sample_rate).toBe(0.1);
      expect(c.expected_error).toBeGreaterThan(0);
      expect(c.requests).toBe(113872);
    }
    for (const policy of ['lru', 'arc']) {
      const a = exact.filter((c) => c.policy === policy).map((c) => c.miss_ratio);
      const b = sampled.filter((c) => c.policy === policy).map((c) => c.miss_ratio);
      const mae = a.reduce((s, x, i) => s + Math.abs(x - (b[i] ?? 0)), 0) / a.length;
      expect({ policy, mae: mae < 0.03 }).toEqual({ policy, mae: true });
    }
    const text = await sim([CLOUD_PHYSICS, '--mrc', '--policy', 'lru,arc', '--sample', '10%']);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^miss-ratio curve of cloudPhysicsIO.txt: 113872 requests, about \d+ distinct pages$/);
    expect(lines[1]).toMatch(/^sampled at rate 0.1 \(\d+ of 113872 requests, \d+ pages\); LRU by SHARDS, the other policies by miniature simulations; expected error about ±0\.0\d\d \(mean absolute\)/);
  });

  it('stdin is sampled within a bound: --sample-pages lowers the rate as the sample fills', async () => {
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(createReadStream(CLOUD_PHYSICS) as unknown as typeof process.stdin);
    const r = await sim(['-', '--policy', 'lru', '--mrc', '--sample', '1', '--sample-pages', '2000']);
    expect(r.code).toBe(0);
    const rate = /sampled at rate ([\d.]+) \(\d+ of 113872 requests, (\d+) pages, at most 2000\)/.exec(r.stdout);
    expect(rate).not.toBeNull();
    expect(Number(rate?.[1])).toBeLessThan(0.1);
    expect(Number(rate?.[2])).toBeLessThanOrEqual(2000);
  });

  it('options: a rate in (0, 1]; --sample-pages only with --sample; not with --by-bytes (2)', async () => {
    for (const args of [['--sample', '0'], ['--sample', '1.5'], ['--sample', 'x'], ['--sample-pages', '100'], ['--sample', '0.1', '--sample-pages', '3'], ['--sample', '0.1', '--by-bytes']]) {
      const r = await sim([CLOUD_PHYSICS, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
    }
  });
});
