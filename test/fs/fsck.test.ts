/**
 * machpager fsck on stores made in this process (the filesystem through its
 * FUSE operations table, no mount), for both data stores: a clean store, a
 * damaged page (named with its file and offset; exit 4), --repair (exit 1,
 * then 0, the damaged page still EIO and the rest intact), crash leftovers
 * and a broken tree, a store in use (refused, exit 8).
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { call, ROOT } from '../helpers/in-process-fs.js';
import type { FsError } from '../../daemon/fs/errors.js';
import { acquireSqliteConnection } from '../../stores/index.js';
import { runInProcess } from '../cli/harness.js';
import { removeDir, tempDir } from '../helpers/mounted.js';

const O_RDWR = 2;
const PAGE = 4096;

async function openFs(store: string): Promise<MachFilesystem> {
  return MachFilesystem.open({ store, cacheSize: 1 << 20, pageSize: PAGE, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
}

async function writeFileIn(ops: FuseOperations, name: string, data: Buffer): Promise<void> {
  const fh = await call<number>((reply) => ops.create?.(ROOT, name, 0o644, O_RDWR, reply));
  expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, data, data.length, 0, reply))).toBe(data.length);
  await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
}

/** Read a whole file; the errno name if it fails. */
async function readFileIn(ops: FuseOperations, name: string, length: number, offset = 0): Promise<Buffer | string> {
  const fh = await call<number>((reply) => ops.open?.(ROOT, name, 0, reply));
  try {
    const into = Buffer.alloc(length);
    const n = await call<number>((reply) => ops.read?.(ROOT, name, fh, into, length, offset, reply));
    return into.subarray(0, n);
  } catch (err) {
    return (err as FsError).code;
  } finally {
    await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  }
}

const KINDS = [
  { kind: 'sqlite', store: (dir: string) => `sqlite:${dir}/fs.db`, catalog: (dir: string) => `${dir}/fs.db` },
  { kind: 'raw files', store: (dir: string) => `file:${dir}/fs`, catalog: (dir: string) => `${dir}/fs/catalog.db` },
] as const;

