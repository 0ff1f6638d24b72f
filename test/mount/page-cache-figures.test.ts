/**
 * The page cache's figures through a real mount (issue 5's acceptance):
 * programs read and write files in child processes, the CLI reads the
 * statistics record over the control socket, and the figures must be the
 * exact ones the workload implies.
 *
 * - A 100-page file read twice with a cache that holds it: 100 pageins on
 *   the first pass, none and at least 100 hits on the second.
 * - The same with a 10-page cache: the second pass pages in again, and for
 *   the file, pageins - evictions = pages resident; all evictions clean, no
 *   pageouts (the file was not written).
 * - A cold sequential read of a 4 MiB file is counted as cachestat counts
 *   it: pages read ahead apart, and (each page read once) next to no
 *   demand hits, not the ~97% a fault's cluster used to make of it.
 * - files shows each file's resident and dirty pages; evict drops them;
 *   sync leaves no dirty page.
 * - fio writes and verifies while the policy is switched and the cache
 *   resized under it: no data lost, and stats shows each change.
 *
 * Needs /dev/fuse, fio, and the build (npm run build).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../../daemon/control/protocol.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { machpager, machpagerJson, mount, type Mounted } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';

const dir = mountsDir('figures');

function fileOf(m: Mounted, name: string): Promise<FileRecord> {
  return machpagerJson<FileRecord[]>(['files', path.join(m.mnt, name)]).then((list) => {
    expect(list).toHaveLength(1);
    return list[0];
  });
}

/** Read the whole file once, sequentially, the way programs do (cat). */
async function readAll(m: Mounted, name: string): Promise<void> {
  const r = await m.sh(`cat ${name} > /dev/null`);
  expect(r.code, r.stderr).toBe(0);
}

async function evict(m: Mounted, name: string): Promise<void> {
  const r = await machpager(['evict', path.join(m.mnt, name)]);
  expect(r.code, r.stderr).toBe(0);
}

/** The mount's statistics record, as `machpager stats --json` prints it. */
function statsOf(m: Mounted): Promise<StatsRecord> {
  return machpagerJson<StatsRecord>(['stats', m.mnt]);
}

/**
 * A mount named `name` (its store and mountpoint in dir) on which `script`
 * writes `files`: written pages are resident (and dirty), so they are
 * written back and dropped, and reads start cold.
 */
async function coldMount(name: string, cacheSize: string, script: string, files: readonly string[]): Promise<Mounted> {
  const m = await mount({ store: `sqlite:${path.join(dir(), `${name}.db`)}`, mnt: path.join(dir(), name), cacheSize, pageSize: '4K' });
  await m.shOk(script);
  for (const file of files) await evict(m, file);
  return m;
}

describe('with a cache that holds the file', () => {
  let m: Mounted;

  beforeAll(async () => {
    m = await coldMount(
      'big',
      '16M',
      'head -c 409600 /dev/urandom > hundred && head -c 122880 /dev/urandom > thirty && : > empty && head -c 40960 /dev/urandom > unread && head -c 4194304 /dev/urandom > stream',
      ['hundred', 'thirty', 'unread', 'stream'],
    );
  });

  it('a cold sequential read of 4 MiB: pages read ahead and used, counted apart; next to no demand hits', async () => {
    const s0 = await statsOf(m);
    await readAll(m, 'stream');
    const s1 = await statsOf(m);
    const lookups = s1.lookups - s0.lookups;
    expect(lookups).toBeGreaterThanOrEqual(1024);
    expect(s1.readahead_pages - s0.readahead_pages).toBeGreaterThan(512);
    expect(s1.readahead_hits - s0.readahead_hits).toBeGreaterThan(512);
    // Every page was read once and was not there before: a demand hit ratio near zero is the honest one.
    expect((s1.hits - s0.hits) / lookups).toBeLessThan(0.05);
    expect(s1.pageins - s0.pageins).toBe(1024);
    const file = await fileOf(m, 'stream');
    expect(file.readahead_pages).toBe(s1.readahead_pages - s0.readahead_pages);
    expect(file.readahead_hits).toBe(s1.readahead_hits - s0.readahead_hits);
    const shown = await machpager(['files', path.join(m.mnt, 'stream')]);
    expect(shown.stdout.split('\n')[0]).toMatch(/HITS\s+RA\s+RAHITS\s+FILE$/);
    await evict(m, 'stream');
  });

  it('a 100-page file read twice: 100 pageins, then at least 100 hits and no pagein', async () => {
    expect(await fileOf(m, 'hundred')).toMatchObject({ size: 409600, pages: 100, resident_pages: 0 });
    const s0 = await statsOf(m);
    await readAll(m, 'hundred');
    const s1 = await statsOf(m);
    expect(s1.pageins - s0.pageins).toBe(100);
    expect(s1.zero_fill_count - s0.zero_fill_count).toBe(0);
    expect(s1.pager.pages_read - s0.pager.pages_read).toBe(100);
    await readAll(m, 'hundred');
    const s2 = await statsOf(m);
    expect(s2.pageins - s1.pageins).toBe(0);
    expect(s2.faults - s1.faults).toBe(0);
    expect(s2.hits - s1.hits).toBeGreaterThanOrEqual(100);
    expect(s2.hits - s1.hits).toBe(s2.lookups - s1.lookups);
    expect(await fileOf(m, 'hundred')).toMatchObject({ resident_pages: 100, dirty_pages: 0, resident_fraction: 1, pageins: 100 });
  });

  it('files shows each file its own resident and dirty pages', async () => {
    await readAll(m, 'thirty');
    await m.shOk('head -c 81920 /dev/urandom > twenty');
    const all = await machpagerJson<FileRecord[]>(['files', m.mnt]);
    const byPath = new Map(all.map((f) => [f.path, f]));
    expect(byPath.get('/hundred')).toMatchObject({ resident_pages: 100, dirty_pages: 0 });
    expect(byPath.get('/thirty')).toMatchObject({ resident_pages: 30, dirty_pages: 0, pages: 30 });
    expect(byPath.get('/twenty')).toMatchObject({ resident_pages: 20, dirty_pages: 20, pages: 20 });
    expect(byPath.get('/empty')).toMatchObject({ resident_pages: 0, pages: 0, resident_fraction: 0 });
    expect(byPath.get('/unread')).toMatchObject({ resident_pages: 0, pages: 10 });
    const s = await statsOf(m);
    expect(s.dirty_count).toBe(20);
  });

  it('sync leaves no dirty page (the pages stay, clean); evict drops a file\'s pages', async () => {
    const s0 = await statsOf(m);
    const r = await machpager(['sync', m.mnt]);
    expect(r.code, r.stderr).toBe(0);
    const s1 = await statsOf(m);
    expect(s1.dirty_count).toBe(0);
    expect(s1.pageouts - s0.pageouts).toBe(20);
    expect(await fileOf(m, 'twenty')).toMatchObject({ resident_pages: 20, dirty_pages: 0 });
    for (const f of await machpagerJson<FileRecord[]>(['files', m.mnt])) expect(f.dirty_pages).toBe(0);

    await evict(m, 'hundred');
    const s2 = await statsOf(m);
    expect(await fileOf(m, 'hundred')).toMatchObject({ resident_pages: 0, dirty_pages: 0 });
    expect(s2.free_count - s1.free_count).toBe(100);
    // The rest stays.
    expect(await fileOf(m, 'thirty')).toMatchObject({ resident_pages: 30 });
    const all = await machpager(['evict', '--all', m.mnt]);
    expect(all.code, all.stderr).toBe(0);
    for (const f of await machpagerJson<FileRecord[]>(['files', m.mnt])) expect(f.resident_pages).toBe(0);
  });
});

