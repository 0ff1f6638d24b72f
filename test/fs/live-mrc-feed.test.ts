/**
 * The live curve's feed and worker (daemon/fs/live-mrc-feed.ts,
 * live-mrc-worker.ts): a snapshot holds every page recorded before it (the
 * worker drains the ring first), reset starts over, a worker that throws
 * leaves the curve unavailable and the caller unharmed, off records
 * nothing, and a feed never closed keeps no process alive.
 *
 * The worker runs from dist/ (npm run build first), as the mount tests do.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveMrcFeed } from '../../daemon/fs/live-mrc-feed.js';

const PAGE = 4096;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'live-mrc-feed-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('LiveMrcFeed', () => {
  it('answers with every page recorded before the question, then starts over on reset', async () => {
    const lines: string[] = [];
    const feed = new LiveMrcFeed({ pageSize: PAGE, cachePages: 64, enabled: true, log: (l) => lines.push(l) });
    try {
      // 3 passes over 100 pages, one request of 2 pages each time: 600 page requests, every page sampled (100 < 4096).
      for (let pass = 0; pass < 3; pass++) for (let p = 0; p < 100; p += 2) feed.record(5, p * PAGE, 2 * PAGE);
      const first = await feed.snapshot(64, true);
      expect(first.requests).toBe(300);
      expect(first.sampled).toBe(300);
      expect(first.rate).toBe(1);
      expect(first.working_set_pages).toBe(100);
      expect(first.dropped).toBe(0);
      // A cyclic pass over 100 pages: every reuse at distance 99, so 64 pages hold none of them and 128 all.
      expect(first.points.find((q) => q.pages === 64)?.miss_ratio).toBe(1);
      expect(first.points.find((q) => q.pages === 128)?.miss_ratio).toBeCloseTo(100 / 300, 10);
      const after = await feed.snapshot(64);
      expect(after.requests).toBe(0);
      feed.record(5, 0, 1);
      expect((await feed.snapshot(64)).requests).toBe(1);
      expect(lines).toEqual([]);
    } finally {
      await feed.close();
    }
    await expect(feed.snapshot(64)).rejects.toMatchObject({ code: 'ENOTSUP' });
  });

  it('a worker that throws is logged; the curve is unavailable and recording goes on harmlessly', async () => {
    const script = path.join(dir, 'throws.mjs');
    await writeFile(script, "throw new Error('simulated failure in the curve');\n");
    const lines: string[] = [];
    let failed!: () => void;
    const logged = new Promise<void>((resolve) => (failed = resolve));
    const feed = new LiveMrcFeed({
      pageSize: PAGE,
      cachePages: 64,
      enabled: true,
      workerUrl: pathToFileURL(script),
      log: (l) => {
        lines.push(l);
        failed();
      },
    });
    await logged;
    expect(lines[0]).toMatch(/^live-mrc: worker failed, the curve is off from now on: Error: simulated failure in the curve/);
    expect(feed.available).toBe(false);
    for (let p = 0; p < 10; p++) feed.record(1, p * PAGE, PAGE);
    await expect(feed.snapshot(64)).rejects.toMatchObject({ code: 'ENOTSUP', message: expect.stringMatching(/unavailable: its worker failed \(simulated failure in the curve\)/) as unknown });
    await feed.close();
  });

  it('off: no worker, record does nothing, snapshot says it is off', async () => {
    const feed = new LiveMrcFeed({ pageSize: PAGE, cachePages: 64, enabled: false, log: () => undefined });
    feed.record(1, 0, PAGE);
    expect(feed.available).toBe(false);
    await expect(feed.snapshot(64)).rejects.toMatchObject({ code: 'ENOTSUP', message: 'ENOTSUP: the live miss-ratio curve is off (mounted with -o live_mrc=off)' });
    await feed.close();
  });

  it('a feed never closed keeps no process alive', async () => {
    const module = pathToFileURL(path.resolve('dist/daemon/fs/live-mrc-feed.js')).href;
    const program = `import(${JSON.stringify(module)}).then(async (m) => { const f = new m.LiveMrcFeed({ pageSize: 4096, cachePages: 64, enabled: true, log: console.error }); for (let p = 0; p < 1000; p++) f.record(1, p * 4096, 4096); const s = await f.snapshot(64); console.log(s.requests); })`;
    const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, out }).toEqual({ code: 0, out: '1000\n' });
  });
});
