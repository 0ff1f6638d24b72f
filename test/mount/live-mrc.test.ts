/**
 * The live miss-ratio curve on a real mount against the offline exact one:
 * two 16 MiB files (8192 pages: twice what the live sample holds, so its
 * rate falls and the curve is sampled), the curve started over
 * (`stats --mrc-reset`) and the page trace recorded (`trace start`), a
 * known workload (40,000 4 KiB reads at seeded Zipf offsets, run by a
 * child process), `trace stop`; then `stats --mrc --json` must be within
 * 0.05 of `sim TRACE --policy lru` (exact, one pass) at every size it
 * gives; and each miniature simulation (mach, clock, arc, 2q at ½×, 1×,
 * 2×, 4× the cache) within 0.05 of that policy's exact replay of the
 * trace (`sim TRACE --policy mach,clock,arc,2q --cache ...`). Also
 * `stats --mrc` as tables and `top` drawing the curve and the policies.
 * The curve is kept by a worker thread; `mrc` drains its ring first, so
 * the answer holds every read made before it (no wait decides it). A
 * second mount with -o live_mrc=off has no curve, and says so.
 *
 * Needs /dev/fuse and the build (npm run build). Every mount is unmounted
 * in afterAll, also when a test fails.
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveMrcRecord } from '../../daemon/fs/live-mrc.js';
import type { SimCell } from '../../daemon/cli/sim/plan.js';
import { seededRandom } from '../../bench/synthetic-traces.js';
import { cleanupMounts, machpager, machpagerJson, mount, removeDir, sh, tempDir, type Mounted } from '../helpers/mounted.js';

const PAGES_PER_FILE = 4096;
const READS = 40_000;

let dir = '';
let mnt = '';
let m: Mounted | undefined;

/** Seeded Zipf (α 0.9) page numbers over both files, the ranks scattered over the pages. */
function offsets(): number[] {
  const pages = 2 * PAGES_PER_FILE;
  const cdf = new Float64Array(pages);
  let sum = 0;
  for (let i = 0; i < pages; i++) cdf[i] = sum += 1 / (i + 1) ** 0.9;
  const random = seededRandom(17);
  const out: number[] = [];
  for (let i = 0; i < READS; i++) {
    const x = random() * sum;
    let lo = 0;
    let hi = pages - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] ?? 0) >= x) hi = mid;
      else lo = mid + 1;
    }
    out.push((lo * 2654435761) % pages); // a bijection: 2654435761 is odd, pages a power of two
  }
  return out;
}

beforeAll(async () => {
  dir = await tempDir('live-mrc');
  await chmod(dir, 0o755);
  mnt = path.join(dir, 'mnt');
  m = await mount({ store: `sqlite:${path.join(dir, 'fs.db')}`, mnt, cacheSize: '8M', pageSize: '4K' });
  await m.shOk(`dd if=/dev/zero of=a bs=1M count=16 status=none && dd if=/dev/zero of=b bs=1M count=16 status=none`);
});

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

