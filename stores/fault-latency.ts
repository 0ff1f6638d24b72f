/**
 * The latency a fault injector puts before a store operation: a fixed
 * delay, or one drawn from a distribution with its own seeded PRNG, so a
 * slow run replays with the same delays. Written in SPEC as
 *
 *   latency=5                 5 ms every time
 *   latency=uniform/2/10      uniform between 2 and 10 ms
 *   latency=exp/5             exponential, mean 5 ms (the long tail of a busy disk)
 *   latency=normal/5/2        normal, mean 5 ms, deviation 2 ms (never below 0)
 *
 * (no ':' and no ',': SPEC sits inside fault:SPEC:STORE and is split on commas).
 */
import { StoreError } from './store.js';

export type LatencyDist =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  | { readonly kind: 'exp'; readonly mean: number }
  | { readonly kind: 'normal'; readonly mean: number; readonly sd: number };

/** Node clamps a longer timer to 1 ms: refuse it rather than surprise. */
const MAX_MS = 0x7fffffff;

export function checkLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) throw new StoreError('EINVAL', `fault latency ${ms} ms is not in 0..${MAX_MS}`);
  return ms;
}

const NUMBER = String.raw`\d+(?:\.\d+)?`;
const DIST = new RegExp(`^(?:(${NUMBER})|uniform/(${NUMBER})/(${NUMBER})|exp/(${NUMBER})|normal/(${NUMBER})/(${NUMBER}))$`);

/** A latency as SPEC writes it (see the file comment); EINVAL for anything else. */
export function parseLatency(text: string): LatencyDist {
  const m = DIST.exec(text);
  if (!m) throw new StoreError('EINVAL', `bad fault latency '${text}' (MS, uniform/MIN/MAX, exp/MEAN, normal/MEAN/SD)`);
  if (m[1] !== undefined) return { kind: 'fixed', ms: checkLatency(Number(m[1])) };
  if (m[2] !== undefined) {
    const min = checkLatency(Number(m[2]));
    const max = checkLatency(Number(m[3]));
    if (max < min) throw new StoreError('EINVAL', `fault latency uniform/${m[2]}/${m[3]}: the maximum is below the minimum`);
    return { kind: 'uniform', min, max };
  }
  if (m[4] !== undefined) return { kind: 'exp', mean: checkLatency(Number(m[4])) };
  return { kind: 'normal', mean: checkLatency(Number(m[5])), sd: checkLatency(Number(m[6])) };
}

export function formatLatency(dist: LatencyDist): string {
  switch (dist.kind) {
    case 'fixed':
      return String(dist.ms);
    case 'uniform':
      return `uniform/${dist.min}/${dist.max}`;
    case 'exp':
      return `exp/${dist.mean}`;
    case 'normal':
      return `normal/${dist.mean}/${dist.sd}`;
  }
}

/** One delay in ms from `dist`, drawing from `random` (uniform in [0, 1)); bounded to what a timer takes. */
export function sampleLatency(dist: LatencyDist, random: () => number): number {
  let ms: number;
  switch (dist.kind) {
    case 'fixed':
      return dist.ms;
    case 'uniform':
      ms = dist.min + (dist.max - dist.min) * random();
      break;
    case 'exp':
      ms = -dist.mean * Math.log(1 - random());
      break;
    case 'normal': {
      // Box-Muller; 1 - u keeps the logarithm finite.
      const u = 1 - random();
      const v = random();
      ms = dist.mean + dist.sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      break;
    }
  }
  return Math.min(MAX_MS, Math.max(0, ms));
}
