/**
 * Setuid and setgid bits after write, truncate and chown, as ext4 on Linux
 * does them (checked on this machine's ext4 with setpriv): a caller without
 * CAP_FSETID (not root) who writes or truncates a regular file drops
 * S_ISUID, and S_ISGID when group-execute is set; chown drops S_ISUID
 * whoever calls it, and S_ISGID with group-execute or when the caller is not
 * in the file's group. Directories keep theirs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FuseContext, FuseOperations, FuseStat } from '../../daemon/fs/fuse/contract.js';
import { modeAfterChown, modeAfterWrite, S_IFDIR, S_IFREG } from '../../daemon/fs/mode.js';
import { call, openInProcessFs, ROOT, type InProcessFs } from '../helpers/in-process-fs.js';

const USER: FuseContext = { uid: 1000, gid: 1000, pid: 4242 };
/** A request the kernel makes on its own (mmap write-back): pid 0. */
const KERNEL: FuseContext = { uid: 1000, gid: 1000, pid: 0 };
const O_RDWR = 2;
const O_TRUNC = 0o1000;
const DATA = Buffer.from('appended\n');
const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

interface Caller {
  uid: number;
  gid: number;
}

describe('modeAfterWrite', () => {
  const rows: [mode: number, uid: number, after: number][] = [
    [0o6777, 1000, 0o0777],
    [0o4755, 1000, 0o0755],
    [0o2775, 1000, 0o0775],
    [0o6767, 1000, 0o2767], // setgid without group-execute: mandatory locking, kept
    [0o2745, 1000, 0o2745],
    [0o6777, 0, 0o6777], // root has CAP_FSETID
    [0o0777, 1000, 0o0777],
  ];
  it.each(rows.map(([mode, uid, after]) => ({ mode, uid, after, from: octal(mode), to: octal(after) })))(
    'a regular file $from written by uid $uid becomes $to',
    ({ mode, uid, after }) => {
      expect(modeAfterWrite(S_IFREG | mode, uid)).toBe(S_IFREG | after);
    },
  );

  it('leaves a directory alone', () => {
    expect(modeAfterWrite(S_IFDIR | 0o6777, 1000)).toBe(S_IFDIR | 0o6777);
  });
});

describe('modeAfterChown', () => {
  const rows: [mode: number, caller: Caller, fileGid: number, after: number][] = [
    [0o6755, { uid: 0, gid: 0 }, 0, 0o0755], // root too loses setuid; setgid with g+x
    [0o6745, { uid: 0, gid: 0 }, 0, 0o2745], // root keeps setgid without g+x
    [0o6745, { uid: 1000, gid: 1000 }, 1000, 0o2745], // in the file's group: kept
    [0o6745, { uid: 1000, gid: 1000 }, 55, 0o0745], // not in the file's group: dropped
    [0o0755, { uid: 1000, gid: 1000 }, 55, 0o0755],
  ];
  it.each(rows.map(([mode, caller, fileGid, after]) => ({ mode, caller, fileGid, after, from: octal(mode), to: octal(after), uid: caller.uid })))(
    'a regular file $from chowned by uid $uid (file group $fileGid) becomes $to',
    ({ mode, caller, fileGid, after }) => {
      expect(modeAfterChown(S_IFREG | mode, caller, fileGid)).toBe(S_IFREG | after);
    },
  );

  it('leaves a directory alone', () => {
    expect(modeAfterChown(S_IFDIR | 0o6755, { uid: 0, gid: 0 }, 0)).toBe(S_IFDIR | 0o6755);
  });
});

