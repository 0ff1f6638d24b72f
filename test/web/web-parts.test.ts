/** The web view's parts that need no server: the address rule, the latency bins, the miss-ratio curve job. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { latencyBins } from '../../daemon/web/latency-bins.js';
import { MrcJob } from '../../daemon/web/mrc-job.js';
import { parseWebAddress, webUrl } from '../../daemon/web/web-address.js';

describe('web address', () => {
  it('takes the loopback spellings and refuses others unless allowed on purpose', () => {
    expect(parseWebAddress('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseWebAddress('localhost:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseWebAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(() => parseWebAddress('0.0.0.0:8080')).toThrow(/not a loopback address.*--web-allow-remote/);
    expect(() => parseWebAddress('192.168.1.2:80')).toThrow(/loopback/);
    expect(parseWebAddress('0.0.0.0:8080', { allowRemote: true })).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseWebAddress('[::]:8080', { allowRemote: true })).toEqual({ host: '::', port: 8080 });
    expect(() => parseWebAddress('example.com:80', { allowRemote: true })).toThrow(/not an IP address/);
    expect(() => parseWebAddress('127.0.0.1:99999')).toThrow(/port/);
    expect(webUrl({ host: '::1', port: 8 })).toBe('http://[::1]:8/');
  });
});

describe('latency bins', () => {
  it('gathers the log-linear buckets into one bin per power of two, gaps kept', () => {
    const bins = latencyBins([
      { le_us: 9, count: 2 },
      { le_us: 15, count: 3 },
      { le_us: 100, count: 1 },
    ]);
    expect(bins).toEqual({ le_us: [16, 32, 64, 128], counts: [5, 0, 0, 1], total: 6 });
    expect(latencyBins([])).toEqual({ le_us: [], counts: [], total: 0 });
  });
});

describe('miss-ratio curve job', () => {
  it('computes the LRU miss ratio at every size from one pass over the trace', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-mrc-'));
    try {
      const file = path.join(dir, 'trace');
      // 1 2 3 repeated: LRU misses everything below 3 pages, only the 3 cold misses at 3.
      // A trace still being written may end in a cut line: it is skipped.
      await writeFile(file, `# a trace\n${'1\n2\n3\n'.repeat(4)}r,4294967296\n12ab`);
      const job = new MrcJob();
      await job.start(file);
      const s = job.status();
      expect(s).toMatchObject({ state: 'done', requests: 13, distinct: 4, progress: 1 });
      const at = (pages: number): number | undefined => s.points.find((p) => p.pages === pages)?.miss_ratio;
      expect(at(1)).toBe(1);
      expect(at(2)).toBe(1);
      expect(at(3)).toBeCloseTo(4 / 13);
      expect(at(4)).toBeCloseTo(4 / 13);
      const bad = new MrcJob();
      await writeFile(file, 'x\n1\n');
      await bad.start(file);
      expect(bad.status()).toMatchObject({ state: 'failed', error: expect.stringMatching(/line 1/) as unknown });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
