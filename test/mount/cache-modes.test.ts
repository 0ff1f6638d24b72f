/**
 * The two cache modes. 'direct' (FUSE direct_io, the default): every read
 * and write reaches machpager's page cache; shared mmap works on Linux 6.6+
 * (test/mount/mmap.test.ts). 'kernel': Linux's page cache sits in front, mmap
 * works, and machpager's cache sees only what Linux misses.
 * Data must be right either way.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, mount, removeDir, shOk, tempDir } from '../helpers/mounted.js';

const MMAP_WRITE = `python3 -c "
import mmap, os
fd = os.open('mapped', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 65536)
m = mmap.mmap(fd, 65536, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[4096:4101] = b'hello'
m.flush()
m.close()
os.close(fd)
"`;

describe('cache modes', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('modes');
    await shOk(`mkdir -p ${dir}/ref && head -c 5000000 /dev/urandom > ${dir}/ref/a`);
  });

  afterAll(async () => {
    await cleanupMounts();
    await removeDir(dir);
  });

  for (const mode of ['direct', 'kernel'] as const) {
    it(`${mode}: files round trip, also across a remount`, async () => {
      const mnt = path.join(dir, `mnt-${mode}`);
      const store = `sqlite:${dir}/${mode}.db`;
      let m = await mount({ store, mnt, cacheSize: '1M', cacheMode: mode });
      await m.shOk(`cp ${dir}/ref/a a && cmp a ${dir}/ref/a && dd if=a bs=333 skip=77 count=99 status=none | cmp - <(dd if=${dir}/ref/a bs=333 skip=77 count=99 status=none)`);
      await m.stop();
      m = await mount({ store, mnt, cacheSize: '1M', cacheMode: mode });
      await m.shOk(`cmp a ${dir}/ref/a`);
    });
  }

  it('kernel: shared writable mmap works, and the data reaches the store', async () => {
    const store = `sqlite:${dir}/mmap-kernel.db`;
    const mnt = path.join(dir, 'mnt-mmap-kernel');
    let m = await mount({ store, mnt, cacheMode: 'kernel' });
    await m.shOk(MMAP_WRITE);
    expect(await m.shOk('dd if=mapped bs=1 skip=4096 count=5 status=none')).toBe('hello');
    await m.stop();
    m = await mount({ store, mnt, cacheMode: 'direct' });
    expect(await m.shOk('dd if=mapped bs=1 skip=4096 count=5 status=none')).toBe('hello');
    expect((await m.shOk('stat -c %s mapped')).trim()).toBe('65536');
  });
});
