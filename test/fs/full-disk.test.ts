/**
 * A full disk, unit by unit: SQLite errors keep their errno, the reserve is
 * released and made again, the space account promises room and refuses
 * with ENOSPC, a StorePager claims room at unlock and gives it back, a
 * write through the kernel fails with ENOSPC at the fault, and a catalog
 * change that fails leaves the namespace as it was.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENOSPC, IpcSystem, Kernel, MemorySwap, VM_PROT_WRITE } from '../../kernel/index.js';
import { PagerRequests, StorePager } from '../../daemon/pager/index.js';
import { FsError, toFsError } from '../../daemon/fs/errors.js';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseContext, FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { isNoSpace, Reserve, reserveSize, takeFromReserve } from '../../daemon/fs/reserve.js';
import { SpaceAccount, type DiskFigures } from '../../daemon/fs/space.js';
import { S_IFREG } from '../../daemon/fs/mode.js';
import { MemoryStore, sqliteError } from '../../stores/index.js';
import { sqliteErrnoCode } from '../../stores/errno.js';

const PAGE = 4096;
const MiB = 1024 * 1024;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-fulldisk-unit-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sqliteFull = (): Error => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

describe('SQLite errors at the FUSE boundary', () => {
  it('SQLITE_FULL is ENOSPC; I/O errors and corruption are EIO', () => {
    expect(toFsError(sqliteFull())).toMatchObject({ code: 'ENOSPC', errno: 28 });
    expect(toFsError({ code: 'SQLITE_IOERR_WRITE' })).toMatchObject({ code: 'EIO', errno: 5 });
    expect(toFsError({ code: 'SQLITE_CORRUPT' })).toMatchObject({ code: 'EIO', errno: 5 });
    expect(toFsError({ code: 'SQLITE_CORRUPT_INDEX' }).code).toBe('EIO');
    expect(toFsError({ code: 'SQLITE_READONLY' }).code).toBe('EROFS');
    expect(toFsError(sqliteFull()).message).toMatch(/database or disk is full/);
    expect(sqliteErrnoCode('ENOENT')).toBeUndefined();
    expect(sqliteErrnoCode('SQLITE_SOMETHING_NEW')).toBe('EIO');
  });

  it('the stores map them the same way', () => {
    expect(sqliteError(sqliteFull(), 'commit').code).toBe('ENOSPC');
    expect(sqliteError({ code: 'SQLITE_IOERR_SHORT_READ' }, 'read').code).toBe('EIO');
    expect(sqliteError({ code: 'SQLITE_CORRUPT' }, 'read').code).toBe('EIO');
    expect(sqliteError(new Error('plain'), 'x').code).toBe('EIO');
  });
});

describe('the reserve', () => {
  it('is 2% of the disk, at least 1 MiB, at most 64 MiB', () => {
    expect(reserveSize(12 * MiB)).toBe(MiB);
    expect(reserveSize(1024 * MiB)).toBe(20 * MiB + 256 * 1024);
    expect(reserveSize(1e13)).toBe(64 * MiB);
  });

  it('is made, released when a freeing change meets a full disk, and made again', async () => {
    const file = path.join(dir, 'a-reserve');
    const lines: string[] = [];
    const reserve = new Reserve(file, MiB, (line) => lines.push(line));
    await reserve.fill();
    expect([reserve.held, reserve.missing, (await stat(file)).size]).toEqual([MiB, 0, MiB]);
    let tries = 0;
    const result = reserve.freeingSync(() => {
      if (tries++ === 0) throw sqliteFull();
      return 'done';
    });
    expect([result, tries, reserve.held, reserve.missing, reserve.releases]).toEqual(['done', 2, 0, MiB, 1]);
    expect((await stat(file)).size).toBe(0);
    expect(lines.join('\n')).toMatch(/released the reserve/);
    await reserve.fill();
    expect([reserve.held, (await stat(file)).size]).toEqual([MiB, MiB]);
    // An error that is not a full disk leaves the reserve alone.
    expect(() =>
      reserve.freeingSync(() => {
        throw new FsError('EIO');
      }),
    ).toThrow(/EIO/);
    await expect(reserve.freeing(() => Promise.reject(new FsError('ENOSPC')))).rejects.toThrow(/ENOSPC/);
    expect(reserve.releases).toBe(2);
  });

  it('what an earlier mount left counts, and a lock can take from it before the filesystem opens', async () => {
    const file = path.join(dir, 'b-reserve');
    await writeFile(file, Buffer.alloc(512 * 1024));
    const reserve = new Reserve(file, MiB, () => undefined);
    expect(await takeFromReserve(file, 64 * 1024)).toBe(true);
    expect((await stat(file)).size).toBe(448 * 1024);
    await reserve.fill();
    expect(reserve.held).toBe(MiB);
    expect(await takeFromReserve(path.join(dir, 'none'), 64 * 1024)).toBe(false);
  });

  it('knows a full disk whichever layer reports it', () => {
    expect([isNoSpace(sqliteFull()), isNoSpace(new FsError('ENOSPC')), isNoSpace({ errno: -28 }), isNoSpace(new FsError('EIO'))]).toEqual([true, true, true, false]);
  });
});

/** An account over a disk whose figures the test sets, with a reserve already held. */
async function account(available: number): Promise<{ space: SpaceAccount; disk: DiskFigures; clock: { now: number }; statfsCalls: () => number }> {
  const reserve = new Reserve(path.join(dir, `r-${Math.random()}`), 256 * 1024, () => undefined);
  await reserve.fill();
  const disk: DiskFigures = { total: 100 * MiB, free: available, available, blockSize: PAGE };
  const clock = { now: 0 };
  let calls = 0;
  const space = new SpaceAccount({
    dir,
    reserve,
    statfs: () => {
      calls++;
      return Promise.resolve({ ...disk });
    },
    now: () => clock.now,
  });
  await space.refresh();
  return { space, disk, clock, statfsCalls: () => calls };
}

