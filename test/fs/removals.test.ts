/**
 * The data of a file that lost its last name is removed after the reply to
 * the unlink (daemon/fs/removals.ts): the name is gone at the reply; statfs,
 * sync, a claim of room that would fail and unmount wait for the removal;
 * inode numbers are not reused meanwhile; a long rm is bounded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations, FuseStatfs } from '../../daemon/fs/fuse/contract.js';
import { Removals } from '../../daemon/fs/removals.js';
import { Reserve } from '../../daemon/fs/reserve.js';
import { SpaceAccount, type DiskFigures } from '../../daemon/fs/space.js';
import { call, openInProcessFs, ROOT } from '../helpers/in-process-fs.js';

const PAGE = 4096;
const O_RDWR = 2;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-removals-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file of `pages` pages, fsynced and closed (its pages stay in the cache); returns its inode number. */
async function storedFile(fs: MachFilesystem, ops: FuseOperations, name: string, pages: number): Promise<number> {
  const fh = await call<number>((reply) => ops.create?.(ROOT, name, 0o644, O_RDWR, reply));
  const data = Buffer.alloc(pages * PAGE, 0x5a);
  expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, data, data.length, 0, reply))).toBe(data.length);
  await call<void>((reply) => ops.fsync?.(ROOT, name, false, fh, reply));
  await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
  return fs.namespace.resolve(name).ino;
}

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open = (): void => undefined;
  let fail = (_err: Error): void => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('a file\'s data removed after the unlink\'s reply', () => {
  it('the name is gone at the reply, the data a little later; a new file takes a new number; statfs and sync wait for the removal', async () => {
    const opened = await openInProcessFs('removals');
    const { fs, ops } = opened;
    try {
      const a = await storedFile(fs, ops, '/a', 3);
      expect(await fs.data.storedPages(a)).toHaveLength(3);
      await call<void>((reply) => ops.unlink?.(ROOT, '/a', reply));
      // Dropping the cached pages takes a lock_request round trip: not done at the reply.
      expect(fs.removals.size).toBe(1);
      await expect(call((reply) => ops.getattr?.(ROOT, '/a', reply))).rejects.toMatchObject({ code: 'ENOENT' });
      // The highest number is the one going away; a new file does not take it.
      const b = await storedFile(fs, ops, '/b', 1);
      expect(b).toBeGreaterThan(a);
      // df right after rm: statfs waits for the removal.
      await call<FuseStatfs>((reply) => ops.statfs?.(ROOT, '/', reply));
      expect(fs.removals.size).toBe(0);
      expect(await fs.data.storedPages(a)).toEqual([]);
      expect(await fs.data.storedPages(b)).toHaveLength(1);

      await storedFile(fs, ops, '/c', 2);
      const c = fs.namespace.resolve('/c').ino;
      await call<void>((reply) => ops.rename?.(ROOT, '/b', '/c', reply));
      expect(fs.removals.size).toBe(1);
      await fs.sync();
      expect(fs.removals.size).toBe(0);
      expect(await fs.data.storedPages(c)).toEqual([]);
      expect(await fs.data.storedPages(b)).toHaveLength(1);
      expect(fs.removals.started).toBe(2);
    } finally {
      await opened.close();
    }
  });

  it('past the bound of removals in flight, a reply waits for one of them; a failure is said, not thrown', async () => {
    const lines: string[] = [];
    const removals = new Removals((line) => lines.push(line), 2);
    const first = gate();
    const second = gate();
    const third = gate();
    expect(removals.add(() => first.promise)).toBeUndefined();
    expect(removals.add(() => second.promise)).toBeUndefined();
    const waiting = removals.add(() => third.promise);
    expect(waiting).toBeInstanceOf(Promise);
    let replied = false;
    void waiting?.then(() => (replied = true));
    await Promise.resolve();
    expect(replied).toBe(false);
    first.fail(new Error('the store went away'));
    await waiting;
    expect(lines).toEqual(["removing a file's data: Error: the store went away"]);
    const settled = removals.settled();
    second.open();
    third.open();
    await settled;
    expect(removals.size).toBe(0);
    expect(removals.settled()).toBeUndefined();
  });

  it('a claim of room that would be refused waits for removals in flight and takes the room they free', async () => {
    const reserve = new Reserve(path.join(dir, 'reserve'), 256 * 1024, () => undefined);
    await reserve.fill();
    const disk: DiskFigures = { total: 100 * PAGE * 1024, free: 2 * PAGE, available: 2 * PAGE, blockSize: PAGE };
    const space = new SpaceAccount({ dir, reserve, statfs: () => Promise.resolve({ ...disk }) });
    await space.refresh();
    await space.claim(2 * PAGE);
    // Nothing in flight: refused.
    await expect(Promise.resolve(space.claim(PAGE))).rejects.toMatchObject({ code: 'ENOSPC' });
    // A removal in flight frees 4 pages when it ends: the claim waits for it and gets its room.
    const removals = new Removals(() => undefined);
    const removal = gate();
    expect(removals.add(() => removal.promise.then(() => void (disk.available += 4 * PAGE)))).toBeUndefined();
    space.settling = () => removals.settled();
    const claimed = Promise.resolve(space.claim(PAGE));
    removal.open();
    await claimed;
    expect(space.promised).toBe(3 * PAGE);
  });
});
