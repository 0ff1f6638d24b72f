/**
 * The persisting floor: a bare passthrough filesystem on the FUSE adapter
 * the in-memory floor (bench/fuse-memfs.ts) uses, every operation one
 * synchronous `fs` call on a backing directory of the same disk. No cache,
 * no store, no read-ahead: what any Node FUSE filesystem that persists pays
 * at least. Issue 12 measures machpager against it (bench/workloads.ts).
 *
 * The bench mounts it with direct_io and big_writes (as machpager's direct
 * mode), so reads come 128 KiB at a time with the kernel's read-ahead off;
 * fsync is passed through (fsync/fdatasync on the backing file). Files are
 * made with the daemon's own uid (it runs as whoever mounts it), as
 * libfuse's passthrough example does.
 *
 * The synchronous calls go to the backing directory, never to the mount:
 * the FUSE requests need this thread.
 *
 * Run as a program it mounts itself and serves until unmounted:
 *
 *     node dist/bench/fuse-passthrough.js MOUNTPOINT BACKING_DIR ['{"directIo":true,...}']
 *
 * printing {"type":"ready",...} once mounted (as fuse-memfs does) and
 * unmounting on SIGTERM or SIGINT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsError, toFsError } from '../daemon/fs/errors.js';
import { timespecNow, type FuseContext, type FuseOperations, type FuseStat, type FuseStatfs, type Reply, type ReplyDir, type ReplyVoid, type TimeUpdate, type Timespec } from '../daemon/fs/fuse/contract.js';
import type { FuseMountOptions } from '../daemon/fs/fuse/options.js';
import { FuseMount } from '../daemon/fs/fuse/mount.js';
import { startFuseFixture } from './fuse-floor.js';
import { emit, serveProgram, unmountOnSignals } from './program.js';

const PROGRAM = fileURLToPath(import.meta.url);

/** Mount the passthrough of `backing` on `mountpoint` in a child process; resolves with its stop function once mounted. */
export function startPassthrough(mountpoint: string, backing: string, options: FuseMountOptions = { directIo: true }): Promise<() => Promise<void>> {
  return startFuseFixture(PROGRAM, [mountpoint, backing, JSON.stringify({ fsname: 'machpager-passthrough', ...options })], mountpoint, 'the passthrough filesystem');
}

const NS = 1_000_000_000n;

function timespec(ns: bigint): Timespec {
  const sec = ns / NS;
  const nsec = ns - sec * NS;
  // Before 1970: nsec must stay 0 .. 999 999 999.
  return nsec < 0n ? { sec: Number(sec - 1n), nsec: Number(nsec + NS) } : { sec: Number(sec), nsec: Number(nsec) };
}

function toFuseStat(st: fs.BigIntStats): FuseStat {
  return {
    mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size),
    nlink: Number(st.nlink), ino: Number(st.ino), rdev: Number(st.rdev), blksize: Number(st.blksize), blocks: Number(st.blocks),
    atime: timespec(st.atimeNs), mtime: timespec(st.mtimeNs), ctime: timespec(st.ctimeNs),
  };
}

/** Seconds for utimes: a Timespec, now, or (omit) the time the file has. */
function seconds(update: TimeUpdate, current: bigint): number {
  if (update === 'omit') return Number(current) / 1e9;
  const t = update === 'now' ? timespecNow() : update;
  return t.sec + t.nsec / 1e9;
}

/** Answer `reply` with what `work` returns, or with the errno it threw (an fs error's code). */
function answer<T>(reply: Reply<T>, work: () => T): void {
  let value: T;
  try {
    value = work();
  } catch (err) {
    reply(toFsError(err));
    return;
  }
  reply(null, value);
}

function answerVoid(reply: ReplyVoid, work: () => void): void {
  try {
    work();
  } catch (err) {
    reply(toFsError(err));
    return;
  }
  reply();
}

/** A handle is the backing file's descriptor plus one (FUSE's 0 means "no handle"). */
const fdOf = (fh: number): number => {
  if (fh <= 0) throw new FsError('EBADF');
  return fh - 1;
};

/** The passthrough: FUSE paths are paths under `root`. */
export class PassthroughFs implements FuseOperations {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private real(p: string): string {
    return p === '/' ? this.root : this.root + p;
  }

  getattr(_ctx: FuseContext, p: string, reply: Reply<FuseStat>): void {
    answer(reply, () => toFuseStat(fs.lstatSync(this.real(p), { bigint: true })));
  }

  fgetattr(_ctx: FuseContext, p: string, fh: number, reply: Reply<FuseStat>): void {
    answer(reply, () => toFuseStat(fh > 0 ? fs.fstatSync(fdOf(fh), { bigint: true }) : fs.lstatSync(this.real(p), { bigint: true })));
  }