describe('the space account', () => {
  it('promises room until there is none, then refuses with ENOSPC on fresh figures', async () => {
    const { space, clock, statfsCalls } = await account(64 * 1024);
    for (let i = 0; i < 16; i++) await space.claim(PAGE);
    expect([space.promised, space.room]).toEqual([64 * 1024, 0]);
    clock.now += 100;
    const before = statfsCalls();
    await expect(Promise.resolve(space.claim(PAGE))).rejects.toMatchObject({ code: 'ENOSPC', errno: ENOSPC });
    expect(statfsCalls()).toBe(before + 1);
    expect(space.refused).toBe(1);
    // A page truncated away before it was written gives its room back.
    space.release(PAGE, false);
    await space.claim(PAGE);
    // A page written now takes room on the disk: still none, until the disk says otherwise.
    space.release(PAGE, true);
    expect(space.room).toBe(0);
  });

  it('reads the disk again when its figures are old, or when room comes back', async () => {
    const { space, disk, clock, statfsCalls } = await account(8 * PAGE);
    for (let i = 0; i < 8; i++) await space.claim(PAGE);
    for (let i = 0; i < 8; i++) space.release(PAGE, true);
    // The 8 pages are on the disk now, and someone else freed 4 pages: the estimate says none
    // left, but a refusal reads the disk again first (unless its figures are just read).
    disk.available = 4 * PAGE;
    clock.now += 100;
    await space.claim(PAGE);
    expect(space.room).toBe(3 * PAGE);
    const calls = statfsCalls();
    clock.now += 5000;
    await space.claim(PAGE);
    expect(statfsCalls()).toBe(calls + 1);
  });

  it('keeps the missing part of the reserve out of the room', async () => {
    const reserve = new Reserve(path.join(dir, 'c-reserve'), MiB, () => undefined);
    const space = new SpaceAccount({ dir, reserve, statfs: () => Promise.resolve({ total: 100 * MiB, free: 3 * MiB, available: 3 * MiB, blockSize: PAGE }) });
    await space.refresh();
    expect([reserve.missing, space.room]).toEqual([0, 3 * MiB]);
    // Released (a full disk): until it is made again, data writes leave its room free.
    reserve.releaseNow();
    expect(space.room).toBe(2 * MiB);
  });
});

