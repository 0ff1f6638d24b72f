/**
 * `machpager snapshot FILE NEWFILE` on a real mount, both data stores: the
 * copy reads the same at once; a write to either leaves the other unchanged;
 * the store grows by the pages written, not by the file's size; `files`
 * shows the shared pages; the snapshot survives kill -9 after fsync and a
 * remount; fsck finds nothing; bad requests get one clear error.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../../daemon/control/protocol.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { cleanupMounts, machpager, mount, removeDir, sh, shOk, STORE_KINDS, tempDir } from '../helpers/mounted.js';

const MIB = 1024 * 1024;

describe.each(STORE_KINDS)('snapshot on a real mount, $kind store', ({ store }) => {
  let dir: string;
  let ref: string;

  beforeAll(async () => {
    dir = await tempDir('snapshot');
    ref = path.join(dir, 'ref');
    await shOk(`mkdir -p ${ref} ${dir}/s && head -c ${8 * MIB} /dev/urandom > ${ref}/a && head -c 8192 /dev/urandom > ${ref}/patch`);
  });

  afterEach(async () => {
    await cleanupMounts();
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  /** Bytes the store takes on disk (allocated blocks: the database and its WAL, or the directory). */
  const onDisk = async (): Promise<number> => Number((await shOk(`du -sB1 ${dir}/s | cut -f1`)).trim());

  it('shares pages until written, keeps each side unchanged by the other, survives kill -9 and remount, fsck clean', async () => {
    const name = store(path.join(dir, 's'));
    const mnt = path.join(dir, 'mnt');
    let m = await mount({ store: name, mnt, cacheSize: '4M' });
    await m.shOk(`cp ${ref}/a a`);
    // Sizes are compared after clean stops: SQLite's WAL is checkpointed into the database then.
    expect(await m.stop()).toBe(0);
    const before = await onDisk();

    m = await mount({ store: name, mnt, cacheSize: '4M' });
    const made = await machpager(['snapshot', `${mnt}/a`, `${mnt}/b`]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/b: snapshot of .*a, 2048 pages shared/);
    const pageins = async (): Promise<number> => (JSON.parse((await machpager(['stats', '--json', mnt])).stdout) as StatsRecord).pageins;
    const fresh = await pageins();
    await m.shOk('dd if=a of=/dev/null bs=64k count=8 status=none');
    const readA = await pageins();
    // The copy reads the pages of a resident in the cache (its object is a delayed copy of a's): the
    // same megabyte of b is paged in no second time (what it reads ahead comes from a's pages too).
    await m.shOk('dd if=b of=/dev/null bs=64k count=8 status=none');
    const readB = await pageins();
    expect(readA - fresh).toBeGreaterThanOrEqual(128);
    expect(readB - readA).toBeLessThan((readA - fresh) / 4);
    await m.shOk(`cmp a b && cmp b ${ref}/a`);
    const files = JSON.parse((await machpager(['files', '--json', `${mnt}/b`])).stdout) as FileRecord[];
    expect(files[0]?.shared_pages).toBe(2048);
    const stats = JSON.parse((await machpager(['stats', '--json', mnt])).stdout) as StatsRecord;
    expect(stats.fs.snapshots).toBe(1);
    expect(stats.fs.shared_pages).toBe(2048);

    // A write to each side, fsynced: the other keeps what it had.
    // b held open meanwhile: its object is a delayed copy of a's, and the write to a pushes first.
    await m.shOk(`exec 3<b && dd if=${ref}/patch of=a bs=4096 seek=10 conv=notrunc,fsync status=none && cmp -n 8192 -i ${10 * 4096}:${10 * 4096} - ${ref}/a <&3`);
    await m.shOk(`dd if=${ref}/patch of=b bs=4096 seek=100 conv=notrunc,fsync status=none`);
    const cow = JSON.parse((await machpager(['stats', '--json', mnt])).stdout) as StatsRecord;
    expect(cow.copy_pushes).toBeGreaterThanOrEqual(2);
    expect(cow.cow_faults).toBeGreaterThanOrEqual(2);
    await m.shOk(`cmp -n ${100 * 4096} b ${ref}/a && cmp -i ${102 * 4096} b ${ref}/a && cmp -n 8192 -i ${100 * 4096}:0 b ${ref}/patch`);
    await m.shOk(`cmp -n ${10 * 4096} a ${ref}/a && cmp -i ${12 * 4096} a ${ref}/a && cmp -n 8192 -i ${10 * 4096}:0 a ${ref}/patch`);
    const shared = JSON.parse((await machpager(['files', '--json', `${mnt}/b`])).stdout) as FileRecord[];
    expect(shared[0]?.shared_pages).toBe(2048 - 4);
    expect(await m.stop()).toBe(0);
    // Two files of 8 MiB: the store grew by the 6 pages written or pushed and the catalog rows, not by a copy.
    expect(await onDisk()).toBeLessThan(before + MIB);

    m = await mount({ store: name, mnt, cacheSize: '4M' });
    const sums = await m.shOk('sha256sum a b');
    // Written and fsynced after the snapshot, then kill -9: both sides as they were.
    await m.shOk(`dd if=/dev/zero of=a bs=4096 seek=500 count=3 conv=notrunc,fsync status=none`);
    const synced = await m.shOk('sha256sum a b');
    expect(synced.split('\n')[1]).toBe(sums.split('\n')[1]);
    await m.kill9();
    const again = await mount({ store: name, mnt, cacheSize: '4M' });
    expect(await again.shOk('sha256sum a b')).toBe(synced);
    expect(await again.stop()).toBe(0);
    const fsck = await machpager(['fsck', name]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });

  it('refuses a directory, an existing NEWFILE, and a path outside any mount, with one clear line', async () => {
    const mnt = path.join(dir, 'mnt-errors');
    await shOk(`mkdir -p ${dir}/e`);
    const m = await mount({ store: store(path.join(dir, 'e')), mnt, cacheSize: '2M' });
    await m.shOk('mkdir d && echo x > f && echo y > g');
    const dirCase = await machpager(['snapshot', `${mnt}/d`, `${mnt}/d2`]);
    expect(dirCase.code).not.toBe(0);
    expect(dirCase.stderr).toMatch(/is a directory/);
    const exists = await machpager(['snapshot', `${mnt}/f`, `${mnt}/g`]);
    expect(exists.code).not.toBe(0);
    expect(exists.stderr).toMatch(/exists/);
    const outside = await machpager(['snapshot', `${mnt}/f`, `${dir}/elsewhere`]);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(/not in a machpager mount|different mounts/);
    expect((await sh('cat g', { cwd: mnt })).stdout).toBe('y\n');
  });
});
