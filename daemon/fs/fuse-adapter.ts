/**
 * The FUSE adapter: the one file that loads the FUSE binding.
 *
 * The binding is the native addon of @cocalc/fuse-native 2.4.3 (libfuse 2.9,
 * high-level path API, multithreaded loop), patched and compiled at install
 * by scripts/build-fuse-binding; docs/fuse-binding.md describes the patch
 * and its calling convention. This file drives the addon directly, not the
 * package's JavaScript class, so that
 *
 * - every operation gets the caller's context `{ uid, gid, pid }` (read by
 *   the patched addon with fuse_get_context() in the FUSE thread);
 * - an answer given inside the operation goes straight to the waiting FUSE
 *   thread: no promise, no timer, no nextTick on the way (a cache hit can be
 *   answered synchronously, which measured 2x the IOPS of an async hop);
 * - times are exact to the nanosecond both ways, and utimens says
 *   `'omit'` / `'now'` for UTIME_OMIT / UTIME_NOW;
 * - there is no per-operation timeout unless one is asked for (a slow pager
 *   must not make FUSE answer ETIMEDOUT);
 * - mount options are built correctly (big_writes by default; uid/gid/umask
 *   also when 0; umask in octal).
 *
 * How a request flows: the kernel → libfuse's worker thread calls the
 * addon's op → the addon records the request (and its context) in the
 * thread's block, wakes the JS thread (uv_async) and waits on a semaphore →
 * the handler here calls the filesystem's operation with a `reply` →
 * `reply` calls the addon's `fuse_native_signal_<op>`, which copies the
 * result and posts the semaphore → the worker answers the kernel. A request
 * therefore holds one libfuse worker thread until it is answered, and buffers
 * handed to read/write/xattr operations are valid only until then (they are
 * detached afterwards: length 0).
 *
 * The daemon must never make a synchronous filesystem call on its own mount
 * (the requests need this thread): use child processes or async calls.
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
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { withTimeout } from '../timeout.js';
import { FsError, LINUX_ERRNO, toFsError } from './errors.js';

// ---------------------------------------------------------------------------
// Public types

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
  /** Reply the whole value; the adapter answers ERANGE if it does not fit `size` (size 0 asks for the length). ENODATA: no such attribute. */
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

/** Milliseconds before an unanswered operation is answered ETIMEDOUT; 0 or absent: never. */
export type FuseTimeouts = { readonly default?: number } & { readonly [K in FuseOpName]?: number };

export interface FuseMountOptions {
  /** libfuse 2 `big_writes`: writes arrive in requests up to 128 KiB instead of 4 KiB. Default true. */
  readonly bigWrites?: boolean;
  /** `direct_io`: every read and write reaches the filesystem (no kernel page cache; shared writable mmap fails). */
  readonly directIo?: boolean;
  /** `kernel_cache`: keep the kernel's cached pages across opens. */
  readonly kernelCache?: boolean;
  /** `auto_cache`: drop cached pages when mtime or size changed. */
  readonly autoCache?: boolean;
  /** `max_write=N` (bytes). The kernel caps requests at 128 KiB with libfuse 2 regardless. */
  readonly maxWrite?: number;
  /** `max_read=N` (bytes). */
  readonly maxRead?: number;
  /** `use_ino`: the kernel uses FuseStat.ino as the inode number. */
  readonly useIno?: boolean;
  /** `allow_other`: users other than the mounter may use the mount (non-root mounters need user_allow_other in /etc/fuse.conf). */
  readonly allowOther?: boolean;
  /** `allow_root`. */
  readonly allowRoot?: boolean;
  /** `default_permissions`: the kernel checks mode bits. */
  readonly defaultPermissions?: boolean;
  /** `ro`. */
  readonly readOnly?: boolean;
  /** `uid=N`: report this owner for every file (also 0). */
  readonly uid?: number;
  /** `gid=N` (also 0). */
  readonly gid?: number;
  /** `umask=NNN` (octal in the option; also 0): mask every file's permission bits. */
  readonly umask?: number;
  /** `fsname=` (the mount's source in /proc/mounts). */
  readonly fsname?: string;
  /** `subtype=` (the type shows as fuse.<subtype>). */
  readonly subtype?: string;
  /** `hard_remove`: unlink an open file at once instead of renaming it to .fuse_hidden*; the filesystem keeps the inode until the last release. */
  readonly hardRemove?: boolean;
  /** `auto_unmount`: fusermount unmounts when this process dies. */
  readonly autoUnmount?: boolean;
  /** `entry_timeout=`, `attr_timeout=`, `negative_timeout=` in seconds. */
  readonly entryTimeout?: number;
  readonly attrTimeout?: number;
  readonly negativeTimeout?: number;
  /** `debug`: libfuse traces every request to stderr. */
  readonly debug?: boolean;
  /** More -o options, passed through as they are ('noatime', 'max_readahead=65536' ...). */
  readonly extraOptions?: readonly string[];
  /** Per-operation timeouts. Default: none. */
  readonly timeouts?: FuseTimeouts;
  /** How long mount() waits for the kernel's first request (FUSE init) and for /proc/self/mountinfo. Default 10 000 ms. */
  readonly mountTimeoutMs?: number;
  /** How long one fusermount may take in unmount() before the next step (lazy, then giving up). Default 10 000 ms. */
  readonly unmountTryMs?: number;
  /** How often /proc/self/mountinfo is read to notice an unmount made by someone else. Default 1000 ms; 0: never. */
  readonly watchIntervalMs?: number;
  /** Clean a stale mount ("Transport endpoint is not connected") at the mountpoint before mounting. Default true. */
  readonly cleanStale?: boolean;
}

export type FuseMountState = 'idle' | 'mounting' | 'mounted' | 'unmounting' | 'unmounted';

