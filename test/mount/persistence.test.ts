/**
 * Durability on a real mount, for both data stores: a clean unmount keeps
 * everything; after fsync returned, the data survives kill -9 of the daemon
 * (the next mount cleans the stale mount left behind).
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findMount } from '../../daemon/fs/fuse/mount-table.js';
import { cleanupMounts, mount, removeDir, sh, shOk, STORE_KINDS, tempDir } from '../helpers/mounted.js';

describe.each(STORE_KINDS)('persistence with the $kind store', ({ store }) => {
  let dir: string;
  let ref: string;

  beforeAll(async () => {
    dir = await tempDir('persist');
    ref = path.join(dir, 'ref');
    await shOk(`mkdir -p ${ref} ${dir}/s1 ${dir}/s2 ${dir}/s3 && head -c 9000000 /dev/urandom > ${ref}/a && head -c 123457 /dev/urandom > ${ref}/b`);
  });

  afterEach(async () => {
    await cleanupMounts();
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('unmount and mount again: every checksum still matches', async () => {
    const mnt = path.join(dir, 'mnt1');
    let m = await mount({ store: store(path.join(dir, 's1')), mnt, cacheSize: '2M' });
    await m.shOk(`mkdir -p x/y && cp ${ref}/a x/y/a && cp ${ref}/b b && ln b b2 && ln -s x/y/a s && setfattr -n user.k -v v b && chmod 604 b`);
    const before = await m.shOk('find . -type f -print0 | sort -z | xargs -0 sha256sum');
    expect(await m.stop()).toBe(0);
    expect(await findMount(mnt)).toBeUndefined();
    m = await mount({ store: store(path.join(dir, 's1')), mnt, cacheSize: '2M' });
    expect(await m.shOk('find . -type f -print0 | sort -z | xargs -0 sha256sum')).toBe(before);
    expect((await m.shOk('stat -c "%h %a" b && readlink s && getfattr --only-values -n user.k b')).trim()).toBe('2 604\nx/y/a\nv');
    await m.shOk(`cmp x/y/a ${ref}/a && cmp s ${ref}/a`);
  });

  it('kill -9 after fsync: the next mount cleans the stale mount and the fsynced data is intact', async () => {
    const mnt = path.join(dir, 'mnt2');
    const m = await mount({ store: store(path.join(dir, 's2')), mnt, cacheSize: '2M' });
    // Written and fsynced: must survive. Then more, not fsynced: may or may not.
    await m.shOk(`dd if=${ref}/a of=synced bs=64k conv=fsync status=none && mkdir -p d && dd if=${ref}/b of=d/synced2 bs=4k conv=fsync status=none && sync -f .`);
    await m.shOk(`head -c 3000000 /dev/urandom > unsynced && cp ${ref}/b d/unsynced2`);
    await m.kill9();
    // The mount is left stale: "Transport endpoint is not connected".
    expect((await sh(`stat ${mnt}`)).stderr).toMatch(/Transport endpoint is not connected/);
    const again = await mount({ store: store(path.join(dir, 's2')), mnt, cacheSize: '2M' });
    await again.shOk(`cmp synced ${ref}/a && cmp d/synced2 ${ref}/b`);
    // Whatever survived of the rest is a consistent file: readable to its end.
    await again.shOk('cat unsynced d/unsynced2 > /dev/null; ls -la . d');
    expect(await again.stop()).toBe(0);
  });

  it('an external fusermount -u is noticed: the daemon syncs and exits', async () => {
    const mnt = path.join(dir, 'mnt3');
    const m = await mount({ store: store(path.join(dir, 's3')), mnt, cacheSize: '2M' });
    await m.shOk(`cp ${ref}/b kept`);
    await shOk(`fusermount -u ${mnt}`);
    expect(await m.waitExit()).toBe(0);
    const again = await mount({ store: store(path.join(dir, 's3')), mnt, cacheSize: '2M' });
    await again.shOk(`cmp kept ${ref}/b`);
  });
});
