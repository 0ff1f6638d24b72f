/**
 * A node made by create, mkdir or symlink: its inode in memory is made from
 * the record the catalog wrote (no read back), and holds what the catalog holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations, FuseStat } from '../../daemon/fs/fuse/contract.js';
import { recordOf } from '../../daemon/fs/inode.js';
import { call, ROOT } from '../helpers/in-process-fs.js';

const O_RDWR = 2;

let dir: string;
let fs: MachFilesystem;
let ops: FuseOperations;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-create-'));
  fs = await MachFilesystem.open({ store: `sqlite:${dir}/fs.db`, cacheSize: 1 << 20, pageSize: 4096, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
  ops = fs.operations();
});

afterEach(async () => {
  await fs.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a new node', () => {
  it('is not read back from the catalog, and its attributes in memory are the catalog\'s', async () => {
    const reads: number[] = [];
    const get = fs.catalog.get.bind(fs.catalog);
    fs.catalog.get = (ino: number) => {
      reads.push(ino);
      return get(ino);
    };
    await call<void>((reply) => ops.mkdir?.(ROOT, '/d', 0o750, reply));
    const fh = await call<number>((reply) => ops.create?.(ROOT, '/d/f', 0o640, O_RDWR, reply));
    await call<void>((reply) => ops.symlink?.(ROOT, '/d/f', '/d/l', reply));
    for (const name of ['/d', '/d/f', '/d/l']) {
      const inode = fs.namespace.resolve(name);
      expect(reads).not.toContain(inode.ino);
      expect(recordOf(inode)).toEqual(get(inode.ino));
    }
    const st = await call<FuseStat>((reply) => ops.getattr?.(ROOT, '/d/f', reply));
    expect(st.mode & 0o7777).toBe(0o640);
    // The times are the inode's own: moving the parent's does not move the child's.
    const before = { ...fs.namespace.resolve('/d/f').ctime };
    await call<void>((reply) => ops.utimens?.(ROOT, '/d', 'now', 'now', reply));
    expect(fs.namespace.resolve('/d/f').ctime).toEqual(before);
    await call<void>((reply) => ops.release?.(ROOT, '/d/f', fh, reply));
  });
});