export interface UnmountedInfo {
  /** true: someone else unmounted it (fusermount -u, umount); false: unmount() did. */
  readonly external: boolean;
}

export interface FuseMountEvents {
  /** The mount is gone; after an external unmount this is the only notice. */
  unmounted: [info: UnmountedInfo];
  /** An operation threw something other than an FsError (answered EIO), or answered with a bad value. Without a listener: a process warning. */
  opError: [err: unknown, op: FuseOpName];
}

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  readonly mountPoint: string;
  readonly options: string;
  readonly fstype: string;
  readonly source: string;
  readonly superOptions: string;
}

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

// ---------------------------------------------------------------------------
// Mount options

const OPTIONS_MAX = 1023; // the addon copies at most 1023 bytes of "-o..."

function uint(name: string, value: number, max = 0xffff_fffe): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new TypeError(`FUSE option ${name}: ${value} is not an integer 0..${max}`);
  return value;
}

function seconds(name: string, value: number): string {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`FUSE option ${name}: ${value} is not a number of seconds`);
  return String(value);
}

/** fuse_opt splits on commas; a backslash escapes one. */
function escapeOptionValue(value: string): string {
  return value.replace(/[\\,]/g, (c) => `\\${c}`);
}

/** The -o list for `options` (without "-o"). Exported for tests. */
export function buildMountOptions(options: FuseMountOptions): string[] {
  const o: string[] = [];
  if (options.bigWrites !== false) o.push('big_writes');
  if (options.directIo) o.push('direct_io');
  if (options.kernelCache) o.push('kernel_cache');
  if (options.autoCache) o.push('auto_cache');
  if (options.maxWrite !== undefined) o.push(`max_write=${uint('maxWrite', options.maxWrite)}`);
  if (options.maxRead !== undefined) o.push(`max_read=${uint('maxRead', options.maxRead)}`);
  if (options.useIno) o.push('use_ino');
  if (options.allowOther) o.push('allow_other');
  if (options.allowRoot) o.push('allow_root');
  if (options.defaultPermissions) o.push('default_permissions');
  if (options.readOnly) o.push('ro');
  if (options.uid !== undefined) o.push(`uid=${uint('uid', options.uid)}`);
  if (options.gid !== undefined) o.push(`gid=${uint('gid', options.gid)}`);
  if (options.umask !== undefined) o.push(`umask=${uint('umask', options.umask, 0o7777).toString(8).padStart(3, '0')}`);
  if (options.fsname !== undefined) o.push(`fsname=${escapeOptionValue(options.fsname)}`);
  if (options.subtype !== undefined) o.push(`subtype=${escapeOptionValue(options.subtype)}`);
  if (options.hardRemove) o.push('hard_remove');
  if (options.autoUnmount) o.push('auto_unmount');
  if (options.entryTimeout !== undefined) o.push(`entry_timeout=${seconds('entryTimeout', options.entryTimeout)}`);
  if (options.attrTimeout !== undefined) o.push(`attr_timeout=${seconds('attrTimeout', options.attrTimeout)}`);
  if (options.negativeTimeout !== undefined) o.push(`negative_timeout=${seconds('negativeTimeout', options.negativeTimeout)}`);
  if (options.debug) o.push('debug');
  for (const raw of options.extraOptions ?? []) {
    if (raw === '' || /[\s]/.test(raw)) throw new TypeError(`FUSE option ${JSON.stringify(raw)}: empty or has white space`);
    o.push(raw);
  }
  return o;
}

function optionString(list: readonly string[]): string {
  const s = list.length === 0 ? '' : `-o${list.join(',')}`;
  if (Buffer.byteLength(s) > OPTIONS_MAX) throw new TypeError(`FUSE options too long (${Buffer.byteLength(s)} bytes, at most ${OPTIONS_MAX})`);
  return s;
}

// ---------------------------------------------------------------------------
// The native binding

type NativeLocals = Buffer;
type NativeHandler = (locals: NativeLocals, op: number, ...args: never[]) => void;
type NativeSignal = (locals: NativeLocals, res: number, ...extra: unknown[]) => void;

interface NativeBinding {
  readonly machpager_patch?: number;
  readonly sizeof_fuse_thread_t: number;
  readonly utime_now: number;
  readonly utime_omit: number;
  fuse_native_mount(
    mountpoint: string,
    options: string,
    thread: Buffer,
    receiver: object,
    malloc: (size: number) => Buffer,
    handlers: readonly NativeHandler[],
    implemented: Uint32Array,
  ): void;
  fuse_native_unmount(mountpoint: string, thread: Buffer): void;
  readonly [signal: `fuse_native_signal_${string}`]: NativeSignal;
  readonly [opcode: `op_${string}`]: number;
}

const MACHPAGER_PATCH_LEVEL = 1;
const OP_SLOTS = 35; // the addon's handler table

let loaded: NativeBinding | undefined;

/** The patched addon; throws a clear error when it was not built. */
function binding(): NativeBinding {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    file = path.join(path.dirname(require.resolve('@cocalc/fuse-native/package.json')), 'build', 'Release', 'fuse.node');
  } catch (err) {
    throw new Error('FUSE binding: @cocalc/fuse-native is not installed (run npm ci)', { cause: err });
  }
  let b: NativeBinding;
  try {
    b = require(file) as NativeBinding;
  } catch (err) {
    throw new Error(`FUSE binding: cannot load ${file}; build it with: npm run build:fuse`, { cause: err });
  }
  if (b.machpager_patch !== MACHPAGER_PATCH_LEVEL) {
    throw new Error(`FUSE binding: ${file} is not built from the patched source (patch level ${String(b.machpager_patch)}, want ${MACHPAGER_PATCH_LEVEL}); run: npm run build:fuse`);
  }
  loaded = b;
  return b;
}

