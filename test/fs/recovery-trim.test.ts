/**
 * Mount recovery trims stored data past a file's size (recovery-trim.ts),
 * for both data stores, on filesystems made in this process (no mount):
 * pages planted past the size and garbage planted in the tail of the last
 * page, as a daemon killed between a write-back and the size reaching the
 * catalog leaves them, are gone after the next open of an unclean store;
 * truncate-grow and a write past the end show zeros; fsck is clean. A store
 * stopped cleanly is not looked at.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDataStore } from '../../daemon/fs/data-store.js';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { runInProcess } from '../cli/harness.js';
import { call, ROOT } from '../helpers/in-process-fs.js';
import { removeDir, tempDir } from '../helpers/mounted.js';

const O_RDWR = 2;
const PAGE = 4096;
const A_SIZE = 2 * PAGE + 1808; // a partial last page (page 2)
const B_SIZE = 2 * PAGE; // a whole last page

const KINDS = [
  { kind: 'sqlite', store: (dir: string) => `sqlite:${dir}/fs.db` },
  { kind: 'raw files', store: (dir: string) => `file:${dir}/fs` },
] as const;

async function openFs(store: string, log: string[] = []): Promise<MachFilesystem> {
  return MachFilesystem.open({ store, cacheSize: 1 << 20, pageSize: PAGE, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: (line) => log.push(line) });
}

async function writeAt(ops: FuseOperations, name: string, data: Buffer, offset: number, create = false): Promise<void> {
  const fh = await call<number>((reply) => (create ? ops.create?.(ROOT, name, 0o644, O_RDWR, reply) : ops.open?.(ROOT, name, O_RDWR, reply)));
  try {
    expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, data, data.length, offset, reply))).toBe(data.length);
  } finally {
    await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  }
}

async function readAt(ops: FuseOperations, name: string, length: number, offset: number): Promise<Buffer> {
  const fh = await call<number>((reply) => ops.open?.(ROOT, name, 0, reply));
  try {
    const into = Buffer.alloc(length);
    const n = await call<number>((reply) => ops.read?.(ROOT, name, fh, into, length, offset, reply));
    return into.subarray(0, n);
  } finally {
    await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  }
}

describe.each(KINDS)('mount recovery trims data past file sizes, $kind store', ({ store }) => {
  let dir: string;
  const a = randomBytes(A_SIZE);
  const b = randomBytes(B_SIZE);
  let inoA: number;
  let inoB: number;

  beforeEach(async () => {
    dir = await tempDir('trim');
    const fs = await openFs(store(dir));
    const ops = fs.operations();
    await writeAt(ops, '/a', a, 0, true);
    await writeAt(ops, '/b', b, 0, true);
    inoA = fs.catalog.lookup(1, 'a') ?? 0;
    inoB = fs.catalog.lookup(1, 'b') ?? 0;
    await fs.close();
  });

  afterEach(async () => {
    await removeDir(dir);
  });

  /**
   * What a crash leaves, written straight into the store: /a's last page
   * full to its end and pages 5 and 6 past it, a page past /b's end; and,
   * with `unclean`, the catalog's clean mark cleared, as a killed daemon
   * leaves it.
   */
  async function plant(unclean: boolean): Promise<void> {
    const data = await openDataStore(store(dir), { create: false, pageSize: PAGE, readOnly: false });
    try {
      // As the pager writes back: a raw file's store is grown first.
      const writePast = async (ino: number, offset: number, bytes: Buffer): Promise<void> => {
        const s = await data.open(ino);
        try {
          if (offset + bytes.length > s.size) await s.setSize(offset + bytes.length);
          await s.write(offset, bytes);
        } finally {
          await s.close();
        }
      };
      const page = Buffer.alloc(PAGE, 0x42);
      a.copy(page, 0, 2 * PAGE);
      await writePast(inoA, 2 * PAGE, page);
      await writePast(inoA, 5 * PAGE, Buffer.alloc(2 * PAGE, 0x43));
      await writePast(inoB, 3 * PAGE, Buffer.alloc(PAGE, 0x44));
      if (unclean) data.catalog.db.prepare("UPDATE fs_meta SET value = 0 WHERE key = 'clean'").run();
      await data.syncCatalog();
    } finally {
      await data.close();
    }
  }

  const fsck = (): ReturnType<typeof runInProcess> => runInProcess(['fsck', '--json', store(dir)], { cwd: dir });

  it('after an unclean stop: pages past the end and the last page tail are gone, one log line per file, fsck clean', async () => {
    await plant(true);
    const before = await fsck();
    expect(before.code).toBe(4);
    const found = (JSON.parse(before.stdout) as { problems: { kind: string; path: string }[] }).problems;
    expect(found.map((p) => `${p.kind} ${p.path}`).sort()).toEqual(['size /a', 'size /b']);

    const log: string[] = [];
    const fs = await openFs(store(dir), log);
    try {
      const tail = 3 * PAGE - A_SIZE;
      expect(log.filter((l) => l.startsWith('recovery: '))).toEqual([
        `recovery: /a: ${4 * PAGE + tail} bytes past its size ${A_SIZE} dropped (written back, never synced before the daemon stopped)`,
        `recovery: /b: ${2 * PAGE} bytes past its size ${B_SIZE} dropped (written back, never synced before the daemon stopped)`,
      ]);
      expect(fs.recovered).toEqual({ files: 2, bytes: 6 * PAGE + tail, failed: 0 });
      const ops = fs.operations();
      expect(await readAt(ops, '/a', 8 * PAGE, 0)).toEqual(a);
      // Grown by truncate and by a write past the end: zeros where the planted bytes were.
      await call<void>((reply) => ops.truncate?.(ROOT, '/a', 8 * PAGE, reply));
      expect(await readAt(ops, '/a', 8 * PAGE, 0)).toEqual(Buffer.concat([a, Buffer.alloc(8 * PAGE - A_SIZE)]));
      await writeAt(ops, '/b', Buffer.from('z'), 5 * PAGE);
      expect(await readAt(ops, '/b', 8 * PAGE, 0)).toEqual(Buffer.concat([b, Buffer.alloc(3 * PAGE), Buffer.from('z')]));
    } finally {
      await fs.close();
    }
    const after = await fsck();
    expect(after.code, after.stdout).toBe(0);
  });

  it('the next open after a clean stop does not look: nothing trimmed, nothing logged', async () => {
    await plant(false);
    const log: string[] = [];
    const fs = await openFs(store(dir), log);
    try {
      expect(fs.recovered).toEqual({ files: 0, bytes: 0, failed: 0 });
      expect(log.filter((l) => l.startsWith('recovery: '))).toEqual([]);
    } finally {
      await fs.close();
    }
  });
});