describe('with a 10-page cache', () => {
  let m: Mounted;

  beforeAll(async () => {
    m = await coldMount('small', '40K', 'head -c 409600 /dev/urandom > hundred && sha256sum hundred > sum', ['hundred', 'sum']);
  });

  it('the second pass pages in again, and the evictions and pageouts add up', async () => {
    expect((await statsOf(m)).frames).toBe(10);
    const before = await fileOf(m, 'hundred');
    const s0 = await statsOf(m);
    await readAll(m, 'hundred');
    const s1 = await statsOf(m);
    await readAll(m, 'hundred');
    const s2 = await statsOf(m);
    const after = await fileOf(m, 'hundred');

    expect(s1.pageins - s0.pageins).toBeGreaterThanOrEqual(100);
    // The cache cannot hold the file: every page comes in again.
    expect(s2.pageins - s1.pageins).toBeGreaterThanOrEqual(100);
    // What came in and did not go out is what is resident.
    expect(after.pageins - after.evictions).toBe(after.resident_pages);
    expect(after.pageins - before.pageins - (after.evictions - before.evictions)).toBe(after.resident_pages - before.resident_pages);
    expect(after.resident_pages).toBeLessThanOrEqual(10);
    // Nothing was written: every eviction was of a clean page, nothing went back to the pager.
    expect(s2.evictions_dirty - s0.evictions_dirty).toBe(0);
    expect(s2.pageouts - s0.pageouts).toBe(0);
    expect(s2.evictions_clean - s0.evictions_clean).toBe(after.evictions - before.evictions);
    // And the data is what was written.
    await m.shOk('sha256sum -c sum');
  });
});

describe('switching the policy and resizing the cache under load', () => {
  it('fio writes and verifies while both change; stats shows each change', async () => {
    const m = await mount({ store: `sqlite:${path.join(dir(), 'load.db')}`, mnt: path.join(dir(), 'load'), cacheSize: '8M', pageSize: '4K' });
    const fio = m.sh(
      'fio --name=load --filename=load.dat --size=48M --bs=16k --rw=randwrite --ioengine=psync --verify=crc32c --verify_fatal=1 --do_verify=1 2>&1',
      { timeoutMs: 300_000 },
    );
    let finished = false;
    void fio.then(() => (finished = true));
    const steps: [string, string][] = [
      ['policy', 'lru'],
      ['cache-size', '2M'],
      ['policy', 'clock'],
      ['cache-size', '24M'],
      ['policy', 'fifo'],
      ['cache-size', '1M'],
      ['policy', 'mach'],
      ['cache-size', '8M'],
    ];
    let changes = 0;
    do {
      for (const [command, value] of steps) {
        const r = await machpager([command, value, '-m', m.mnt]);
        expect(r.code, r.stderr).toBe(0);
        const s = await statsOf(m);
        if (command === 'policy') expect(s.policy).toBe(value);
        else expect(s.cache_size).toBe(parseInt(value, 10) * 1024 * 1024);
        changes++;
      }
    } while (!finished);
    const out = await fio;
    expect(out.code, out.stdout).toBe(0);
    expect(out.stdout).not.toMatch(/verify: bad|verify failed|error=/);
    expect(changes).toBeGreaterThanOrEqual(steps.length);
    const s = await statsOf(m);
    expect(s).toMatchObject({ policy: 'mach', cache_size: 8 * 1024 * 1024, frames: 2048, frames_retiring: 0 });
    expect(s.pages_lost).toBe(0);
    expect(await m.stop()).toBe(0);
  });
});
