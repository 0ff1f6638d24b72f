/**
 * Never wrong data, on a real mount, for both data stores: files written
 * and unmounted cleanly; bytes flipped inside the synced store (and, for
 * SQLite, a block rewritten behind the checksum's back; for raw files, a
 * data file cut short); after remounting, the damaged pages fail with EIO,
 * the rest of the file and the other files read right; machpager fsck names
 * the file and offset (exit 4); --repair (exit 1) leaves every undamaged
 * file intact and a second fsck clean (exit 0).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acquireSqliteConnection } from '../../stores/index.js';
import { cleanupMounts, machpager, machpagerJson, mount, removeDir, shOk, STORE_KINDS, tempDir, type Mounted } from '../helpers/mounted.js';

const PAGE = 4096;
/** The damaged page of `pat`, and of `cut` the first page lost. */
const BAD = 5;
const MARKER = (page: number): string => `MPCHK-PAGE-${String(page).padStart(6, '0')}`;

/** Flip every occurrence of `marker` in `file` (the store's bytes, not through SQLite). Resolves how many. */
async function flip(file: string, marker: string): Promise<number> {
  const bytes = await readFile(file);
  const needle = Buffer.from(marker);
  let count = 0;
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    const handle = await open(file, 'r+');
    try {
      await handle.write(Buffer.from(marker.toLowerCase()), 0, needle.length, at);
    } finally {
      await handle.close();
    }
    count++;
  }
  return count;
}

/** Invert one byte of `file` at `offset`. */
async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** sha256 of a range of pages of a file on the mount, with dd (in a child process). */
function pagesSha(m: Mounted, file: string, skip: number, count: number): Promise<string> {
  return m.shOk(`dd if=${file} bs=${PAGE} skip=${skip} count=${count} status=none | sha256sum`);
}