describe('through the operations', () => {
  let t: InProcessFs;
  let ops: FuseOperations;

  beforeEach(async () => {
    t = await openInProcessFs('setid');
    ops = t.ops;
  });

  afterEach(async () => {
    await t.close();
  });

  /** A root-owned file with `mode` (and a byte in it). */
  async function file(path: string, mode: number): Promise<void> {
    const fh = await call<number>((r) => ops.create?.(ROOT, path, 0o644, O_RDWR, r));
    await call((r) => ops.write?.(ROOT, path, fh, Buffer.from('x'), 1, 0, r));
    await call((r) => ops.release?.(ROOT, path, fh, r));
    await call((r) => ops.chmod?.(ROOT, path, mode, r));
  }

  async function modeOf(path: string): Promise<number> {
    return (await call<FuseStat>((r) => ops.getattr(ROOT, path, r))).mode & 0o7777;
  }

  /** The mode as the catalog has it (what a remount would see). */
  function storedMode(path: string): number | undefined {
    const record = t.fs.catalog.get(t.fs.namespace.resolve(path).ino);
    return record === undefined ? undefined : record.mode & 0o7777;
  }

  async function append(ctx: FuseContext, path: string): Promise<void> {
    const fh = await call<number>((r) => ops.open?.(ctx, path, O_RDWR, r));
    const size = (await call<FuseStat>((r) => ops.getattr(ctx, path, r))).size;
    expect(await call<number>((r) => ops.write?.(ctx, path, fh, DATA, DATA.length, size, r))).toBe(DATA.length);
    await call((r) => ops.release?.(ctx, path, fh, r));
  }

  it('a write by a non-root user drops setuid and setgid (with g+x), in the catalog before the data', async () => {
    await file('/f', 0o6777);
    await append(USER, '/f');
    expect(await modeOf('/f')).toBe(0o0777);
    expect(storedMode('/f')).toBe(0o0777);
    expect((await call<FuseStat>((r) => ops.getattr(ROOT, '/f', r))).size).toBe(1 + DATA.length);
  });

  it('a write keeps setgid without group-execute, and root keeps both', async () => {
    await file('/lock', 0o6767);
    await append(USER, '/lock');
    expect(await modeOf('/lock')).toBe(0o2767);
    await file('/root', 0o6777);
    await append(ROOT, '/root');
    expect(await modeOf('/root')).toBe(0o6777);
  });

  it('a write refused before it starts (EFBIG) drops nothing', async () => {
    await file('/big', 0o6777);
    const fh = await call<number>((r) => ops.open?.(USER, '/big', O_RDWR, r));
    await expect(call((r) => ops.write?.(USER, '/big', fh, DATA, DATA.length, 2 ** 53, r))).rejects.toMatchObject({ code: 'EFBIG' });
    await call((r) => ops.release?.(USER, '/big', fh, r));
    expect(await modeOf('/big')).toBe(0o6777);
  });

  it("the kernel's own write-back (pid 0) drops nothing", async () => {
    await file('/f', 0o6777);
    await append(KERNEL, '/f');
    expect(await modeOf('/f')).toBe(0o6777);
  });

  it('a write to a file without the bits (or with setgid alone, no g+x) writes nothing to the catalog', async () => {
    await file('/plain', 0o0666);
    await file('/lock', 0o2666);
    const flushOne = vi.spyOn(t.fs.namespace, 'flushOne');
    await append(USER, '/plain');
    await append(USER, '/lock');
    expect(flushOne).not.toHaveBeenCalled();
    expect([await modeOf('/plain'), await modeOf('/lock')]).toEqual([0o0666, 0o2666]);
  });

  it('truncate and ftruncate by a non-root user drop them, also to the same size; by root they stay', async () => {
    await file('/t', 0o6777);
    await call((r) => ops.truncate?.(USER, '/t', 1, r));
    expect([await modeOf('/t'), storedMode('/t')]).toEqual([0o0777, 0o0777]);

    await file('/ft', 0o4755);
    const fh = await call<number>((r) => ops.open?.(ROOT, '/ft', O_RDWR, r));
    await call((r) => ops.ftruncate?.(USER, '/ft', fh, 0, r));
    await call((r) => ops.release?.(ROOT, '/ft', fh, r));
    expect(await modeOf('/ft')).toBe(0o0755);

    await file('/rt', 0o6777);
    await call((r) => ops.truncate?.(ROOT, '/rt', 0, r));
    expect(await modeOf('/rt')).toBe(0o6777);
  });

  it('open with O_TRUNC by a non-root user drops them, even of an empty file', async () => {
    await file('/o', 0o6777);
    await call((r) => ops.truncate?.(ROOT, '/o', 0, r));
    const fh = await call<number>((r) => ops.open?.(USER, '/o', O_RDWR | O_TRUNC, r));
    await call((r) => ops.release?.(USER, '/o', fh, r));
    expect(await modeOf('/o')).toBe(0o0777);
  });

  it('chown drops setuid whoever calls it, setgid with g+x or for a caller outside the group; directories keep theirs', async () => {
    await file('/c1', 0o6755);
    await call((r) => ops.chown?.(ROOT, '/c1', -1, -1, r));
    expect(await modeOf('/c1')).toBe(0o0755);

    await file('/c2', 0o6745);
    await call((r) => ops.chown?.(ROOT, '/c2', 1000, 1000, r));
    expect(await modeOf('/c2')).toBe(0o2745);

    await file('/c3', 0o6745);
    await call((r) => ops.chown?.(ROOT, '/c3', 1000, 55, r));
    await call((r) => ops.chown?.(USER, '/c3', -1, 1000, r)); // file group 55, caller's 1000
    expect(await modeOf('/c3')).toBe(0o0745);
    expect(storedMode('/c3')).toBe(0o0745);

    await call((r) => ops.mkdir?.(ROOT, '/d', 0o755, r));
    await call((r) => ops.chmod?.(ROOT, '/d', 0o6755, r));
    await call((r) => ops.chown?.(ROOT, '/d', 1000, 1000, r));
    expect(await modeOf('/d')).toBe(0o6755);
  });
});
