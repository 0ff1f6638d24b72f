/**
 * The FUSE binding: the one file that loads fuse-native.
 *
 * The binding is the native addon of @cocalc/fuse-native 2.4.3 (libfuse 2.9,
 * high-level path API, multithreaded loop), patched and compiled at install
 * by scripts/build-fuse-binding; docs/fuse-binding.md describes the patch
 * and its calling convention. FuseMount (mount.ts) drives the addon
 * directly, not the package's JavaScript class; this file loads the addon
 * (refusing an unpatched build) and encodes answers into the records it
 * expects (stat and statfs as Uint32Arrays, 64-bit numbers as lo/hi pairs).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FuseStat, FuseStatfs, Timespec } from './contract.js';

/** A libfuse worker thread's request block: passed to each handler, handed back in its signal. */
export type NativeLocals = Buffer;
export type NativeHandler = (locals: NativeLocals, op: number, ...args: never[]) => void;
export type NativeSignal = (locals: NativeLocals, res: number, ...extra: unknown[]) => void;

export interface NativeBinding {
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
  /** 0: no INIT yet; 1: the INIT reply granted FUSE_DIRECT_IO_ALLOW_MMAP; 2: the kernel does not offer it. */
  fuse_native_shared_mmap(thread: Buffer): number;
  readonly [signal: `fuse_native_signal_${string}`]: NativeSignal;
  readonly [opcode: `op_${string}`]: number;
}

const MACHPAGER_PATCH_LEVEL = 2;
export const OP_SLOTS = 35; // the addon's handler table

let loaded: NativeBinding | undefined;

/** The patched addon; throws a clear error when it was not built. */
export function binding(): NativeBinding {
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

/** The addon if it was loaded already (without loading it). */
export function loadedBinding(): NativeBinding | undefined {
  return loaded;
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

/** 64-bit numbers travel as (low, high) uint32 pairs: n = low + high * TWO_32. */
export const TWO_32 = 4294967296;
export const STAT_INTS = 21; // mode uid gid size(2) dev nlink ino rdev blksize blocks(2) atime(3) mtime(3) ctime(3)
export const STATFS_INTS = 11;
export const EMPTY_STAT = new Uint32Array(STAT_INTS);
export const EMPTY_STATFS = new Uint32Array(STATFS_INTS);
export const EMPTY: readonly never[] = [];

function put64(ints: Uint32Array, at: number, n: number): void {
  const high = Math.floor(n / TWO_32);
  ints[at] = n - high * TWO_32;
  ints[at + 1] = high; // negative seconds wrap to two's complement
}

function putTime(ints: Uint32Array, at: number, t: Timespec): void {
  put64(ints, at, t.sec);
  ints[at + 2] = t.nsec;
}

/** A stat record as the patched addon reads it (21 uint32s, times in seconds and nanoseconds), written into `ints`. */
export function encodeStat(st: FuseStat, ints: Uint32Array): Uint32Array {
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

/** A statfs record (11 uint32s), written into `ints`. */
export function encodeStatfs(s: FuseStatfs, ints: Uint32Array): Uint32Array {
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

/** A file handle the addon can carry (int32; undefined: 0, no handle), or a TypeError. */
export function fileHandle(fh: unknown): number {
  if (fh === undefined) return 0;
  if (typeof fh !== 'number' || !Number.isInteger(fh) || fh < 0 || fh > 0x7fff_ffff) throw new TypeError(`file handle ${typeof fh === 'number' ? fh : typeof fh} is not an integer 0..2^31-1`);
  return fh;
}

/** A byte count within what was asked for, or a TypeError. */
export function count(n: unknown, max: number): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw new TypeError(`byte count ${String(n)} is not an integer 0..${max}`);
  return n;
}
