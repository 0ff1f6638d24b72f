/**
 * A full disk on a real mount, for both data stores: the store lives on a
 * 12 MiB tmpfs, the page cache (4 MiB) is smaller than the write (32 MiB).
 * - the write gets ENOSPC at write() (at the latest at fsync), never EIO and
 *   never success for everything; what write() took is stored (fsync 0);
 * - with the tmpfs filled to the last byte by someone else, and across a
 *   remount, rm of an earlier file works (the reserve) and frees space;
 * - once the tmpfs grows (remount,size=64M), the write works, fsync says 0,
 *   and the data is right, also after unmount and mount.
 * Needs root (tmpfs). Every tmpfs mounted here is unmounted, also on failure.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { cleanupMounts, machpagerJson, mount, removeDir, sh, shOk, STORE_KINDS, tempDir, type Mounted } from '../helpers/mounted.js';

const tmpfsMounts = new Set<string>();

async function mountTmpfs(dir: string, size: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await shOk(`mount -t tmpfs -o size=${size},mode=0755 machpager-test ${dir}`);
  tmpfsMounts.add(dir);
}

async function unmountTmpfs(): Promise<void> {
  const failures: string[] = [];
  for (const dir of tmpfsMounts) {
    const r = await sh(`umount ${dir} || umount -l ${dir}`);
    if (r.code !== 0) failures.push(`umount ${dir}: ${r.stderr}`);
    tmpfsMounts.delete(dir);
  }
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

/** statfs of the mount, as the kernel reports it to programs: [blocks, free, available] in blocks of `size`. */
async function df(m: Mounted): Promise<{ used: number; available: number }> {
  const [blocks, free, available, size] = (await m.shOk('stat -f -c "%b %f %a %S" .')).trim().split(' ').map(Number);
  return { used: (blocks - free) * size, available: available * size };
}

describe.each(STORE_KINDS)('a full disk with the $kind store', ({ kind, store }) => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('fulldisk');
    await shOk(`head -c 1000000 /dev/urandom > ${dir}/early.ref && head -c 33554432 /dev/urandom > ${dir}/big.ref`);
  });

  afterEach(async () => {
    // Daemons first (their store is on the tmpfs), then the tmpfs: both also when the test failed.
    try {
      await cleanupMounts();
    } finally {
      await unmountTmpfs();
    }
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('ENOSPC at write(), rm works on the full disk and across a remount, and the write works once there is room', async () => {
    const disk = path.join(dir, `disk-${kind === 'sqlite' ? 'sqlite' : 'file'}`);
    const mnt = path.join(dir, `mnt-${kind === 'sqlite' ? 'sqlite' : 'file'}`);
    await mountTmpfs(disk, '12M');
    const name = store(disk);
    let m = await mount({ store: name, mnt, cacheSize: '4M' });
    await m.shOk(`cp ${dir}/early.ref early && sync early`);

    // 32 MiB onto 12 MiB: a write() fails with ENOSPC; not EIO, and not success for all of it.
    const big = await m.sh(`dd if=${dir}/big.ref of=big bs=128k conv=fsync status=none`);
    expect(big.code).not.toBe(0);
    expect(big.stderr).toMatch(/No space left on device/);
    expect(big.stderr).not.toMatch(/Input\/output error/);
    // What write() took was promised room: it is stored (fsync says 0), and reads back.
    await m.shOk('sync big');
    const stored = Number((await m.shOk('stat -c %s big')).trim());
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(32 * 1024 * 1024);
    await m.shOk(`cmp -n ${stored} big ${dir}/big.ref`);
    expect(await m.stop(), m.log).toBe(0);

    // Someone else fills the disk to the last byte; the next mount still removes files.
    await sh(`dd if=/dev/zero of=${disk}/filler bs=64k status=none`);
    expect((await shOk(`stat -f -c %a ${disk}`)).trim()).toBe('0');
    m = await mount({ store: name, mnt, cacheSize: '4M' });
    const before = await df(m);
    const rm = await m.sh('rm early');
    expect(rm.stderr).toBe('');
    expect(rm.code).toBe(0);
    expect((await m.sh('ls early')).code).not.toBe(0);
    expect((await df(m)).used).toBeLessThan(before.used);
    // A new file on the full disk: ENOSPC, never EIO.
    const full = await m.sh(`dd if=${dir}/big.ref of=more bs=128k count=64 conv=fsync status=none`);
    expect(full.stderr).toMatch(/No space left on device/);
    expect(await m.stop(), m.log).toBe(0);

    // Room again: the whole write works, fsync says 0, and the data is right, also after a remount.
    await shOk(`mount -o remount,size=64M ${disk} && rm ${disk}/filler`);
    m = await mount({ store: name, mnt, cacheSize: '4M' });
    await m.shOk(`rm -f more && dd if=${dir}/big.ref of=big bs=128k conv=fsync status=none`);
    const sum = (await shOk(`sha256sum < ${dir}/big.ref`)).trim();
    expect((await m.shOk('sha256sum < big')).trim()).toBe(sum);
    expect((await df(m)).available).toBeGreaterThan(0);
    expect(await m.stop(), m.log).toBe(0);
    m = await mount({ store: name, mnt, cacheSize: '4M' });
    expect((await m.shOk('sha256sum < big')).trim()).toBe(sum);
    expect(await m.stop(), m.log).toBe(0);
    // The reserve was made again once there was room.
    const reserve = kind === 'sqlite' ? `${disk}/fs.db-reserve` : `${disk}/data/catalog.db-reserve`;
    expect(Number((await shOk(`stat -c %s ${reserve}`)).trim())).toBeGreaterThanOrEqual(1024 * 1024);
  });

  it('a write-back the full disk refuses after write() took it: fsync says ENOSPC and the data stays readable; once room returns fsync says 0 and it is intact, also after a remount', async () => {
    const label = kind === 'sqlite' ? 'sqlite' : 'file';
    const disk = path.join(dir, `late-${label}`);
    const mnt = path.join(dir, `late-mnt-${label}`);
    // Room for the write and for what the store sets aside for its own log (SQLite: the cache's worth).
    await mountTmpfs(disk, '64M');
    let m = await mount({ store: store(disk), mnt, cacheSize: '16M' });
    // 2 MiB written into the cache (room was there at write()), not yet stored...
    await m.shOk(`head -c 2097152 ${dir}/big.ref > late`);
    // ...then someone else takes the whole disk.
    await sh(`dd if=/dev/zero of=${disk}/filler bs=64k status=none`);
    const failed = await m.sh('sync late');
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/No space left on device/);
    // Asked again: still ENOSPC, never 0 while the data is not stored; and it reads back right.
    expect((await m.sh('sync late')).stderr).toMatch(/No space left on device/);
    await m.shOk(`cmp late <(head -c 2097152 ${dir}/big.ref)`);
    const stats = await machpagerJson<StatsRecord>(['stats', m.mnt]);
    expect(stats.pager.pages_held).toBeGreaterThan(0);
    // Room again: fsync says 0, and the data is right, also after unmount and mount.
    await shOk(`rm ${disk}/filler`);
    await m.shOk('sync late');
    expect(await m.stop(), m.log).toBe(0);
    m = await mount({ store: store(disk), mnt, cacheSize: '16M' });
    await m.shOk(`cmp late <(head -c 2097152 ${dir}/big.ref)`);
    expect(await m.stop(), m.log).toBe(0);
  });
});