describe.each(KINDS)('machpager fsck, $kind store', ({ kind, store, catalog }) => {
  let dir: string;
  const a = randomBytes(5 * PAGE + 100);
  const b = randomBytes(3 * PAGE);

  beforeEach(async () => {
    dir = await tempDir('fsck');
    const fs = await openFs(store(dir));
    const ops = fs.operations();
    await writeFileIn(ops, '/a', a);
    await call<void>((reply) => ops.mkdir?.(ROOT, '/d', 0o755, reply));
    await writeFileIn(ops, '/d/b', b);
    await fs.close();
  });

  afterEach(async () => {
    await removeDir(dir);
  });

  const fsck = (...args: string[]): ReturnType<typeof runInProcess> => runInProcess(['fsck', ...args, store(dir)], { cwd: dir });

  /** Damage page 2 of /a, the way the store keeps it. */
  async function damage(): Promise<void> {
    const db = acquireSqliteConnection(catalog(dir));
    try {
      const ino = db.db.prepare<[], number>("SELECT ino FROM dirent WHERE parent = 1 AND name = 'a'").pluck().get() as number;
      if (kind === 'sqlite') {
        db.db.prepare('UPDATE store_block SET data = ? WHERE space = ? AND block = 2').run(randomBytes(PAGE), ino);
      } else {
        const file = path.join(dir, 'fs', 'data', String(ino));
        const bytes = await readFile(file);
        bytes[2 * PAGE + 5] ^= 0x55;
        await writeFile(file, bytes);
      }
    } finally {
      db.release();
    }
  }

  it('a clean store: exit 0, one summary line', async () => {
    const r = await fsck();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/4 inodes, 2 directories, 2 files, 9 pages checked: clean\n$/);
    const json = JSON.parse((await fsck('--json')).stdout) as { exit_code: number; problems: unknown[] };
    expect(json).toMatchObject({ exit_code: 0, problems: [] });
  });

  it('a damaged page: named with its file and offset, exit 4; --repair marks it (exit 1), then clean (exit 0), the rest intact', async () => {
    await damage();
    let r = await fsck();
    expect(r.code).toBe(4);
    expect(r.stdout).toContain(`/a offset ${2 * PAGE}: checksum mismatch\n`);
    r = await fsck('--repair');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`/a offset ${2 * PAGE}: checksum mismatch: fixed: page marked damaged`);
    r = await fsck();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`/a offset ${2 * PAGE}: marked damaged (reads give EIO`);
    const fs = await openFs(store(dir));
    try {
      const ops = fs.operations();
      expect(await readFileIn(ops, '/a', PAGE, 2 * PAGE)).toBe('EIO');
      expect(await readFileIn(ops, '/a', 2 * PAGE, 0)).toEqual(a.subarray(0, 2 * PAGE));
      expect(await readFileIn(ops, '/a', a.length - 3 * PAGE, 3 * PAGE)).toEqual(a.subarray(3 * PAGE));
      expect(await readFileIn(ops, '/d/b', b.length)).toEqual(b);
      expect(fs.requests.statistics().checksum_errors).toBeGreaterThanOrEqual(1);
    } finally {
      await fs.close();
    }
  });

  it('crash leftovers and a broken tree: found (exit 4), repaired (exit 1), then clean', async () => {
    const db = acquireSqliteConnection(catalog(dir));
    try {
      const sql = db.db;
      const b = sql.prepare<[], number>("SELECT ino FROM dirent WHERE name = 'b'").pluck().get() as number;
      sql.exec(`
        INSERT INTO dirent (parent, name, ino) VALUES (1, '.fuse_hidden0000000a00000001', ${b});
        UPDATE inode SET nlink = 2 WHERE ino = ${b};
        INSERT INTO dirent (parent, name, ino) VALUES (1, 'gone', 999);
        INSERT INTO inode (ino, mode, uid, gid, nlink, size, atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns)
          VALUES (500, ${0o100644}, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0), (501, ${0o100644}, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
                 (502, ${0o40755}, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0), (503, ${0o40755}, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0);
        INSERT INTO orphan (ino) VALUES (500);
        INSERT INTO dirent (parent, name, ino) VALUES (502, 'x', 503), (503, 'y', 502);
        UPDATE inode SET nlink = 7 WHERE ino = 1;
      `);
    } finally {
      db.release();
    }
    let r = await fsck();
    expect(r.code).toBe(4);
    for (const line of [
      '/.fuse_hidden0000000a00000001: a file unlinked while open, left by a crash',
      '/gone: names inode 999, which does not exist',
      '(deleted, inode 500): a file unlinked while open (nlink 0), left by a crash',
      '(inode 501, no name): an inode with 1 link(s) but no name',
      'a directory the root does not reach',
      '/: link count 7, should be 3',
    ]) expect(r.stdout).toContain(line);
    r = await fsck('--repair');
    expect(r.stdout).not.toContain('NOT fixed');
    expect(r.code).toBe(1);
    r = await fsck();
    expect(r.stdout).toMatch(/checked: clean\n$/);
    expect(r.code).toBe(0);
    const fs = await openFs(store(dir));
    try {
      const ops = fs.operations();
      expect(await readFileIn(ops, '/d/b', b.length)).toEqual(b);
      expect(await readFileIn(ops, '/a', a.length)).toEqual(a);
      expect(await call<readonly string[]>((reply) => ops.readdir?.(ROOT, '/lost+found', reply))).toEqual(expect.arrayContaining(['#501']));
    } finally {
      await fs.close();
    }
  });

  it('a store in use (its lock held by a live process) is refused: one line, exit 8, nothing changed', async () => {
    const lock = kind === 'sqlite' ? `${dir}/fs.db.lock` : `${dir}/fs/catalog.db.lock`;
    const stat = (await readFile(`/proc/${process.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ')[19];
    await writeFile(lock, `${process.pid} ${stat}\n`);
    await damage();
    const r = await fsck('--repair');
    expect(r.code).toBe(8);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^machpager: fsck: .* in use by process \d+.*unmount it first/);
    expect(r.stdout).toBe('');
  });
});

describe('machpager fsck, bad arguments', () => {
  it('no store, a missing store, a bad name: exit 16 or 8, one line, nothing made', async () => {
    const cwd = await tempDir('fsck-args');
    try {
      expect((await runInProcess(['fsck'], { cwd })).code).toBe(16);
      for (const store of ['missing.db', 'missing-dir', 'sqlite:', 'bogus:x', path.join(os.tmpdir(), 'machpager-no-such-store.db')]) {
        const r = await runInProcess(['fsck', store], { cwd });
        expect(r.code, store).toBe(8);
        expect(r.lines, store).toHaveLength(1);
      }
      expect((await runInProcess(['fsck', 'mnt'], { cwd })).opened).toEqual([]);
      expect(await import('node:fs/promises').then((f) => f.readdir(cwd))).toEqual([]);
    } finally {
      await removeDir(cwd);
    }
  });
});