/** Whether the patched FUSE addon can be loaded here (it says nothing about /dev/fuse or permissions). */
export function fuseBindingAvailable(): boolean {
  try {
    binding();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Encoding results for the addon

const TWO_32 = 4294967296;
const STAT_INTS = 21; // mode uid gid size(2) dev nlink ino rdev blksize blocks(2) atime(3) mtime(3) ctime(3)
const STATFS_INTS = 11;
const EMPTY_STAT = new Uint32Array(STAT_INTS);
const EMPTY_STATFS = new Uint32Array(STATFS_INTS);
const EMPTY: readonly never[] = [];
const ETIMEDOUT = LINUX_ERRNO.ETIMEDOUT;
const EIO = LINUX_ERRNO.EIO;
const ERANGE = LINUX_ERRNO.ERANGE;

function put64(ints: Uint32Array, at: number, n: number): void {
  const high = Math.floor(n / TWO_32);
  ints[at] = n - high * TWO_32;
  ints[at + 1] = high; // negative seconds wrap to two's complement
}

function putTime(ints: Uint32Array, at: number, t: Timespec): void {
  put64(ints, at, t.sec);
  ints[at + 2] = t.nsec;
}

function encodeStat(st: FuseStat, ints: Uint32Array): Uint32Array {
  ints[0] = st.mode;
  ints[1] = st.uid;
  ints[2] = st.gid;
  put64(ints, 3, st.size);
  ints[5] = st.dev ?? 0;
  ints[6] = st.nlink ?? 1;
  ints[7] = st.ino ?? 0;
  ints[8] = st.rdev ?? 0;
  ints[9] = st.blksize ?? 4096;
  put64(ints, 10, st.blocks ?? Math.ceil(st.size / 512));
  putTime(ints, 12, st.atime);
  putTime(ints, 15, st.mtime);
  putTime(ints, 18, st.ctime);
  return ints;
}

function encodeStatfs(s: FuseStatfs, ints: Uint32Array): Uint32Array {
  ints[0] = s.bsize;
  ints[1] = s.frsize;
  ints[2] = s.blocks;
  ints[3] = s.bfree;
  ints[4] = s.bavail;
  ints[5] = s.files;
  ints[6] = s.ffree;
  ints[7] = s.favail;
  ints[8] = s.fsid;
  ints[9] = s.flag;
  ints[10] = s.namemax;
  return ints;
}

function fileHandle(fh: unknown): number {
  if (fh === undefined) return 0;
  if (typeof fh !== 'number' || !Number.isInteger(fh) || fh < 0 || fh > 0x7fff_ffff) throw new TypeError(`file handle ${typeof fh === 'number' ? fh : typeof fh} is not an integer 0..2^31-1`);
  return fh;
}

function count(n: unknown, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw new TypeError(`byte count ${String(n)} is not an integer 0..${max}`);
  return n;
}

function errnoOfReply(err: unknown): number {
  return (err instanceof FsError ? err : toFsError(err)).errno;
}

// ---------------------------------------------------------------------------
// /proc/self/mountinfo, fusermount

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse /proc/self/mountinfo text. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: unescapeMountinfo(fields[4] ?? ''),
      options: fields[5] ?? '',
      fstype: fields[dash + 1] ?? '',
      source: unescapeMountinfo(fields[dash + 2] ?? ''),
      superOptions: fields[dash + 3] ?? '',
    });
  }
  return entries;
}

export async function readMountinfo(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The topmost mount at `mountpoint` (an absolute, resolved path), if any. */
export async function findMount(mountpoint: string): Promise<MountEntry | undefined> {
  const entries = await readMountinfo();
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e?.mountPoint === mountpoint) return e;
  }
  return undefined;
}

function isFuse(e: MountEntry): boolean {
  return e.fstype === 'fuse' || e.fstype.startsWith('fuse.') || e.fstype === 'fuseblk';
}

/** A command that failed: `code` is the spawn error's code (ENOENT: not installed) or the exit status. */
class CommandError extends Error {
  readonly code: string | number | undefined;

  constructor(command: string, err: NodeJS.ErrnoException | { code?: unknown }, stderr: string) {
    super(`${command}: ${stderr.trim() || (err instanceof Error ? err.message : 'failed')}`, { cause: err });
    this.name = 'CommandError';
    this.code = typeof err.code === 'string' || typeof err.code === 'number' ? err.code : undefined;
  }
}

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new CommandError(`${file} ${args.join(' ')}`, err, stderr));
      else resolve();
    });
  });
}

/**
 * `fusermount -u MOUNTPOINT` (`-uz` when lazy), or fusermount3 where only
 * fuse3 is installed. Runs in a child process: the unmount may need this
 * process to answer a request.
 */
export async function fusermount(mountpoint: string, options: { lazy?: boolean } = {}): Promise<void> {
  const args = [options.lazy ? '-uz' : '-u', '--', mountpoint];
  try {
    await run('fusermount', args);
  } catch (err) {
    if (!(err instanceof CommandError) || err.code !== 'ENOENT') throw err;
    await run('fusermount3', args);
  }
}

/** Poll `check` until it returns true, at most `timeoutMs`. */
async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new FsError('ETIMEDOUT', `${what} (waited ${timeoutMs} ms)`);
    await delay(wait);
  }
}

type Probe = { readonly kind: 'ok'; readonly isDirectory: boolean } | { readonly kind: 'error'; readonly code: string } | { readonly kind: 'hung' };

/** stat() the mountpoint from the libuv thread pool, bounded (a hung FUSE daemon never answers). */
async function probe(mountpoint: string, timeoutMs: number): Promise<Probe> {
  const result = stat(mountpoint).then(
    (st): Probe => ({ kind: 'ok', isDirectory: st.isDirectory() }),
    (err: NodeJS.ErrnoException): Probe => ({ kind: 'error', code: err.code ?? 'EIO' }),
  );
  return withTimeout(result, timeoutMs, () => new Error('hung')).catch((): Probe => ({ kind: 'hung' }));
}

