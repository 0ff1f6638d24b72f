/**
 * The FUSE operation contract: what a filesystem implements to be mounted
 * (`FuseOperations`), the values it answers (`FuseStat`, `FuseStatfs`,
 * `Timespec`), and how it answers (`Reply`). Types and plain values only:
 * importing this loads no binding (daemon/fs/fuse/binding.ts does).
 *
 * The operations the binding offers, with the arguments the filesystem's
 * method receives after `ctx` (all optional except getattr):
 *
 * | op          | arguments                                                  | reply value          |
 * |-------------|------------------------------------------------------------|----------------------|
 * | getattr     | path                                                       | FuseStat             |
 * | fgetattr    | path, fh                                                   | FuseStat             |
 * | access      | path, mode (R_OK/W_OK/X_OK bits)                           | —                    |
 * | statfs      | path                                                       | FuseStatfs           |
 * | readdir     | path                                                       | names[], stats[]?    |
 * | opendir     | path, flags                                                | fh                   |
 * | releasedir  | path, fh                                                   | —                    |
 * | fsyncdir    | path, datasync: boolean, fh                                | —                    |
 * | open        | path, flags (O_*)                                          | fh                   |
 * | create      | path, mode, flags (O_*)                                    | fh                   |
 * | read        | path, fh, buffer, length, position                         | bytes read           |
 * | write       | path, fh, buffer, length, position                         | bytes written        |
 * | flush       | path, fh                                                   | —                    |
 * | fsync       | path, datasync: boolean, fh                                | —                    |
 * | release     | path, fh                                                   | —                    |
 * | truncate    | path, size                                                 | —                    |
 * | ftruncate   | path, fh, size                                             | —                    |
 * | utimens     | path, atime: TimeUpdate, mtime: TimeUpdate                 | —                    |
 * | chmod       | path, mode                                                 | —                    |
 * | chown       | path, uid (-1: keep), gid (-1: keep)                       | —                    |
 * | mknod       | path, mode, rdev                                           | —                    |
 * | mkdir       | path, mode                                                 | —                    |
 * | rmdir       | path                                                       | —                    |
 * | unlink      | path                                                       | —                    |
 * | rename      | path, newPath                                              | —                    |
 * | link        | existingPath, newPath                                      | —                    |
 * | symlink     | target, linkPath                                           | —                    |
 * | readlink    | path                                                       | target string        |
 * | setxattr    | path, name, value: Buffer, flags (XATTR_CREATE/REPLACE)    | —                    |
 * | getxattr    | path, name, size (0: asks for the length)                  | Buffer               |
 * | listxattr   | path, size (0: asks for the length)                        | names[]              |
 * | removexattr | path, name                                                 | —                    |
 *
 * Not offered by the binding (libfuse answers ENOSYS or does without):
 * destroy, lock, flock, fallocate, bmap, ioctl, poll, read_buf/write_buf.
 * `init` is internal: mount() resolves on it. File handles (fh) are
 * integers 1 .. 2^31-1 (0 means "no handle"); positions and sizes are exact
 * numbers up to 2^53.
 */
import type { FsError } from '../errors.js';