describe('a StorePager with a PageRoom', () => {
  it('claims at unlock once per page, and gives the room back when written, truncated or dropped', async () => {
    const { space } = await account(MiB);
    const pager = new StorePager(new MemoryStore({ size: MiB, blockSize: 512 }), { pageSize: PAGE, writeLockHoles: true, room: space, grow: false });
    for (const page of [0, 1, 2, 3, 9]) await pager.unlockPage(page * PAGE);
    await pager.unlockPage(0);
    expect([pager.claimedBytes, space.promised]).toEqual([5 * PAGE, 5 * PAGE]);
    await pager.writePages(0, Buffer.alloc(2 * PAGE, 1));
    expect(space.promised).toBe(3 * PAGE);
    await pager.resize(3 * PAGE);
    expect(space.promised).toBe(PAGE);
    pager.dropClaims();
    expect([pager.claimedBytes, space.promised]).toEqual([0, 0]);
  });

  it('a write through the kernel into holes stops with ENOSPC at the fault when the room is used up', async () => {
    const { space } = await account(16 * PAGE);
    const ipc = new IpcSystem();
    const kernel = new Kernel({ ipc, cacheSize: MiB, swap: new MemorySwap(PAGE), log: () => undefined });
    const requests = new PagerRequests(ipc, { log: () => undefined });
    requests.start();
    const store = new MemoryStore({ size: MiB, blockSize: 512 });
    const pager = requests.createPager(new StorePager(store, { pageSize: PAGE, writeLockHoles: true, room: space }), { mayCache: true });
    const client = ipc.createSpace('client');
    const name = pager.makeSendRight(client);
    const window = await kernel.vmMap(client, name, 0, store.size);
    client.deallocate(name);
    try {
      const result = await window.memcpy(0, Buffer.alloc(32 * PAGE, 7), VM_PROT_WRITE);
      expect(result).toEqual({ bytes: 16 * PAGE, error: ENOSPC });
      // Overwriting what was promised needs nothing more.
      expect(await window.memcpy(0, Buffer.alloc(16 * PAGE, 8), VM_PROT_WRITE)).toEqual({ bytes: 16 * PAGE, error: 0 });
      await pager.sync(true);
      expect(space.promised).toBe(0);
    } finally {
      window.deallocate();
      pager.release();
      await kernel.shutdown();
      await requests.shutdown();
    }
  });
});

describe('a catalog change that fails', () => {
  const ctx: FuseContext = { uid: 0, gid: 0, pid: 1 };

  it('leaves the namespace as it was: no half-removed file with no links', async () => {
    const fs = await MachFilesystem.open({ store: `sqlite:${dir}/fs.db`, cacheSize: MiB, pageSize: PAGE, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
    try {
      // buildOperations defines every one of these.
      const ops = fs.operations() as Required<FuseOperations>;
      const done = (err?: FsError | null): void => {
        if (err) throw err;
      };
      ops.mknod(ctx, '/a', S_IFREG | 0o644, 0, done);
      ops.mkdir(ctx, '/d', 0o755, done);
      const unlink = fs.catalog.unlink.bind(fs.catalog);
      let calls = 0;
      fs.catalog.unlink = () => {
        calls++;
        throw sqliteFull();
      };
      expect(() => ops.unlink(ctx, '/a', done)).toThrow(expect.objectContaining({ code: 'ENOSPC' }) as Error);
      expect(() => ops.rmdir(ctx, '/d', done)).toThrow(expect.objectContaining({ code: 'ENOSPC' }) as Error);
      // Each was tried again once after the reserve was released, then given up.
      expect(calls).toBe(3);
      expect(fs.space?.reserve.releases).toBe(1);
      fs.catalog.unlink = unlink;
      const root = fs.namespace.resolve('/');
      expect([fs.namespace.resolve('/a').nlink, fs.namespace.resolve('/d').nlink, root.nlink]).toEqual([1, 2, 3]);
      expect(fs.catalog.list(root.ino).map((e) => e.name)).toEqual(['a', 'd']);
      ops.unlink(ctx, '/a', () => undefined);
      ops.rmdir(ctx, '/d', done);
      expect(fs.catalog.list(root.ino)).toEqual([]);
    } finally {
      await fs.close();
    }
  });
});