describe('live miss-ratio curve (stats --mrc) on a real mount', () => {
  it('is within 0.05 of the exact curve of the same workload\'s recorded trace', async () => {
    const trace = path.join(dir, 'work.trace');
    const list = path.join(dir, 'offsets.json');
    await writeFile(list, JSON.stringify(offsets()));
    const reset = await machpager(['stats', mnt, '--mrc-reset']);
    expect(reset, reset.stderr).toMatchObject({ code: 0 });
    const started = await machpager(['trace', 'start', trace, mnt]);
    expect(started, started.stderr).toMatchObject({ code: 0 });
    // The workload, in a program of its own: page p is page p % 4096 of file a (p < 4096) or b.
    const program = `const fs=require('fs');const o=JSON.parse(fs.readFileSync(${JSON.stringify(list)}));const f=[fs.openSync(${JSON.stringify(path.join(mnt, 'a'))},'r'),fs.openSync(${JSON.stringify(path.join(mnt, 'b'))},'r')];const b=Buffer.alloc(4096);for(const p of o){fs.readSync(f[p>=${PAGES_PER_FILE}?1:0],b,0,4096,(p%${PAGES_PER_FILE})*4096)}`;
    const work = await sh(`${JSON.stringify(process.execPath)} -e ${JSON.stringify(program)}`, { timeoutMs: 120_000 });
    expect(work, work.stderr).toMatchObject({ code: 0 });
    const stopped = await machpager(['trace', 'stop', mnt]);
    expect(stopped, stopped.stderr).toMatchObject({ code: 0 });

    const live = await machpagerJson<LiveMrcRecord>(['stats', mnt, '--mrc', '--json']);
    expect(live.requests).toBe(READS);
    expect(live.dropped).toBe(0); // FUSE reads come far slower than the worker takes them
    expect(live.rate).toBeLessThan(1); // more pages than the sample holds: sampled
    expect(live.sample_pages).toBeLessThanOrEqual(live.max_pages);
    const sizes = live.points.map((p) => p.pages).filter((p) => p <= live.working_set_pages);
    expect(sizes.length).toBeGreaterThan(10);
    const exact = await machpagerJson<SimCell[]>(['sim', trace, '--policy', 'lru', '--cache', sizes.join(','), '--mrc', '--json']);
    expect(exact[0]?.requests).toBe(READS);
    const byPages = new Map(exact.map((c) => [c.cache_pages, c.miss_ratio]));
    const gaps = live.points.filter((p) => byPages.has(p.pages)).map((p) => Math.abs(p.miss_ratio - (byPages.get(p.pages) ?? NaN)));
    const worst = Math.max(...gaps);
    process.stdout.write(`live MRC: rate ${live.rate.toFixed(3)}, ${live.sample_pages} pages; worst gap to the exact curve ${worst.toFixed(4)}, mean ${(gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(4)}\n`);
    expect(gaps).toHaveLength(sizes.length);
    expect(worst).toBeLessThanOrEqual(0.05);

    // The miniature simulations of the other policies, against each one's exact replay of the same trace.
    const minis = live.miniatures;
    expect(minis?.sizes).toEqual([1024, 2048, 4096, 8192]); // 1/2x, 1x, 2x, 4x the 2048-page cache
    expect(minis?.rate).toBeLessThan(1);
    const policies = (minis?.curves ?? []).map((c) => c.policy).filter((p) => p !== 'lru');
    expect(policies).toEqual(['mach', 'clock', 'arc', '2q']);
    const replayed = await machpagerJson<SimCell[]>(['sim', trace, '--policy', policies.join(','), '--cache', (minis?.sizes ?? []).join(','), '--json']);
    const report: string[] = [];
    let worstMini = 0;
    for (const curve of minis?.curves ?? []) {
      if (curve.policy === 'lru') continue;
      for (const p of curve.points) {
        const exactMiss = replayed.find((c) => c.policy === curve.policy && c.cache_pages === p.pages)?.miss_ratio;
        expect(exactMiss, `${curve.policy} at ${p.pages}`).toBeDefined();
        const gap = Math.abs(p.miss_ratio - (exactMiss ?? NaN));
        worstMini = Math.max(worstMini, gap);
        report.push(`${curve.policy}@${p.pages} ${p.miss_ratio.toFixed(3)}/${(exactMiss ?? NaN).toFixed(3)}`);
      }
    }
    process.stdout.write(`live miniatures: rate ${minis?.rate ?? NaN}, ${minis?.sample_pages ?? NaN} pages; worst gap ${worstMini.toFixed(4)}; live/exact ${report.join(', ')}\n`);
    expect(report).toHaveLength(16);
    expect(worstMini).toBeLessThanOrEqual(0.05);
  }, 180_000);

  it('stats --mrc prints the table with this cache marked; top draws the curve', async () => {
    const r = await machpager(['stats', mnt, '--mrc']);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^LRU hit ratio by cache size, live: \d+ page requests since .*; sampled at rate [\d.]+ \(\d+ pages, at most 4096\): expected error about ±0\.0\d\d$/);
    expect(lines[1]?.trim().split(/\s+/)).toEqual(['CACHE', 'SIZE', 'HIT', 'RATIO', 'MISS', 'RATIO']);
    expect(r.stdout).toMatch(/^\s*2048\s+8M\s+0\.\d{4}\s+0\.\d{4} <- this cache$/m);
    expect(r.stdout).toMatch(/^\s*4096\s+16M\s+0\.\d{4}\s+0\.\d{4} <- 2x this cache$/m);
    // The policies' table: a column each, at 1/2x, 1x, 2x, 4x this cache.
    expect(r.stdout).toMatch(/^hit ratio by policy, live \(LRU by stack distances, the others by miniature simulations since .*\); miniature caches sampled at rate [\d.]+ \(\d+ pages\): expected error about ±0\.\d{3}$/m);
    expect(r.stdout).toMatch(/^\s*CACHE\s+SIZE\s+LRU\s+MACH\s+CLOCK\s+ARC\s+2Q$/m);
    expect(r.stdout).toMatch(/^\s*2048\s+8M(\s+0\.\d{4}){5} <- this cache$/m);
    expect(r.stdout).toMatch(/^\s*8192\s+32M(\s+[01]\.\d{4}){5} <- 4x this cache$/m);
    const top = await machpager(['top', mnt, '-n', '1']);
    expect(top, top.stderr).toMatchObject({ code: 0 });
    expect(top.stdout).toMatch(/live MRC \(LRU, sampled ±0\.\d{3}\): hit ratio [\d.]+% at 1\/2x cache, [\d.]+% at this cache, [\d.]+% at 2x, [\d.]+% at 4x/);
    expect(top.stdout).toMatch(/live policies \(miniatures ±0\.\d{3}\): this cache: lru [\d.]+% mach [\d.]+% clock [\d.]+% arc [\d.]+% 2q [\d.]+%; 2x: lru [\d.]+%/);
  });
});

describe('mount -o live_mrc=off', () => {
  it('keeps no curve: stats --mrc says so in one line (exit 69), top and stats go on', async () => {
    const offDir = await tempDir('live-mrc-off');
    const offMnt = path.join(offDir, 'mnt');
    try {
      await mount({ store: `sqlite:${path.join(offDir, 'fs.db')}`, mnt: offMnt, cacheSize: '8M', pageSize: '4K', options: ['default_permissions', 'live_mrc=off'] });
      await sh(`dd if=/dev/zero of=${JSON.stringify(path.join(offMnt, 'a'))} bs=1M count=1 status=none && cat ${JSON.stringify(path.join(offMnt, 'a'))} >/dev/null`);
      const r = await machpager(['stats', offMnt, '--mrc']);
      expect(r.code).toBe(69);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toEqual([`machpager: ${offMnt}: the live miss-ratio curve is off (mounted with -o live_mrc=off)`]);
      const json = await machpager(['stats', offMnt, '--mrc', '--json']);
      expect(json.code).toBe(69);
      const top = await machpager(['top', offMnt, '-n', '1']);
      expect(top, top.stderr).toMatchObject({ code: 0 });
      expect(top.stdout).not.toMatch(/live MRC/);
      const stats = await machpager(['stats', offMnt]);
      expect(stats, stats.stderr).toMatchObject({ code: 0 });
    } finally {
      await cleanupMounts();
      await removeDir(offDir);
    }
  }, 60_000);
});
