/**
 * Rehearsing failures on a real mount: `--inject SPEC` and `fault:SPEC:STORE`
 * wrap every file's data store, with file offsets; programs see the errors
 * a failing store gives (EIO, also for a code a pager may not report, like
 * EROFS); `machpager inject` changes the rules while mounted and
 * `stats --json` counts them; the rest of the mount keeps working. Reads
 * fail at page-in (after `machpager evict`), write-backs at fsync.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { cleanupMounts, machpager, machpagerJson, mount, removeDir, shOk, STORE_KINDS, tempDir, type Mounted } from '../helpers/mounted.js';

let dir = '';
/** 1.5 MiB of random bytes, outside the mounts. */
let src = '';

beforeAll(async () => {
  dir = await tempDir('inject');
  src = path.join(dir, 'src');
  await shOk(`head -c 1572864 /dev/urandom > ${src}`);
});

afterEach(async () => {
  await cleanupMounts();
});

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

/** A new directory for one test's store. */
async function storeDir(name: string): Promise<string> {
  const at = path.join(dir, name);
  await mkdir(at);
  return at;
}

async function evict(m: Mounted, file: string): Promise<void> {
  const r = await machpager(['evict', path.join(m.mnt, file)]);
  expect(r.code, r.stderr).toBe(0);
}

describe.each(STORE_KINDS)('fault injection on a mount of $kind', ({ kind, store }) => {
  const label = kind.replace(/\W/g, '');

  it('--inject read@1M+4K=EIO fails a page-in at that file offset only; inject changes the rules while mounted', async () => {
    const m = await mount({ store: store(await storeDir(`${label}-a`)), mnt: path.join(dir, `${label}-mnt-a`), args: ['--inject', 'read@1M+4K=EIO'] });
    expect(m.log).toContain('injecting faults: read@1M+4K=EIO');
    await m.shOk(`cp ${src} f && mkdir d && echo hello > d/x`);
    await evict(m, 'f');

    // The first 256K never touch the range (a page-in cluster is at most 128K): they read right.
    await m.shOk(`dd if=f bs=64K count=4 status=none | cmp - <(head -c 262144 ${src})`);
    const cat = await m.sh('cat f > /dev/null');
    expect(cat.code).not.toBe(0);
    expect(cat.stderr).toMatch(/Input\/output error/);

    // The namespace and the other files are not touched.
    expect(await m.shOk('cat d/x && ls')).toBe('hello\nd\nf\n');
    const stats = await machpagerJson<StatsRecord>(['stats', m.mnt]);
    expect(stats.inject?.spec).toBe('read@1M+4K=EIO');
    expect(stats.inject?.stats.injected_reads).toBeGreaterThanOrEqual(1);
    expect(stats.inject?.rules[0]?.injected).toBe(stats.inject?.stats.injected);
    expect(stats.pager.read_errors).toBeGreaterThanOrEqual(1);
    const human = await machpager(['stats', m.mnt]);
    expect(human.stdout).toMatch(new RegExp(`^Fault injection \\(read@1M\\+4K=EIO\\):\n  Faults injected: +${stats.inject?.stats.injected}\\.$`, 'm'));

    // Cleared while mounted: the pages that failed are read again, right. (A page read ahead
    // when its read failed keeps the error for the next access, as Mach's do: evict drops it.)
    const cleared = await machpagerJson<{ spec: string; previous: string }>(['inject', m.mnt, '--clear']);
    expect(cleared).toMatchObject({ spec: '', previous: 'read@1M+4K=EIO' });
    await evict(m, 'f');
    await m.shOk(`cmp f ${src}`);

    // A code no pager may report (EROFS) reaches the program as EIO, and the daemon lives on.
    const set = await machpager(['inject', m.mnt, 'read=EROFS']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^inject: read=EROFS \(was: no rules\)$/m);
    await evict(m, 'f');
    const erofs = await m.sh('cat f > /dev/null');
    expect(erofs.stderr).toMatch(/Input\/output error/);
    // A store's sync failing so is EIO to fsync too.
    await machpagerJson(['inject', m.mnt, 'sync=EROFS']);
    const fsync = await m.sh('echo more > g && dd if=g of=g2 conv=fsync status=none');
    expect(fsync.code).not.toBe(0);
    expect(fsync.stderr).toMatch(/Input\/output error/);
    expect(m.running).toBe(true);

    // A write-back the store refuses: fsync says so (ENOSPC stays ENOSPC), and once the rule is gone the held pages are stored.
    await machpagerJson(['inject', m.mnt, 'write=ENOSPC']);
    const full = await m.sh(`dd if=${src} of=w bs=64K count=4 conv=fsync status=none`);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/No space left on device/);
    await machpagerJson(['inject', m.mnt, '--clear']);
    await m.shOk(`sync w && cmp w <(head -c 262144 ${src})`);

    // No rules left: everything reads right and the unmount syncs cleanly.
    await machpagerJson(['inject', m.mnt, '--clear']);
    await evict(m, 'f');
    await m.shOk(`cmp f ${src} && cat d/x g2`);
    expect(await m.stop()).toBe(0);
  });

  it('fault:latency=2:STORE slows every store operation down and reads stay right', async () => {
    const m = await mount({ store: `fault:latency=2:${store(await storeDir(`${label}-b`))}`, mnt: path.join(dir, `${label}-mnt-b`) });
    await m.shOk(`cp ${src} f`);
    await evict(m, 'f');
    await m.shOk(`cmp f ${src}`);
    const stats = await machpagerJson<StatsRecord>(['stats', m.mnt]);
    expect(stats.inject).toMatchObject({ spec: 'latency=2', rules: [] });
    expect(stats.inject?.stats.reads).toBeGreaterThanOrEqual(1);
    expect(stats.inject?.stats.injected).toBe(0);
    expect(await m.stop()).toBe(0);
  });
});

describe('a mount without --inject', () => {
  it('has no inject record, and machpager inject says how to get one', async () => {
    const m = await mount({ store: `sqlite:${path.join(dir, 'plain.db')}`, mnt: path.join(dir, 'mnt-plain') });
    const stats = await machpagerJson<StatsRecord>(['stats', m.mnt]);
    expect(stats.inject).toBeUndefined();
    const r = await machpager(['inject', m.mnt, 'read=EIO']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^machpager: inject read=EIO: this mount injects no faults: mount it with --inject SPEC/);
    expect(await m.stop()).toBe(0);
  });
});
