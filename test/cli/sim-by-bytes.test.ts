/**
 * `sim --by-bytes` for the policies besides LRU: FIFO, LRU and CLOCK in
 * bytes against a plain, independent model written here (arrays and a
 * running byte count, no policy code shared), on a seeded Zipf trace whose
 * objects have seeded sizes of 1 B to 100 kB, at sizes around the working
 * set's bytes; the policies that size their parts in pages are refused
 * with the reason.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom, take, zipfStream } from '../../bench/synthetic-traces.js';
import { runInProcess, tempDir } from './harness.js';

let tmp = '';

beforeEach(async () => {
  tmp = await tempDir('sim-by-bytes');
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** 20,000 Zipf requests over 3,000 objects, each object with its own size. */
function requests(): { ids: number[]; sizes: number[] } {
  const ids = Array.from(take(zipfStream({ seed: 11, pages: 3000, alpha: 0.8 }), 20_000));
  const random = seededRandom(12);
  const sizeOf = new Map<number, number>();
  const sizes = ids.map((id) => {
    let s = sizeOf.get(id);
    if (s === undefined) sizeOf.set(id, (s = 1 + Math.floor(random() * 100_000)));
    return s;
  });
  return { ids, sizes };
}

/**
 * The model: a queue oldest first and a byte count. FIFO evicts the
 * oldest; LRU moves a hit to the newest end; CLOCK sets a hit's bit, and
 * the hand gives an object with its bit set another round at the newest
 * end (bit cleared). An object bigger than the cache empties it and is
 * not kept.
 */
function model(kind: 'fifo' | 'lru' | 'clock', ids: number[], sizes: number[], capacity: number): number {
  let queue: { id: number; size: number; bit: boolean }[] = [];
  let used = 0;
  let misses = 0;
  ids.forEach((id, i) => {
    const size = sizes[i] ?? 0;
    const at = queue.findIndex((e) => e.id === id);
    if (at >= 0) {
      const e = queue[at];
      if (kind === 'lru' && e) queue = [...queue.slice(0, at), ...queue.slice(at + 1), e];
      if (kind === 'clock' && e) e.bit = true;
      return;
    }
    misses++;
    if (size > capacity) {
      queue = [];
      used = 0;
      return;
    }
    while (used + size > capacity) {
      const head = queue.shift();
      if (!head) break;
      if (kind === 'clock' && head.bit) {
        head.bit = false;
        queue.push(head);
        continue;
      }
      used -= head.size;
    }
    queue.push({ id, size, bit: false });
    used += size;
  });
  return misses;
}

describe('sim --by-bytes beyond LRU', () => {
  it('fifo, lru and clock give the counts of an independent model at every size', async () => {
    const { ids, sizes } = requests();
    await writeFile(path.join(tmp, 'sized.csv'), ids.map((id, i) => `${id},${sizes[i] ?? 0}\n`).join(''));
    const caches = [50_000, 1_000_000, 5_000_000, 20_000_000, 60_000_000];
    const r = await runInProcess(['sim', 'sized.csv', '--format', 'csv', '--csv-columns', 'id=1,size=2', '--by-bytes', '--policy', 'fifo,lru,clock', '--cache', caches.join(','), '--json'], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const cells = JSON.parse(r.stdout) as { policy: string; cache_bytes: number; misses: number }[];
    for (const kind of ['fifo', 'lru', 'clock'] as const) {
      const got = cells.filter((c) => c.policy === kind).map((c) => [c.cache_bytes, c.misses]);
      const want = caches.map((c) => [c, model(kind, ids, sizes, c)]);
      expect(got, kind).toEqual(want);
    }
    // The policies differ where the cache is short of the working set (a check that each ran its own way).
    const at = (policy: string): number => cells.find((c) => c.policy === policy && c.cache_bytes === 5_000_000)?.misses ?? 0;
    expect(new Set([at('fifo'), at('lru'), at('clock')]).size).toBe(3);
  });

  it('all means the policies that can; arc, 2q, s3fifo are refused, saying why (2)', async () => {
    await writeFile(path.join(tmp, 'a.csv'), 'a,100\nb,4000\nc,50\na,100\nb,4000\n');
    const all = await runInProcess(['sim', 'a.csv', '--format', 'csv', '--csv-columns', 'id=1,size=2', '--by-bytes', '--policy', 'all', '--cache', '4150', '--json'], { cwd: tmp });
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as { policy: string }[]).map((c) => c.policy).sort()).toEqual(['belady', 'clock', 'clock2', 'fifo', 'lru', 'lruk', 'mach', 'sieve']);
    for (const policy of ['arc', '2q', 'lru,s3fifo']) {
      const r = await runInProcess(['sim', 'a.csv', '--format', 'csv', '--csv-columns', 'id=1,size=2', '--by-bytes', '--policy', policy], { cwd: tmp });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--by-bytes cannot run (arc|2q|s3fifo): it sizes its parts .* in pages of the cache/);
    }
  });
});
