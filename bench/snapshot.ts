/**
 * `snapshot` of a 1 GiB file, on a filesystem in this process, for both data
 * stores: the time snapshotFile takes (the source's sync, one inode, one
 * link), against the time the same data took to write. A copy would take at
 * least the write's time; a snapshot takes what a catalog commit takes.
 * Quick: the file is 1 GiB long but only its first 16 MiB are written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MachFilesystem } from '../daemon/fs/filesystem.js';
import type { FuseOperations } from '../daemon/fs/fuse/contract.js';
import { snapshotFile } from '../daemon/fs/snapshot.js';
import { MiB, printTable, type BenchRow, type Print } from './table.js';

const GiB = 1024 * MiB;
const ROOT = { uid: 0, gid: 0, pid: 1 };

function call<T>(op: (reply: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((err, value) => (err ? reject(err) : resolve(value as T))));
}

async function fill(ops: FuseOperations, bytes: number): Promise<void> {
  const fh = await call<number>((reply) => ops.create?.(ROOT, '/a', 0o644, 2, reply));
  const chunk = Buffer.alloc(MiB, 0x5a);
  for (let at = 0; at < bytes; at += chunk.length) await call<number>((reply) => ops.write?.(ROOT, '/a', fh, chunk, chunk.length, at, reply));
  await call<void>((reply) => ops.ftruncate?.(ROOT, '/a', fh, GiB, reply));
  await call<void>((reply) => ops.fsync?.(ROOT, '/a', false, fh, reply));
  await call<void>((reply) => ops.release?.(ROOT, '/a', fh, reply));
}

export async function benchSnapshot(options: { print?: Print; quick?: boolean } = {}): Promise<BenchRow[]> {
  const written = options.quick === true ? 16 * MiB : GiB;
  const rows: BenchRow[] = [];
  for (const kind of ['sqlite', 'file'] as const) {
    const dir = await mkdtemp(join(tmpdir(), 'machpager-bench-snapshot-'));
    try {
      const store = kind === 'sqlite' ? `sqlite:${dir}/fs.db` : `file:${dir}/fs`;
      const fs = await MachFilesystem.open({ store, cacheSize: 64 * MiB, pageSize: 4096, policy: 'mach', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
      try {
        const started = performance.now();
        await fill(fs.operations(), written);
        const writeMs = performance.now() - started;
        const t0 = performance.now();
        await snapshotFile(fs, '/a', '/b');
        const snapMs = performance.now() - t0;
        rows.push({
          name: `snapshot of a 1 GiB file (${kind === 'sqlite' ? 'sqlite' : 'raw files'})`,
          value: snapMs,
          unit: 'ms',
          detail: `${written / MiB} MiB stored; writing it took ${(writeMs / 1000).toFixed(1)} s`,
        });
      } finally {
        await fs.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (options.print) printTable('snapshot (copy-on-write copy in the store)', rows, options.print);
  return rows;
}
