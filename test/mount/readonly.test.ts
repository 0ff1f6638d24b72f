/** A store mounted read-only (-o ro): everything reads, nothing changes, every change is EROFS. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, mount, removeDir, shOk, tempDir } from '../helpers/mounted.js';

describe('read-only mount', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('ro');
    await shOk(`mkdir -p ${dir}/s`);
  });

  afterAll(async () => {
    await cleanupMounts();
    await removeDir(dir);
  });

  it('reads what is there and refuses every change with EROFS', async () => {
    const store = `sqlite:${dir}/s/fs.db`;
    const mnt = path.join(dir, 'mnt');
    const rw = await mount({ store, mnt });
    await rw.shOk('mkdir d && echo content > d/f && ln -s d/f l');
    await rw.stop();
    const before = await shOk(`sha256sum ${dir}/s/fs.db`);
    const ro = await mount({ store, mnt, options: ['ro', 'allow_other'] });
    expect((await ro.shOk('cat d/f l')).trim()).toBe('content\ncontent');
    for (const change of ['echo x > d/g', 'echo y >> d/f', 'rm d/f', 'mkdir e', 'mv d e', 'chmod 600 d/f', 'touch d/f', 'truncate -s 0 d/f', 'setfattr -n user.a -v b d/f']) {
      const r = await ro.sh(change);
      expect(r.code, change).not.toBe(0);
      expect(r.stderr, change).toMatch(/Read-only file system/);
    }
    await ro.stop();
    expect(await shOk(`sha256sum ${dir}/s/fs.db`)).toBe(before);
  });
});