/**
 * Clean a stale FUSE mount at `mountpoint` (absolute, resolved): one whose
 * daemon died, so that every access fails with "Transport endpoint is not
 * connected" (ENOTCONN). Unmounts it lazily (`fusermount -uz`) and returns
 * true; returns false when there was nothing to clean. A live FUSE mount
 * there, or one that does not answer, is an EBUSY error: someone is using
 * it, and it is not ours to remove.
 */
export async function cleanStaleMount(mountpoint: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const mounted = await findMount(mountpoint);
  const p = await probe(mountpoint, timeoutMs);
  const stale = p.kind === 'error' && (p.code === 'ENOTCONN' || p.code === 'ECONNABORTED');
  if (stale) {
    await fusermount(mountpoint, { lazy: true });
    await pollUntil(async () => (await findMount(mountpoint))?.id !== mounted?.id, timeoutMs, `stale mount at ${mountpoint} still there after fusermount -uz`);
    return true;
  }
  if (mounted && isFuse(mounted)) {
    const how = p.kind === 'hung' ? 'does not answer (unmount it with: fusermount -uz)' : 'is in use';
    throw new FsError('EBUSY', `${mountpoint} is already a FUSE mount (${mounted.fstype} from ${mounted.source}) that ${how}`);
  }
  return false;
}

/** The absolute path of `mountpoint` with symlinks in its parent resolved (the mountpoint itself may be a stale mount that cannot be resolved). */
async function resolveMountpoint(mountpoint: string): Promise<string> {
  const abs = path.resolve(mountpoint);
  const parent = path.dirname(abs);
  if (parent === abs) return abs;
  try {
    return path.join(await realpath(parent), path.basename(abs));
  } catch {
    return abs;
  }
}

