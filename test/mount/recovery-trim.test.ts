/**
 * On a real mount, for both data stores: data a crash leaves past a file's
 * size (planted into the store while no daemon serves it, after a kill -9)
 * is gone once the next mount has recovered: it says so, one line per
 * file; the files read as before; growing one by truncate and the other by
 * a write past its end shows zeros where the planted bytes were; fsck
 * (which found the leftovers before the mount) is clean after it, with no
 * --repair.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDataStore } from '../../daemon/fs/data-store.js';
import { cleanupMounts, machpager, mount, removeDir, sh, STORE_KINDS, tempDir } from '../helpers/mounted.js';

const PAGE = 4096;
const SIZE = 2 * PAGE + 1808;

/** What a write-back before the crash leaves: the last page full to its end, and two pages past it. */
async function plant(store: string, names: readonly string[]): Promise<void> {
  const data = await openDataStore(store, { create: false, pageSize: PAGE, readOnly: false });
  try {
    for (const name of names) {
      const ino = data.catalog.db.prepare<[string], number>('SELECT ino FROM dirent WHERE parent = 1 AND name = ?').pluck().get(name);
      if (ino === undefined) throw new Error(`no /${name} in ${store}`);
      const s = await data.open(ino);
      try {
        const last = Buffer.alloc(PAGE);
        await s.read(2 * PAGE, last);
        last.fill(0x42, SIZE - 2 * PAGE);
        // As the pager writes back: a raw file's store is grown first.
        if (7 * PAGE > s.size) await s.setSize(7 * PAGE);
        await s.write(2 * PAGE, last);
        await s.write(5 * PAGE, Buffer.alloc(2 * PAGE, 0x43));
        await s.sync();
      } finally {
        await s.close();
      }
    }
  } finally {
    await data.close();
  }
}

/** How many bytes of `file` in [from, to) are not zero, as `wc -c` prints it. */
async function nonZero(mnt: string, file: string, from: number, to: number): Promise<string> {
  const r = await sh(`head -c ${to} ${JSON.stringify(path.join(mnt, file))} | tail -c +${from + 1} | tr -d '\\0' | wc -c`);
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe.each(STORE_KINDS)('mount recovery trims data past file sizes, $kind store', ({ store }) => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('trim');
  });

  afterEach(async () => {
    await cleanupMounts();
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('planted after a kill -9: gone after the next mount, zeros past the end, fsck clean with no --repair', async () => {
    const name = store(dir);
    const mnt = path.join(dir, 'mnt');
    let m = await mount({ store: name, mnt });
    await m.sh(`for f in f g; do head -c ${SIZE} /dev/urandom > $f && sync $f; done`);
    const sums = (await m.sh('sha256sum f g')).stdout;
    await m.kill9();
    await sh(`fusermount -uz ${JSON.stringify(mnt)}`);

    await plant(name, ['f', 'g']);
    const before = await machpager(['fsck', name]);
    expect(before.code, before.stdout).toBe(4);
    expect(before.stdout).toContain(`/f offset ${3 * PAGE}: page data past the file's size ${SIZE}`);

    m = await mount({ store: name, mnt });
    const dropped = 4 * PAGE + (3 * PAGE - SIZE);
    for (const f of ['f', 'g']) expect(m.log).toContain(`recovery: /${f}: ${dropped} bytes past its size ${SIZE} dropped`);
    expect((await m.sh('sha256sum f g && stat -c %s f g')).stdout).toBe(`${sums}${SIZE}\n${SIZE}\n`);
    await m.sh(`truncate -s ${8 * PAGE} f && printf z | dd of=g bs=1 seek=${8 * PAGE} conv=notrunc status=none`);
    expect(await nonZero(mnt, 'f', SIZE, 8 * PAGE)).toBe('0');
    expect(await nonZero(mnt, 'g', SIZE, 8 * PAGE)).toBe('0');
    expect(await m.stop()).toBe(0);

    const after = await machpager(['fsck', name]);
    expect(after.code, after.stdout).toBe(0);
  });
});