/** Who made a request: fuse_get_context() in the FUSE thread when it arrived. pid is 0 for requests the kernel makes on its own (e.g. release at last close). */
export interface FuseContext {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

/** A point in time: whole seconds since the epoch (may be negative) and nanoseconds 0 .. 999 999 999. */
export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

/** What utimens asks for one of the two times: set it, set it to the current time (UTIME_NOW), or leave it (UTIME_OMIT). */
export type TimeUpdate = Timespec | 'now' | 'omit';

export interface FuseStat {
  /** File type and permission bits (S_IFREG | 0o644 ...). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Default 1. */
  readonly nlink?: number;
  /** Used by the kernel only with the `useIno` mount option. */
  readonly ino?: number;
  readonly dev?: number;
  readonly rdev?: number;
  /** Default 4096. */
  readonly blksize?: number;
  /** 512-byte blocks; default ceil(size / 512). */
  readonly blocks?: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
}

export interface FuseStatfs {
  readonly bsize: number;
  readonly frsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
  readonly favail: number;
  readonly fsid: number;
  readonly flag: number;
  readonly namemax: number;
}

/** The answer to an operation without a result: `reply()` / `reply(null)` for success, `reply(err)` for failure. */
export type ReplyVoid = (err?: FsError | null) => void;

/** The answer to an operation with a result: `reply(null, value)` or `reply(err)`. */
export interface Reply<T> {
  (err: FsError): void;
  (err: null, value: T): void;
}

/** readdir's answer: the names (with '.' and '..' if they should be listed), optionally a stat per name (only mode and ino are used). */
export interface ReplyDir {
  (err: FsError): void;
  (err: null, names: readonly string[], stats?: readonly FuseStat[]): void;
}

type Ctx = FuseContext;

/**
 * A filesystem, as FUSE operations. Every method gets the request's context
 * first and its `reply` last; it must call `reply` exactly once, now or
 * later. It may also throw an FsError synchronously instead of replying.
 * Declare methods as plain (non-async) functions: returning a promise here
 * is a lint error on purpose.
 */
export interface FuseOperations {
  getattr(ctx: Ctx, path: string, reply: Reply<FuseStat>): void;
  fgetattr?(ctx: Ctx, path: string, fh: number, reply: Reply<FuseStat>): void;
  access?(ctx: Ctx, path: string, mode: number, reply: ReplyVoid): void;
  statfs?(ctx: Ctx, path: string, reply: Reply<FuseStatfs>): void;
  readdir?(ctx: Ctx, path: string, reply: ReplyDir): void;
  opendir?(ctx: Ctx, path: string, flags: number, reply: Reply<number>): void;
  releasedir?(ctx: Ctx, path: string, fh: number, reply: ReplyVoid): void;
  fsyncdir?(ctx: Ctx, path: string, datasync: boolean, fh: number, reply: ReplyVoid): void;
  open?(ctx: Ctx, path: string, flags: number, reply: Reply<number>): void;
  create?(ctx: Ctx, path: string, mode: number, flags: number, reply: Reply<number>): void;
  /** Fill `buffer` (valid until `reply`) with up to `length` bytes from `position`; reply the count (short only at end of file). */
  read?(ctx: Ctx, path: string, fh: number, buffer: Buffer, length: number, position: number, reply: Reply<number>): void;
  /** Take `length` bytes from `buffer` (valid until `reply`, so copy what you keep); reply the count. */
  write?(ctx: Ctx, path: string, fh: number, buffer: Buffer, length: number, position: number, reply: Reply<number>): void;
  flush?(ctx: Ctx, path: string, fh: number, reply: ReplyVoid): void;
  fsync?(ctx: Ctx, path: string, datasync: boolean, fh: number, reply: ReplyVoid): void;
  release?(ctx: Ctx, path: string, fh: number, reply: ReplyVoid): void;
  truncate?(ctx: Ctx, path: string, size: number, reply: ReplyVoid): void;
  ftruncate?(ctx: Ctx, path: string, fh: number, size: number, reply: ReplyVoid): void;
  utimens?(ctx: Ctx, path: string, atime: TimeUpdate, mtime: TimeUpdate, reply: ReplyVoid): void;
  chmod?(ctx: Ctx, path: string, mode: number, reply: ReplyVoid): void;
  /** uid or gid -1: leave it. */
  chown?(ctx: Ctx, path: string, uid: number, gid: number, reply: ReplyVoid): void;
  mknod?(ctx: Ctx, path: string, mode: number, rdev: number, reply: ReplyVoid): void;
  mkdir?(ctx: Ctx, path: string, mode: number, reply: ReplyVoid): void;
  rmdir?(ctx: Ctx, path: string, reply: ReplyVoid): void;
  unlink?(ctx: Ctx, path: string, reply: ReplyVoid): void;
  rename?(ctx: Ctx, path: string, newPath: string, reply: ReplyVoid): void;
  link?(ctx: Ctx, existingPath: string, newPath: string, reply: ReplyVoid): void;
  symlink?(ctx: Ctx, target: string, linkPath: string, reply: ReplyVoid): void;
  readlink?(ctx: Ctx, path: string, reply: Reply<string>): void;
  /** `value` is valid until `reply`: copy it. */
  setxattr?(ctx: Ctx, path: string, name: string, value: Buffer, flags: number, reply: ReplyVoid): void;
  /** Reply the whole value; FuseMount answers ERANGE if it does not fit `size` (size 0 asks for the length). ENODATA: no such attribute. */
  getxattr?(ctx: Ctx, path: string, name: string, size: number, reply: Reply<Buffer>): void;
  listxattr?(ctx: Ctx, path: string, size: number, reply: Reply<readonly string[]>): void;
  removexattr?(ctx: Ctx, path: string, name: string, reply: ReplyVoid): void;
}

export type FuseOpName = keyof FuseOperations;

/** Every operation the binding can pass to a filesystem. */
export const FUSE_OPS: readonly FuseOpName[] = [
  'getattr', 'fgetattr', 'access', 'statfs', 'readdir', 'opendir', 'releasedir', 'fsyncdir',
  'open', 'create', 'read', 'write', 'flush', 'fsync', 'release', 'truncate', 'ftruncate',
  'utimens', 'chmod', 'chown', 'mknod', 'mkdir', 'rmdir', 'unlink', 'rename', 'link', 'symlink',
  'readlink', 'setxattr', 'getxattr', 'listxattr', 'removexattr',
];

// ---------------------------------------------------------------------------
// Times

const NS_PER_MS = 1_000_000;

export function timespecFromMs(ms: number): Timespec {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.floor((ms - sec * 1000) * NS_PER_MS) };
}

/** The current time (millisecond resolution). */
export function timespecNow(): Timespec {
  return timespecFromMs(Date.now());
}