async function allowOtherPermitted(): Promise<boolean> {
  if (process.getuid?.() === 0) return true;
  try {
    const conf = await readFile('/etc/fuse.conf', 'utf8');
    return conf.split('\n').some((line) => line.trim() === 'user_allow_other');
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// The mount

interface Counters {
  /** Requests passed to the filesystem. */
  requests: number;
  /** Requests answered ETIMEDOUT by a configured timeout. */
  timeouts: number;
  /** Replies given after the request was already answered (ignored). */
  lateReplies: number;
  /** Operations that threw something other than an FsError, or answered with a bad value. */
  opErrors: number;
}

type AnyReply = (err?: FsError | null, a?: unknown, b?: unknown) => void;

/**
 * A FUSE mount of `ops` at `mountpoint`.
 *
 *     const m = new FuseMount('/mnt/x', ops, { allowOther: true });
 *     m.on('unmounted', ({ external }) => ...);
 *     await m.mount();   // resolves once the kernel's init arrived and mountinfo shows it
 *     ...
 *     await m.unmount(); // fusermount -u, lazily (-uz) if busy
 */
/** Native thread blocks of mounts that are gone, kept alive (see releaseNative). */
const retiredThreadBlocks: Buffer[] = [];

export class FuseMount extends EventEmitter<FuseMountEvents> {
  readonly options: Readonly<FuseMountOptions>;
  /** The -o list the mount uses. */
  readonly mountOptions: readonly string[];
  readonly counters: Counters = { requests: 0, timeouts: 0, lateReplies: 0, opErrors: 0 };

  private readonly requested: string;
  private readonly ops: FuseOperations;
  private readonly optionString: string;
  private readonly timeoutMs: Readonly<Record<FuseOpName, number>>;
  private current: FuseMountState = 'idle';
  private resolved: string;
  private stale = false;
  private thread: Buffer | undefined;
  private entryId: number | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private readonly locals = new Set<Buffer>();
  private onInit: (() => void) | undefined;

  constructor(mountpoint: string, ops: FuseOperations, options: FuseMountOptions = {}) {
    super();
    this.requested = mountpoint;
    this.resolved = path.resolve(mountpoint);
    this.ops = ops;
    this.options = { ...options };
    this.mountOptions = buildMountOptions(options);
    this.optionString = optionString(this.mountOptions);
    const t = options.timeouts ?? {};
    const timeoutMs = {} as Record<FuseOpName, number>;
    for (const op of FUSE_OPS) {
      const ms = t[op] ?? t.default ?? 0;
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`FUSE timeout for ${op}: ${ms} is not a number of milliseconds`);
      timeoutMs[op] = ms;
    }
    this.timeoutMs = timeoutMs;
  }

  /** The absolute mountpoint (parent symlinks resolved once mount() ran). */
  get mountpoint(): string {
    return this.resolved;
  }

  get state(): FuseMountState {
    return this.current;
  }

  get mounted(): boolean {
    return this.current === 'mounted';
  }

  /** Whether mount() found and cleaned a stale mount first. */
  get cleanedStale(): boolean {
    return this.stale;
  }

  /**
   * Mount. Cleans a stale mount at the mountpoint first (unless
   * `cleanStale: false`), then resolves once the kernel's first request
   * (FUSE init) was answered and /proc/self/mountinfo lists the mount.
   * Rejects with an FsError (ENOENT, ENOTDIR, ENOTEMPTY, EBUSY, EPERM, ETIMEDOUT) or
   * the binding's error, leaving nothing mounted.
   */
  async mount(): Promise<void> {
    if (this.current !== 'idle' && this.current !== 'unmounted') throw new Error(`FuseMount: cannot mount while ${this.current}`);
    this.current = 'mounting';
    const timeoutMs = this.options.mountTimeoutMs ?? 10_000;
    let nativeMounted = false;
    try {
      const b = binding();
      const mnt = await resolveMountpoint(this.requested);
      this.resolved = mnt;
      if (this.options.cleanStale !== false) this.stale = await cleanStaleMount(mnt, { timeoutMs });
      const p = await probe(mnt, timeoutMs);
      if (p.kind === 'error') throw new FsError(p.code === 'ENOENT' ? 'ENOENT' : 'EIO', p.code === 'ENOENT' ? 'mountpoint does not exist' : `cannot stat mountpoint (${p.code})`, { path: mnt, syscall: 'mount' });
      if (p.kind === 'hung') throw new FsError('EBUSY', 'mountpoint does not answer', { path: mnt, syscall: 'mount' });
      if (!p.isDirectory) throw new FsError('ENOTDIR', 'mountpoint is not a directory', { path: mnt, syscall: 'mount' });
      if (!this.mountOptions.includes('nonempty') && (await readdir(mnt)).length > 0) {
        throw new FsError('ENOTEMPTY', "mountpoint is not empty (libfuse 2 refuses it; extraOptions: ['nonempty'] mounts over it)", { path: mnt, syscall: 'mount' });
      }
      if (this.options.allowOther && !(await allowOtherPermitted())) {
        throw new FsError('EPERM', "allowOther needs 'user_allow_other' in /etc/fuse.conf when not mounting as root", { path: mnt, syscall: 'mount' });
      }

      const inited = new Promise<void>((resolve) => {
        this.onInit = resolve;
      });
      const thread = Buffer.alloc(b.sizeof_fuse_thread_t);
      const { handlers, implemented } = this.makeHandlers(b);
      // Synchronous: fuse_mount() (mount(2) or fusermount) and fuse_new(); the FUSE thread starts and sends init.
      try {
        b.fuse_native_mount(mnt, this.optionString, thread, this, (size) => this.malloc(size), handlers, implemented);
      } catch (err) {
        throw new Error(`FUSE mount of ${mnt} with "${this.optionString}" failed (libfuse printed the reason on stderr): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      this.thread = thread;
      nativeMounted = true;
      await withTimeout(inited, timeoutMs, () => new FsError('ETIMEDOUT', `no FUSE init from the kernel within ${timeoutMs} ms`, { path: mnt, syscall: 'mount' }));
      let entry: MountEntry | undefined;
      await pollUntil(async () => {
        entry = await findMount(mnt);
        return entry !== undefined && isFuse(entry);
      }, timeoutMs, `${mnt} is not in /proc/self/mountinfo`);
      this.entryId = entry?.id;
      this.current = 'mounted';
      this.startWatch();
    } catch (err) {
      this.onInit = undefined;
      if (nativeMounted) {
        await fusermount(this.resolved, { lazy: true }).catch(() => undefined);
        this.releaseNative();
      }
      this.current = 'idle';
      throw err;
    }
  }

  /**
   * Unmount with `fusermount -u`; if that fails while the mount is still
   * there (busy), detach it lazily with `fusermount -uz` (it goes away when
   * its last user closes). Resolves once mountinfo no longer lists it.
   */
  async unmount(): Promise<void> {
    if (this.current !== 'mounted') return;
    this.current = 'unmounting';
    this.stopWatch();
    const mnt = this.resolved;
    // Each fusermount is bounded here, not only by its child's kill timeout: a
    // child stuck in umount2 does not die on a signal, and the stop must go on.
    const tryMs = this.options.unmountTryMs ?? 10_000;
    const bounded = (lazy: boolean): Promise<void> =>
      withTimeout(fusermount(mnt, { lazy }), tryMs, () => new FsError('ETIMEDOUT', `fusermount ${lazy ? '-uz' : '-u'} ${mnt} did not finish in ${tryMs} ms`));
    try {
      await bounded(false);
    } catch (err) {
      if (await this.stillMounted()) {
        try {
          await bounded(true);
        } catch (lazyErr) {
          if (await this.stillMounted()) {
            this.current = 'mounted';
            this.startWatch();
            throw new Error(`cannot unmount ${mnt}: ${(err as Error).message}; lazily: ${(lazyErr as Error).message}`, { cause: lazyErr });
          }
        }
      }
    }
    await pollUntil(async () => !(await this.stillMounted()), this.options.mountTimeoutMs ?? 10_000, `${mnt} still mounted after fusermount`);
    this.finish(false);
  }

  private async stillMounted(): Promise<boolean> {
    const e = await findMount(this.resolved);
    return e !== undefined && e.id === this.entryId;
  }

  private startWatch(): void {
    const interval = this.options.watchIntervalMs ?? 1000;
    if (interval <= 0) return;
    this.watchTimer = setInterval(() => {
      if (this.watching || this.current !== 'mounted') return;
      this.watching = true;
      this.stillMounted().then(
        (still) => {
          this.watching = false;
          if (!still && this.current === 'mounted') this.finish(true);
        },
        () => {
          this.watching = false;
        },
      );
    }, interval);
    this.watchTimer.unref();
  }

  private stopWatch(): void {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  private finish(external: boolean): void {
    this.stopWatch();
    this.releaseNative();
    this.current = 'unmounted';
    this.emit('unmounted', { external });
  }

  /** Let the addon's wake-up handle stop holding the event loop open. The FUSE thread ends by itself once the kernel closed the connection. */
  private releaseNative(): void {
    if (this.thread !== undefined && loaded !== undefined) loaded.fuse_native_unmount(this.resolved, this.thread);
    // The block holds a uv_async_t that the addon never closes (only unrefs): libuv keeps it
    // in its loop and touches it on every later async wake-up. Freed by the garbage
    // collector, it would be walked as freed memory (SIGSEGV): keep it for the process's life.
    if (this.thread !== undefined) retiredThreadBlocks.push(this.thread);
    this.thread = undefined;
    this.entryId = undefined;
  }

  private malloc(size: number): Buffer {
    const b = Buffer.alloc(size); // a FUSE worker thread's request block, kept for the process's life
    this.locals.add(b);
    return b;
  }

  private opError(err: unknown, op: FuseOpName): void {
    this.counters.opErrors++;
    if (this.listenerCount('opError') > 0) this.emit('opError', err, op);
    else process.emitWarning(`FUSE ${op}: ${err instanceof Error ? err.message : String(err)}`, { code: 'MACHPAGER_FUSE_OP' });
  }

  /**
   * The reply for one request. `send(res, a, b)` hands the result to the
   * addon; it is called exactly once: with the answer, with ETIMEDOUT when
   * a configured timeout fires first, or with -EIO when encoding the answer
   * failed.
   */
  private reply(op: FuseOpName, send: (res: number, a: unknown, b: unknown) => void): AnyReply {
    let pending = true;
    let timer: NodeJS.Timeout | undefined;
    const ms = this.timeoutMs[op];
    if (ms > 0) {
      timer = setTimeout(() => {
        if (!pending) return;
        pending = false;
        this.counters.timeouts++;
        send(-ETIMEDOUT, undefined, undefined);
      }, ms);
    }
    return (err, a, b) => {
      if (!pending) {
        this.counters.lateReplies++;
        return;
      }
      pending = false;
      if (timer !== undefined) clearTimeout(timer);
      if (err) {
        send(-errnoOfReply(err), undefined, undefined);
        return;
      }
      try {
        send(0, a, b);
      } catch (encodeErr) {
        this.opError(encodeErr, op);
        send(-EIO, undefined, undefined);
      }
    };
  }

  /** An operation threw: an FsError is its answer; anything else is a bug, answered EIO. */
  private threw(op: FuseOpName, err: unknown, reply: AnyReply): void {
    if (!(err instanceof FsError)) this.opError(err, op);
    reply(toFsError(err));
  }

  /** The addon's handler table (indexed by its opcodes) and which ops to register with libfuse. */
  private makeHandlers(b: NativeBinding): { handlers: NativeHandler[]; implemented: Uint32Array } {
    const ops = this.ops;
    const handlers: NativeHandler[] = [];
    const unused: NativeHandler = (l) => b.fuse_native_signal_init(l, -LINUX_ERRNO.ENOSYS);
    for (let i = 0; i < OP_SLOTS; i++) handlers.push(unused);
    const implemented = new Uint32Array(OP_SLOTS);
    const opcode = (name: string): number => {
      const code = b[`op_${name}`];
      if (code === undefined || code >= OP_SLOTS) throw new Error(`FUSE binding: no opcode for ${name}`);
      return code;
    };
    const signal = (name: string): NativeSignal => {
      const fn = b[`fuse_native_signal_${name}`];
      if (typeof fn !== 'function') throw new Error(`FUSE binding: no fuse_native_signal_${name}`);
      return fn;
    };
    const on = (name: FuseOpName | 'init', handler: NativeHandler, register: boolean): void => {
      const code = opcode(name);
      handlers[code] = handler;
      if (register) implemented[code] = 1;
    };
    const has = (name: FuseOpName): boolean => typeof ops[name] === 'function';
    const ctx = (uid: number, gid: number, pid: number): FuseContext => ({ uid, gid, pid });

    const signalInit = signal('init');
    on('init', (l: NativeLocals) => {
      const resolve = this.onInit;
      this.onInit = undefined;
      signalInit(l, 0);
      resolve?.();
    }, true);

    /** One request of an operation that answers only success or an errno. */
    const runVoid = (name: FuseOpName, l: NativeLocals, sig: NativeSignal, uid: number, gid: number, pid: number, call: (c: FuseContext, reply: ReplyVoid) => void): void => {
      this.counters.requests++;
      const reply = this.reply(name, (res) => sig(l, res));
      try {
        call(ctx(uid, gid, pid), reply);
      } catch (err) {
        this.threw(name, err, reply);
      }
    };
    /** One request of an operation that answers a file handle. */
    const runHandle = (name: FuseOpName, l: NativeLocals, sig: NativeSignal, uid: number, gid: number, pid: number, call: (c: FuseContext, reply: Reply<number>) => void): void => {
      this.counters.requests++;
      const reply = this.reply(name, (res, fh) => sig(l, res, res < 0 ? 0 : fileHandle(fh)));
      try {
        call(ctx(uid, gid, pid), reply);
      } catch (err) {
        this.threw(name, err, reply);
      }
    };
    /** Register `name` if the filesystem has it; `make` gets the addon's signal function for it. */
    const op = (name: FuseOpName, make: (sig: NativeSignal) => NativeHandler): void => {
      if (has(name)) on(name, make(signal(name)), true);
    };

    // getattr (always registered: libfuse needs it) and fgetattr.
    {
      const sig = signal('getattr');
      const getattr = ops.getattr.bind(ops);
      const scratch = new Uint32Array(STAT_INTS);
      on('getattr', (l: NativeLocals, _op: number, p: string, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('getattr', (res, st) => sig(l, res, res < 0 ? EMPTY_STAT : encodeStat(st as FuseStat, scratch)));
        try {
          getattr(ctx(uid, gid, pid), p, reply);
        } catch (err) {
          this.threw('getattr', err, reply);
        }
      }, true);
    }
    if (ops.fgetattr) {
      const sig = signal('fgetattr');
      const fgetattr = ops.fgetattr.bind(ops);
      const scratch = new Uint32Array(STAT_INTS);
      on('fgetattr', (l: NativeLocals, _op: number, p: string, fh: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('fgetattr', (res, st) => sig(l, res, res < 0 ? EMPTY_STAT : encodeStat(st as FuseStat, scratch)));
        try {
          fgetattr(ctx(uid, gid, pid), p, fh, reply);
        } catch (err) {
          this.threw('fgetattr', err, reply);
        }
      }, true);
    }

    // read and write: the hot path, written out.
    if (ops.read) {
      const sig = signal('read');
      const read = ops.read.bind(ops);
      on('read', (l: NativeLocals, _op: number, p: string, fh: number, buf: Buffer, len: number, lo: number, hi: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('read', (res, n) => sig(l, res < 0 ? res : count(n, len), 0, buf.buffer));
        try {
          read(ctx(uid, gid, pid), p, fh, buf, len, lo + hi * TWO_32, reply);
        } catch (err) {
          this.threw('read', err, reply);
        }
      }, true);
    }
    if (ops.write) {
      const sig = signal('write');
      const write = ops.write.bind(ops);
      on('write', (l: NativeLocals, _op: number, p: string, fh: number, buf: Buffer, len: number, lo: number, hi: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('write', (res, n) => sig(l, res < 0 ? res : count(n, len), 0, buf.buffer));
        try {
          write(ctx(uid, gid, pid), p, fh, buf, len, lo + hi * TWO_32, reply);
        } catch (err) {
          this.threw('write', err, reply);
        }
      }, true);
    }

    // Operations that answer a file handle. (The addon passes opendir's arguments as path, fh, flags.)
    op('open', (sig) => (l, _op, p: string, flags: number, uid: number, gid: number, pid: number) =>
      runHandle('open', l, sig, uid, gid, pid, (c, r) => ops.open?.(c, p, flags, r)));
    op('opendir', (sig) => (l, _op, p: string, _fh: number, flags: number, uid: number, gid: number, pid: number) =>
      runHandle('opendir', l, sig, uid, gid, pid, (c, r) => ops.opendir?.(c, p, flags, r)));
    op('create', (sig) => (l, _op, p: string, mode: number, flags: number, uid: number, gid: number, pid: number) =>
      runHandle('create', l, sig, uid, gid, pid, (c, r) => ops.create?.(c, p, mode, flags, r)));

    if (ops.statfs) {
      const sig = signal('statfs');
      const statfs = ops.statfs.bind(ops);
      const scratch = new Uint32Array(STATFS_INTS);
      on('statfs', (l: NativeLocals, _op: number, p: string, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('statfs', (res, s) => sig(l, res, res < 0 ? EMPTY_STATFS : encodeStatfs(s as FuseStatfs, scratch)));
        try {
          statfs(ctx(uid, gid, pid), p, reply);
        } catch (err) {
          this.threw('statfs', err, reply);
        }
      }, true);
    }

    if (ops.readdir) {
      const sig = signal('readdir');
      const readdir = ops.readdir.bind(ops);
      on('readdir', (l: NativeLocals, _op: number, p: string, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('readdir', (res, names, stats) => {
          if (res < 0) {
            sig(l, res, EMPTY, EMPTY);
            return;
          }
          const list = names as readonly string[];
          if (!Array.isArray(list) || !list.every((n) => typeof n === 'string')) throw new TypeError('readdir: names must be strings');
          const st = stats as readonly FuseStat[] | undefined;
          if (st !== undefined && st.length === list.length) sig(l, 0, list, st.map((s) => encodeStat(s, new Uint32Array(STAT_INTS))));
          else sig(l, 0, list, EMPTY);
        });
        try {
          readdir(ctx(uid, gid, pid), p, reply);
        } catch (err) {
          this.threw('readdir', err, reply);
        }
      }, true);
    }

    if (ops.readlink) {
      const sig = signal('readlink');
      const readlink = ops.readlink.bind(ops);
      on('readlink', (l: NativeLocals, _op: number, p: string, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('readlink', (res, target) => {
          if (res >= 0 && typeof target !== 'string') throw new TypeError('readlink: the target must be a string');
          sig(l, res, res < 0 ? '' : target);
        });
        try {
          readlink(ctx(uid, gid, pid), p, reply);
        } catch (err) {
          this.threw('readlink', err, reply);
        }
      }, true);
    }

    if (ops.utimens) {
      const sig = signal('utimens');
      const utimens = ops.utimens.bind(ops);
      const now = b.utime_now;
      const omit = b.utime_omit;
      const time = (sec: number, nsec: number): TimeUpdate => (nsec === omit ? 'omit' : nsec === now ? 'now' : { sec, nsec });
      on('utimens', (l: NativeLocals, _op: number, p: string, aSec: number, aNsec: number, mSec: number, mNsec: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('utimens', (res) => sig(l, res));
        try {
          utimens(ctx(uid, gid, pid), p, time(aSec, aNsec), time(mSec, mNsec), reply);
        } catch (err) {
          this.threw('utimens', err, reply);
        }
      }, true);
    }

    // Extended attributes: the value buffers belong to libfuse until the answer.
    if (ops.setxattr) {
      const sig = signal('setxattr');
      const setxattr = ops.setxattr.bind(ops);
      on('setxattr', (l: NativeLocals, _op: number, p: string, name: string, value: Buffer, _position: number, flags: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('setxattr', (res) => sig(l, res, value.buffer));
        try {
          setxattr(ctx(uid, gid, pid), p, name, value, flags, reply);
        } catch (err) {
          this.threw('setxattr', err, reply);
        }
      }, true);
    }
    if (ops.getxattr) {
      const sig = signal('getxattr');
      const getxattr = ops.getxattr.bind(ops);
      on('getxattr', (l: NativeLocals, _op: number, p: string, name: string, out: Buffer, _position: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const size = out.length;
        const reply = this.reply('getxattr', (res, v) => {
          if (res < 0) {
            sig(l, res, out.buffer);
            return;
          }
          if (!Buffer.isBuffer(v)) throw new TypeError('getxattr: the value must be a Buffer');
          if (size === 0) sig(l, v.length, out.buffer);
          else if (v.length > size) sig(l, -ERANGE, out.buffer);
          else sig(l, v.copy(out), out.buffer);
        });
        try {
          getxattr(ctx(uid, gid, pid), p, name, size, reply);
        } catch (err) {
          this.threw('getxattr', err, reply);
        }
      }, true);
    }
    if (ops.listxattr) {
      const sig = signal('listxattr');
      const listxattr = ops.listxattr.bind(ops);
      on('listxattr', (l: NativeLocals, _op: number, p: string, out: Buffer, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const size = out.length;
        const reply = this.reply('listxattr', (res, names) => {
          if (res < 0) {
            sig(l, res, out.buffer);
            return;
          }
          const list = names as readonly string[];
          let total = 0;
          for (const n of list) total += Buffer.byteLength(n) + 1;
          if (size === 0) sig(l, total, out.buffer);
          else if (total > size) sig(l, -ERANGE, out.buffer);
          else {
            let at = 0;
            for (const n of list) {
              at += out.write(n, at);
              out[at++] = 0;
            }
            sig(l, at, out.buffer);
          }
        });
        try {
          listxattr(ctx(uid, gid, pid), p, size, reply);
        } catch (err) {
          this.threw('listxattr', err, reply);
        }
      }, true);
    }

    // The rest answer only success or an errno.
    const offset = (lo: number, hi: number): number => lo + hi * TWO_32;
    const id = (n: number): number => (n === 0xffff_ffff ? -1 : n); // (uid_t) -1: leave it
    op('access', (sig) => (l, _op, p: string, mode: number, uid: number, gid: number, pid: number) =>
      runVoid('access', l, sig, uid, gid, pid, (c, r) => ops.access?.(c, p, mode, r)));
    op('releasedir', (sig) => (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
      runVoid('releasedir', l, sig, uid, gid, pid, (c, r) => ops.releasedir?.(c, p, fh, r)));
    op('fsyncdir', (sig) => (l, _op, p: string, datasync: number, fh: number, uid: number, gid: number, pid: number) =>
      runVoid('fsyncdir', l, sig, uid, gid, pid, (c, r) => ops.fsyncdir?.(c, p, datasync !== 0, fh, r)));
    op('flush', (sig) => (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
      runVoid('flush', l, sig, uid, gid, pid, (c, r) => ops.flush?.(c, p, fh, r)));
    op('fsync', (sig) => (l, _op, p: string, datasync: number, fh: number, uid: number, gid: number, pid: number) =>
      runVoid('fsync', l, sig, uid, gid, pid, (c, r) => ops.fsync?.(c, p, datasync !== 0, fh, r)));
    op('release', (sig) => (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
      runVoid('release', l, sig, uid, gid, pid, (c, r) => ops.release?.(c, p, fh, r)));
    op('truncate', (sig) => (l, _op, p: string, lo: number, hi: number, uid: number, gid: number, pid: number) =>
      runVoid('truncate', l, sig, uid, gid, pid, (c, r) => ops.truncate?.(c, p, offset(lo, hi), r)));
    op('ftruncate', (sig) => (l, _op, p: string, fh: number, lo: number, hi: number, uid: number, gid: number, pid: number) =>
      runVoid('ftruncate', l, sig, uid, gid, pid, (c, r) => ops.ftruncate?.(c, p, fh, offset(lo, hi), r)));
    op('chmod', (sig) => (l, _op, p: string, mode: number, uid: number, gid: number, pid: number) =>
      runVoid('chmod', l, sig, uid, gid, pid, (c, r) => ops.chmod?.(c, p, mode, r)));
    op('chown', (sig) => (l, _op, p: string, owner: number, group: number, uid: number, gid: number, pid: number) =>
      runVoid('chown', l, sig, uid, gid, pid, (c, r) => ops.chown?.(c, p, id(owner), id(group), r)));
    op('mknod', (sig) => (l, _op, p: string, mode: number, rdev: number, uid: number, gid: number, pid: number) =>
      runVoid('mknod', l, sig, uid, gid, pid, (c, r) => ops.mknod?.(c, p, mode, rdev, r)));
    op('mkdir', (sig) => (l, _op, p: string, mode: number, uid: number, gid: number, pid: number) =>
      runVoid('mkdir', l, sig, uid, gid, pid, (c, r) => ops.mkdir?.(c, p, mode, r)));
    op('rmdir', (sig) => (l, _op, p: string, uid: number, gid: number, pid: number) =>
      runVoid('rmdir', l, sig, uid, gid, pid, (c, r) => ops.rmdir?.(c, p, r)));
    op('unlink', (sig) => (l, _op, p: string, uid: number, gid: number, pid: number) =>
      runVoid('unlink', l, sig, uid, gid, pid, (c, r) => ops.unlink?.(c, p, r)));
    op('rename', (sig) => (l, _op, p: string, to: string, uid: number, gid: number, pid: number) =>
      runVoid('rename', l, sig, uid, gid, pid, (c, r) => ops.rename?.(c, p, to, r)));
    op('link', (sig) => (l, _op, p: string, to: string, uid: number, gid: number, pid: number) =>
      runVoid('link', l, sig, uid, gid, pid, (c, r) => ops.link?.(c, p, to, r)));
    op('symlink', (sig) => (l, _op, target: string, p: string, uid: number, gid: number, pid: number) =>
      runVoid('symlink', l, sig, uid, gid, pid, (c, r) => ops.symlink?.(c, target, p, r)));
    op('removexattr', (sig) => (l, _op, p: string, name: string, uid: number, gid: number, pid: number) =>
      runVoid('removexattr', l, sig, uid, gid, pid, (c, r) => ops.removexattr?.(c, p, name, r)));

    return { handlers, implemented };
  }
}
