/**
 * `snapshot` on a filesystem in this process, both data stores: the copy
 * reads the same at once; a write to either leaves the other unchanged;
 * pages neither wrote stay shared in the store (the copy stores only what
 * was written since); truncate and unlink of the source push what the copy
 * still shares; a snapshot of a snapshot; it all survives a reopen, and fsck
 * finds nothing.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDataStore } from '../../daemon/fs/data-store.js';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { snapshotFile } from '../../daemon/fs/snapshot.js';
import { PagerError } from '../../daemon/pager/index.js';
import { runInProcess } from '../cli/harness.js';
import { call, ROOT } from '../helpers/in-process-fs.js';
import { removeDir, tempDir } from '../helpers/mounted.js';

const O_RDWR = 2;
const PAGE = 4096;
const PAGES = 16;

const KINDS = [
  { kind: 'sqlite', store: (dir: string) => `sqlite:${dir}/fs.db` },
  { kind: 'raw files', store: (dir: string) => `file:${dir}/fs` },
] as const;

async function openFs(store: string): Promise<MachFilesystem> {
  return MachFilesystem.open({ store, cacheSize: 1 << 20, pageSize: PAGE, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
}

async function writeAt(ops: FuseOperations, name: string, data: Buffer, offset: number, create = false): Promise<void> {
  const fh = await call<number>((reply) => (create ? ops.create?.(ROOT, name, 0o644, O_RDWR, reply) : ops.open?.(ROOT, name, O_RDWR, reply)));
  try {
    expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, data, data.length, offset, reply))).toBe(data.length);
    await call<void>((reply) => ops.fsync?.(ROOT, name, false, fh, reply));
  } finally {
    await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  }
}

async function readAll(ops: FuseOperations, name: string): Promise<Buffer> {
  const fh = await call<number>((reply) => ops.open?.(ROOT, name, 0, reply));
  try {
    const into = Buffer.alloc(PAGES * PAGE + PAGE);
    const n = await call<number>((reply) => ops.read?.(ROOT, name, fh, into, into.length, 0, reply));
    return into.subarray(0, n);
  } finally {
    await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  }
}

describe.each(KINDS)('snapshot, $kind store', ({ store }) => {
  let dir: string;
  let fs: MachFilesystem | undefined;
  const data = randomBytes(PAGES * PAGE);

  beforeEach(async () => {
    dir = await tempDir('snapshot');
    fs = await openFs(store(dir));
    await writeAt(fs.operations(), '/a', data, 0, true);
  });

  afterEach(async () => {
    await fs?.close();
    fs = undefined;
    await removeDir(dir);
  });

  /** Bytes of page data `name` holds itself on disk: SQLite rows, or the raw file's allocated blocks. */
  const ownBytes = async (name: string): Promise<number> => {
    const ino = fs?.catalog.lookup(1, name) ?? 0;
    if (store(dir).startsWith('sqlite:')) return ((await fs?.data.storedPages(ino))?.length ?? -1) * PAGE;
    const info = await stat(path.join(dir, 'fs', 'data', String(ino))).catch(() => undefined);
    return info ? info.blocks * 512 : 0;
  };

  it('reads the same at once, shares every page in the store, and a write to either leaves the other unchanged', async () => {
    if (!fs) throw new Error('no fs');
    const ops = fs.operations();
    const made = await snapshotFile(fs, '/a', '/b');
    expect(made.shared_pages).toBe(PAGES);
    expect(await readAll(ops, '/b')).toEqual(data);
    expect(await ownBytes('b')).toBe(0);

    await writeAt(ops, '/a', Buffer.alloc(PAGE, 1), 2 * PAGE);
    await writeAt(ops, '/b', Buffer.alloc(10, 2), 5 * PAGE);
    const a = Buffer.from(data);
    a.fill(1, 2 * PAGE, 3 * PAGE);
    const b = Buffer.from(data);
    b.fill(2, 5 * PAGE, 5 * PAGE + 10);
    expect(await readAll(ops, '/a')).toEqual(a);
    expect(await readAll(ops, '/b')).toEqual(b);
    // The copy holds the page pushed from /a and the one it wrote; the other 14 are /a's.
    expect(await ownBytes('b')).toBeLessThanOrEqual(2 * PAGE);
    expect(fs.sharedPages.sharedPages(made.ino, made.size)).toBe(PAGES - 2);

    // A snapshot of the snapshot, then zeros written to the middle one.
    await snapshotFile(fs, '/b', '/c');
    await writeAt(ops, '/b', Buffer.alloc(PAGE), 5 * PAGE);
    expect(await readAll(ops, '/c')).toEqual(b);

    // Truncate and unlink of the source: the copies keep their data.
    await call<void>((reply) => ops.truncate?.(ROOT, '/a', PAGE, reply));
    expect(await readAll(ops, '/b')).toEqual(Buffer.concat([b.subarray(0, 5 * PAGE), Buffer.alloc(PAGE), b.subarray(6 * PAGE)]));
    await call<void>((reply) => ops.unlink?.(ROOT, '/a', reply));
    expect(await readAll(ops, '/c')).toEqual(b);

    await fs.close();
    fs = await openFs(store(dir));
    expect(await readAll(fs.operations(), '/c')).toEqual(b);
    await fs.close();
    fs = undefined;
    const checked = await runInProcess(['fsck', '--json', store(dir)], { cwd: dir });
    expect(checked.code, checked.stdout).toBe(0);
  });

  it('shares pages in the page cache: the copy reads the source pages, a write to the copy is a cow_fault, one to the source a copy_push', async () => {
    if (!fs) throw new Error('no fs');
    const ops = fs.operations();
    const made = await snapshotFile(fs, '/a', '/b');
    const open = (name: string): Promise<number> => call<number>((reply) => ops.open?.(ROOT, name, O_RDWR, reply));
    const read = async (name: string, fh: number): Promise<Buffer> => {
      const into = Buffer.alloc(PAGES * PAGE);
      const n = await call<number>((reply) => ops.read?.(ROOT, name, fh, into, into.length, 0, reply));
      return into.subarray(0, n);
    };
    const write = async (name: string, fh: number, at: number, bytes: Buffer): Promise<void> => {
      expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, bytes, bytes.length, at, reply))).toBe(bytes.length);
    };
    const fa = await open('/a');
    const fb = await open('/b');
    try {
      expect(await read('/a', fa)).toEqual(data);
      const before = fs.kernel.statistics();
      expect(await read('/b', fb)).toEqual(data);
      const copy = fs.objects.get(made.ino)?.window?.object;
      const source = fs.objects.get(fs.catalog.lookup(1, 'a') ?? 0)?.window?.object;
      expect(source).toBeDefined();
      expect(copy?.shadow).toBe(source);
      // Read from the source's resident pages: nothing paged in for the copy.
      expect(fs.kernel.statistics().pageins).toBe(before.pageins);
      expect(copy?.residentCount).toBe(0);

      await write('/b', fb, 3 * PAGE, Buffer.alloc(100, 7));
      expect(fs.kernel.statistics().cow_faults).toBe(before.cow_faults + 1);
      await write('/a', fa, 7 * PAGE, Buffer.alloc(PAGE, 9));
      expect(fs.kernel.statistics().copy_pushes).toBe(before.copy_pushes + 1);
      const a = Buffer.from(data).fill(9, 7 * PAGE, 8 * PAGE);
      const b = Buffer.from(data).fill(7, 3 * PAGE, 3 * PAGE + 100);
      expect(await read('/a', fa)).toEqual(a);
      expect(await read('/b', fb)).toEqual(b);
      await call<void>((reply) => ops.fsync?.(ROOT, '/a', false, fa, reply));
      await call<void>((reply) => ops.fsync?.(ROOT, '/b', false, fb, reply));
      // On disk the copy holds the page it wrote and the one pushed into it; the rest is still shared.
      expect(fs.sharedPages.sharedPages(made.ino, made.size)).toBe(PAGES - 2);
      expect(await ownBytes('b')).toBeLessThanOrEqual(2 * PAGE);
      // The source shrinks: the copy reads those pages from its own store from then on.
      await call<void>((reply) => ops.ftruncate?.(ROOT, '/a', fa, 2 * PAGE, reply));
      expect(await read('/b', fb)).toEqual(b);
    } finally {
      await call<void>((reply) => ops.release?.(ROOT, '/a', fa, reply));
      await call<void>((reply) => ops.release?.(ROOT, '/b', fb, reply));
    }
    const b = Buffer.from(data).fill(7, 3 * PAGE, 3 * PAGE + 100);
    await call<void>((reply) => ops.unlink?.(ROOT, '/a', reply));
    expect(await readAll(ops, '/b')).toEqual(b);
    await fs.close();
    fs = await openFs(store(dir));
    expect(await readAll(fs.operations(), '/b')).toEqual(b);
    await fs.close();
    fs = undefined;
    const checked = await runInProcess(['fsck', '--json', store(dir)], { cwd: dir });
    expect(checked.code, checked.stdout).toBe(0);
  });

  it('a write that pushes a page into a snapshot promises the room for it first: a full disk is that write\'s ENOSPC', async () => {
    if (!fs) throw new Error('no fs');
    const ops = fs.operations();
    const account = fs.space?.account;
    if (!account) throw new Error('no space account');
    await snapshotFile(fs, '/a', '/b');
    const fa = await call<number>((reply) => ops.open?.(ROOT, '/a', O_RDWR, reply));
    const fb = await call<number>((reply) => ops.open?.(ROOT, '/b', O_RDWR, reply));
    const claim = account.claim.bind(account);
    try {
      expect(await readAll(ops, '/b')).toEqual(data);
      const pushes = fs.kernel.statistics().copy_pushes;
      account.claim = () => {
        throw new PagerError('ENOSPC', 'the disk is full');
      };
      const page = Buffer.alloc(PAGE, 3);
      await expect(call<number>((reply) => ops.write?.(ROOT, '/a', fa, page, PAGE, 4 * PAGE, reply))).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(fs.kernel.statistics().copy_pushes).toBe(pushes);
      expect(await readAll(ops, '/a')).toEqual(data);
      account.claim = claim;
      expect(await call<number>((reply) => ops.write?.(ROOT, '/a', fa, page, PAGE, 4 * PAGE, reply))).toBe(PAGE);
      expect(fs.kernel.statistics().copy_pushes).toBe(pushes + 1);
      expect(await readAll(ops, '/b')).toEqual(data);
    } finally {
      account.claim = claim;
      await call<void>((reply) => ops.release?.(ROOT, '/a', fa, reply));
      await call<void>((reply) => ops.release?.(ROOT, '/b', fb, reply));
    }
  });

  it('fsck: a link whose snapshot is gone is reported and repaired; shared pages are no problem', async () => {
    if (!fs) throw new Error('no fs');
    await snapshotFile(fs, '/a', '/b');
    await fs.close();
    fs = undefined;
    const clean = await runInProcess(['fsck', '--json', store(dir)], { cwd: dir });
    expect(clean.code, clean.stdout).toBe(0);
    const opened = await openDataStore(store(dir), { create: false, pageSize: PAGE, readOnly: false });
    try {
      opened.catalog.db.prepare('INSERT INTO page_base (ino, base, base_end) VALUES (999, 2, 4096)').run();
      await opened.syncCatalog();
    } finally {
      await opened.close();
    }
    const found = await runInProcess(['fsck', '--json', store(dir)], { cwd: dir });
    expect(found.code).toBe(4);
    expect((JSON.parse(found.stdout) as { problems: { kind: string }[] }).problems.map((p) => p.kind)).toEqual(['shared-pages']);
    const repaired = await runInProcess(['fsck', '--repair', '--json', store(dir)], { cwd: dir });
    expect(repaired.code, repaired.stdout).not.toBe(4);
    const after = await runInProcess(['fsck', '--json', store(dir)], { cwd: dir });
    expect(after.code, after.stdout).toBe(0);
    fs = await openFs(store(dir));
    expect(await readAll(fs.operations(), '/b')).toEqual(data);
  });

  it('refuses a directory (EISDIR), an existing target (EEXIST) and a missing source (ENOENT)', async () => {
    if (!fs) throw new Error('no fs');
    const ops = fs.operations();
    await call<void>((reply) => ops.mkdir?.(ROOT, '/d', 0o755, reply));
    await writeAt(ops, '/e', Buffer.from('e'), 0, true);
    await expect(snapshotFile(fs, '/d', '/x')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(snapshotFile(fs, '/a', '/e')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(snapshotFile(fs, '/nothing', '/x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