  statfs(_ctx: FuseContext, _p: string, reply: Reply<FuseStatfs>): void {
    answer(reply, () => {
      const s = fs.statfsSync(this.root);
      return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: 255 };
    });
  }

  readdir(_ctx: FuseContext, p: string, reply: ReplyDir): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.real(p));
    } catch (err) {
      reply(toFsError(err));
      return;
    }
    reply(null, ['.', '..', ...names]);
  }

  open(_ctx: FuseContext, p: string, flags: number, reply: Reply<number>): void {
    answer(reply, () => fs.openSync(this.real(p), flags) + 1);
  }

  create(_ctx: FuseContext, p: string, mode: number, flags: number, reply: Reply<number>): void {
    answer(reply, () => fs.openSync(this.real(p), flags | fs.constants.O_CREAT, mode) + 1);
  }

  read(_ctx: FuseContext, _p: string, fh: number, buffer: Buffer, length: number, position: number, reply: Reply<number>): void {
    answer(reply, () => fs.readSync(fdOf(fh), buffer, 0, length, position));
  }

  write(_ctx: FuseContext, _p: string, fh: number, buffer: Buffer, length: number, position: number, reply: Reply<number>): void {
    answer(reply, () => fs.writeSync(fdOf(fh), buffer, 0, length, position));
  }

  flush(_ctx: FuseContext, _p: string, _fh: number, reply: ReplyVoid): void {
    reply();
  }

  release(_ctx: FuseContext, _p: string, fh: number, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.closeSync(fdOf(fh)));
  }

  fsync(_ctx: FuseContext, _p: string, datasync: boolean, fh: number, reply: ReplyVoid): void {
    answerVoid(reply, () => (datasync ? fs.fdatasyncSync(fdOf(fh)) : fs.fsyncSync(fdOf(fh))));
  }

  truncate(_ctx: FuseContext, p: string, size: number, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.truncateSync(this.real(p), size));
  }

  ftruncate(_ctx: FuseContext, _p: string, fh: number, size: number, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.ftruncateSync(fdOf(fh), size));
  }

  utimens(_ctx: FuseContext, p: string, atime: TimeUpdate, mtime: TimeUpdate, reply: ReplyVoid): void {
    answerVoid(reply, () => {
      const real = this.real(p);
      // Node has no UTIME_OMIT: an omitted time is set to the value it has.
      const st = atime === 'omit' || mtime === 'omit' ? fs.lstatSync(real, { bigint: true }) : undefined;
      fs.lutimesSync(real, seconds(atime, st?.atimeNs ?? 0n), seconds(mtime, st?.mtimeNs ?? 0n));
    });
  }

  chmod(_ctx: FuseContext, p: string, mode: number, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.chmodSync(this.real(p), mode));
  }

  chown(_ctx: FuseContext, p: string, uid: number, gid: number, reply: ReplyVoid): void {
    answerVoid(reply, () => {
      const real = this.real(p);
      const st = uid === -1 || gid === -1 ? fs.lstatSync(real) : undefined;
      fs.lchownSync(real, uid === -1 ? (st?.uid ?? 0) : uid, gid === -1 ? (st?.gid ?? 0) : gid);
    });
  }

  mkdir(_ctx: FuseContext, p: string, mode: number, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.mkdirSync(this.real(p), mode));
  }

  rmdir(_ctx: FuseContext, p: string, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.rmdirSync(this.real(p)));
  }

  unlink(_ctx: FuseContext, p: string, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.unlinkSync(this.real(p)));
  }

  rename(_ctx: FuseContext, p: string, newPath: string, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.renameSync(this.real(p), this.real(newPath)));
  }

  link(_ctx: FuseContext, existingPath: string, newPath: string, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.linkSync(this.real(existingPath), this.real(newPath)));
  }

  symlink(_ctx: FuseContext, target: string, linkPath: string, reply: ReplyVoid): void {
    answerVoid(reply, () => fs.symlinkSync(target, this.real(linkPath)));
  }

  readlink(_ctx: FuseContext, p: string, reply: Reply<string>): void {
    answer(reply, () => fs.readlinkSync(this.real(p)));
  }
}

// ---------------------------------------------------------------------------
// As a program: mount and serve.

async function main(): Promise<void> {
  const [mountpoint, backing, json] = process.argv.slice(2);
  if (mountpoint === undefined || backing === undefined) {
    process.stderr.write('usage: fuse-passthrough MOUNTPOINT BACKING_DIR [FuseMountOptions as JSON]\n');
    process.exitCode = 2;
    return;
  }
  const options = (json === undefined ? {} : JSON.parse(json)) as FuseMountOptions;
  const mount = new FuseMount(mountpoint, new PassthroughFs(backing), { fsname: 'passthrough', subtype: 'passthrough', ...options });
  mount.on('opError', (err, op) => emit({ type: 'opError', op, message: err instanceof Error ? err.message : String(err) }));
  mount.on('unmounted', ({ external }) => emit({ type: 'unmounted', external }));
  unmountOnSignals('fuse-passthrough', mount);
  await mount.mount();
  emit({ type: 'ready', pid: process.pid, mountpoint: mount.mountpoint, backing, options: mount.mountOptions });
}

serveProgram(import.meta.url, main);
