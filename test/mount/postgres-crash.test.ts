/**
 * A postgres: store under failure: kill -9 of the daemon while a program
 * writes (the rounds of crash.test.ts: every fsynced file intact after the
 * next mount, fsck clean), and the server stopped under a live mount:
 * accesses that need it fail with EIO (a read of pages not in the cache, an
 * fsync), the namespace in memory goes on answering, and once the server is
 * back the mount serves again and makes durable what it kept, so a remount
 * finds it all.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crashRounds } from '../helpers/crash-rounds.js';
import { cleanupMounts, machpager, mount, shOk } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';

const cluster = usePostgresCluster('pgcrash');
const dir = mountsDir('pgcrash');

afterEach(async () => {
  await cleanupMounts();
});

describe('kill -9 during writes with the postgres: store', () => {
  it('every fsynced file is intact after each remount, and fsck clean with no --repair', async () => {
    await cluster().createDatabase('crash');
    const work = path.join(dir(), 'crash');
    await mkdir(work);
    await crashRounds(cluster().uri('crash'), work);
  }, 240_000);
});

describe('the server goes away under a live mount', () => {
  it('gives EIO to what needs it, and the mount recovers when it is back, losing nothing', async () => {
    await cluster().createDatabase('loss');
    const store = cluster().uri('loss');
    const mnt = path.join(dir(), 'loss-mnt');
    const ref = path.join(dir(), 'loss-ref');
    await shOk(`mkdir -p ${ref} && head -c 3000000 /dev/urandom > ${ref}/old && head -c 1000000 /dev/urandom > ${ref}/new`);
    // `old` is written and the daemon stopped, so the next mount holds none of its pages.
    let m = await mount({ store, mnt, cacheSize: '2M' });
    await m.shOk(`cp ${ref}/old old && sync`);
    expect(await m.stop()).toBe(0);
    m = await mount({ store, mnt, cacheSize: '2M' });

    await cluster().stop();
    try {
      // Pages not in the cache: the read needs the server.
      const read = await m.sh('cat old > /dev/null');
      expect(read.code).not.toBe(0);
      expect(read.stderr).toMatch(/Input\/output error/);
      // The namespace is in memory: lookups and new names go on.
      await m.shOk('ls -l old && mkdir d');
      // New data is taken into the cache, but fsync cannot make it durable.
      const fsync = await m.sh(`dd if=${ref}/new of=d/new bs=64k conv=fsync status=none`);
      expect(fsync.code).not.toBe(0);
      expect(fsync.stderr).toMatch(/Input\/output error/);
    } finally {
      await cluster().start();
    }

    // Back: the same mount reads, and syncs what it kept.
    await m.shOk(`cmp old ${ref}/old`);
    await m.shOk(`dd if=${ref}/new of=d/new bs=64k conv=fsync status=none && cmp d/new ${ref}/new && sync`);
    await m.kill9();
    await shOk(`fusermount -uz ${mnt}`);

    m = await mount({ store, mnt, cacheSize: '2M' });
    await m.shOk(`cmp old ${ref}/old && cmp d/new ${ref}/new`);
    expect(await m.stop()).toBe(0);
    const fsck = await machpager(['fsck', store]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  }, 120_000);
});
