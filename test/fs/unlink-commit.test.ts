/**
 * Removing a file's data (unlink, the last close of an orphan) is a change of
 * the catalog's commit group, not a commit of its own: it is committed with
 * the rest (fsync, sync, the timer), except on a disk near full, where it
 * commits at once (and may release the reserve to do so).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { call, ROOT } from '../helpers/in-process-fs.js';

const O_RDWR = 2;

let dir: string;
let fs: MachFilesystem;
let ops: FuseOperations;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-unlink-'));
  fs = await MachFilesystem.open({ store: `sqlite:${dir}/fs.db`, cacheSize: 1 << 20, pageSize: 4096, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
  ops = fs.operations();
});

afterEach(async () => {
  await fs.close();
  await rm(dir, { recursive: true, force: true });
});

/** A file of 3 pages, fsynced (its pages are in the store), closed; returns its inode number. */
async function storedFile(name: string): Promise<number> {
  const fh = await call<number>((reply) => ops.create?.(ROOT, name, 0o644, O_RDWR, reply));
  const data = Buffer.alloc(3 * 4096, 0x5a);
  expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, data, data.length, 0, reply))).toBe(data.length);
  await call<void>((reply) => ops.fsync?.(ROOT, name, false, fh, reply));
  await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  return fs.namespace.resolve(name).ino;
}

describe('a file\'s stored pages removed', () => {
  it('go in the commit group, without a commit of their own; near a full disk freeing() commits at once', async () => {
    const group = fs.data.catalog.group;
    if (!group) throw new Error('no commit group');
    const a = await storedFile('/a');
    const b = await storedFile('/b');
    expect(await fs.data.storedPages(a)).toHaveLength(3);

    const commits = group.stats().commits;
    await fs.destroyInodeData(a);
    expect(await fs.data.storedPages(a)).toEqual([]); // gone for this connection at once
    expect(group.stats().commits).toBe(commits); // and committed with what comes next

    const account = fs.space?.account;
    if (!account) throw new Error('no space account');
    Object.defineProperty(account, 'room', { get: () => 0 });
    await fs.destroyInodeData(b);
    expect(await fs.data.storedPages(b)).toEqual([]);
    expect(group.stats().commits).toBe(commits + 1);
  });
});