describe.each(STORE_KINDS)('damaged data on a real mount, $kind store', ({ kind, store }) => {
  let dir: string;
  let ref: string;

  beforeAll(async () => {
    dir = await tempDir('checksums');
    ref = path.join(dir, 'ref');
    // pat: 16 pages, each starting with a marker to find it in the store by; the others random.
    await shOk(
      `mkdir -p ${ref} ${dir}/s && for i in $(seq 0 15); do printf 'MPCHK-PAGE-%06d' $i; head -c 4079 /dev/urandom; done > ${ref}/pat && ` +
        `head -c 300000 /dev/urandom > ${ref}/cut && head -c 1234567 /dev/urandom > ${ref}/other && head -c 40000 /dev/urandom > ${ref}/blob`,
    );
  });

  afterEach(async () => {
    await cleanupMounts();
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it('damaged pages read as EIO, the rest reads right; fsck names them (4); --repair (1); then clean (0)', async () => {
    const name = store(path.join(dir, 's'));
    const mnt = path.join(dir, 'mnt');
    let m = await mount({ store: name, mnt });
    await m.shOk(`mkdir d && cp ${ref}/pat pat && cp ${ref}/cut d/cut && cp ${ref}/other other && cp ${ref}/blob blob`);
    const inos = Object.fromEntries(
      (await m.shOk('stat -c "%n %i" pat d/cut blob'))
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );
    const sums = await m.shOk('sha256sum pat d/cut other blob');
    expect(await m.stop()).toBe(0);

    // The damage, done to the synced store while nothing serves it.
    if (kind === 'sqlite') {
      expect(await flip(path.join(dir, 's', 'fs.db'), MARKER(BAD))).toBeGreaterThan(0);
      // cut and blob: a block's bytes replaced behind the checksum's back, through SQLite.
      const db = acquireSqliteConnection(path.join(dir, 's', 'fs.db'));
      try {
        const update = db.db.prepare<[Buffer, number, number]>('UPDATE store_block SET data = ? WHERE space = ? AND block = ?');
        expect(update.run(randomBytes(PAGE), Number(inos['d/cut']), BAD).changes).toBe(1);
        expect(update.run(randomBytes(PAGE), Number(inos.blob), 0).changes).toBe(1);
      } finally {
        db.release();
      }
    } else {
      // file:DIR keeps inode INO's data in DIR/data/INO.
      const data = (ino: string | undefined): string => path.join(name.slice('file:'.length), 'data', String(ino));
      expect(await flip(data(inos.pat), MARKER(BAD))).toBe(1);
      await truncate(data(inos['d/cut']), BAD * PAGE + 100);
      await flipByte(data(inos.blob), 10);
    }

    m = await mount({ store: name, mnt });
    const bad = await m.sh(`dd if=pat of=/dev/null bs=${PAGE} skip=${BAD} count=1`);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Input\/output error/);
    expect((await m.sh(`dd if=d/cut of=/dev/null bs=${PAGE} skip=${BAD} count=1`)).stderr).toMatch(/Input\/output error/);
    expect((await m.sh('cat blob > /dev/null')).stderr).toMatch(/Input\/output error/);
    // The rest of each file, and the other file, read right.
    expect(await pagesSha(m, 'pat', 0, BAD)).toBe(await shOk(`dd if=${ref}/pat bs=${PAGE} skip=0 count=${BAD} status=none | sha256sum`));
    expect(await pagesSha(m, 'pat', BAD + 1, 100)).toBe(await shOk(`dd if=${ref}/pat bs=${PAGE} skip=${BAD + 1} status=none | sha256sum`));
    expect(await pagesSha(m, 'd/cut', 0, BAD)).toBe(await shOk(`dd if=${ref}/cut bs=${PAGE} count=${BAD} status=none | sha256sum`));
    await m.shOk(`cmp other ${ref}/other`);
    const stats = await machpagerJson<{ pager: { checksum_errors: number } }>(['stats', mnt]);
    expect(stats.pager.checksum_errors).toBeGreaterThanOrEqual(3);
    expect(m.log).toMatch(new RegExp(`damaged data: /pat \\(inode \\d+\\) at offset ${BAD * PAGE}`));
    expect(await m.stop()).toBe(0);

    let r = await machpager(['fsck', name]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout).toContain(`/pat offset ${BAD * PAGE}: checksum mismatch`);
    expect(r.stdout).toMatch(new RegExp(`/d/cut offset ${BAD * PAGE}: (checksum mismatch|missing)`));
    expect(r.stdout).toContain('/blob offset 0: checksum mismatch');
    r = await machpager(['fsck', '--repair', name]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).not.toContain('NOT fixed');
    r = await machpager(['fsck', name]);
    expect(r.code, r.stdout + r.stderr).toBe(0);

    m = await mount({ store: name, mnt });
    await m.shOk(`cmp other ${ref}/other`);
    expect(await pagesSha(m, 'pat', BAD + 1, 100)).toBe(await shOk(`dd if=${ref}/pat bs=${PAGE} skip=${BAD + 1} status=none | sha256sum`));
    expect((await m.sh(`dd if=pat of=/dev/null bs=${PAGE} skip=${BAD} count=1`)).stderr).toMatch(/Input\/output error/);
    // Written again, the damaged file is whole again.
    await m.shOk(`cp ${ref}/pat pat && cp ${ref}/cut d/cut && cp ${ref}/blob blob`);
    expect(await m.shOk('sha256sum pat d/cut other blob')).toBe(sums);
    expect(await m.stop()).toBe(0);
    expect((await machpager(['fsck', name])).code).toBe(0);
  });

  it('fsck refuses the store while it is mounted: one line, exit 8', async () => {
    const name = store(path.join(dir, 's2'));
    await shOk(`mkdir -p ${dir}/s2`);
    const m = await mount({ store: name, mnt: path.join(dir, 'mnt2') });
    await m.shOk(`cp ${ref}/blob blob`);
    const r = await machpager(['fsck', '--repair', name]);
    expect(r.code).toBe(8);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is mounted on .*unmount it first|in use by process/);
    await m.shOk(`cmp blob ${ref}/blob`);
    expect(await m.stop()).toBe(0);
  });
});
