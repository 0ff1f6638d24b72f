/**
 * The live miss-ratio curve on a real mount against the offline exact one:
 * two 16 MiB files (8192 pages: twice what the live sample holds, so its
 * rate falls and the curve is sampled), the curve started over
 * (`stats --mrc-reset`) and the page trace recorded (`trace start`), a
 * known workload (40,000 4 KiB reads at seeded Zipf offsets, run by a
 * child process), `trace stop`; then `stats --mrc --json` must be within
 * 0.05 of `sim TRACE --policy lru` (exact, one pass) at every size it
 * gives. Also `stats --mrc` as a table and `top` drawing the curve.
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
  }, 180_000);

  it('stats --mrc prints the table with this cache marked; top draws the curve', async () => {
    const r = await machpager(['stats', mnt, '--mrc']);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^LRU hit ratio by cache size, live: \d+ page requests since .*; sampled at rate [\d.]+ \(\d+ pages, at most 4096\): expected error about ±0\.0\d\d$/);
    expect(lines[1]?.trim().split(/\s+/)).toEqual(['CACHE', 'SIZE', 'HIT', 'RATIO', 'MISS', 'RATIO']);
    expect(r.stdout).toMatch(/^\s*2048\s+8M\s+0\.\d{4}\s+0\.\d{4} <- this cache$/m);
    expect(r.stdout).toMatch(/^\s*4096\s+16M\s+0\.\d{4}\s+0\.\d{4} <- 2x this cache$/m);
    const top = await machpager(['top', mnt, '-n', '1']);
    expect(top, top.stderr).toMatchObject({ code: 0 });
    expect(top.stdout).toMatch(/live MRC \(LRU, sampled ±0\.\d{3}\): hit ratio [\d.]+% at 1\/2x cache, [\d.]+% at this cache, [\d.]+% at 2x, [\d.]+% at 4x/);
  });
});
