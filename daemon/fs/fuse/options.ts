/**
 * Mount options: what a FuseMount is asked for (`FuseMountOptions`) and the
 * libfuse 2 `-o` list built from it. Built here rather than by the
 * package's JavaScript class, which dropped uid/gid/umask of 0, wrote umask
 * in decimal and had no big_writes (docs/fuse-binding.md).
 */
import type { FuseOpName } from './contract.js';

/** Milliseconds before an unanswered operation is answered ETIMEDOUT; 0 or absent: never. */
export type FuseTimeouts = { readonly default?: number } & { readonly [K in FuseOpName]?: number };

export interface FuseMountOptions {
  /** libfuse 2 `big_writes`: writes arrive in requests up to 128 KiB instead of 4 KiB. Default true. */
  readonly bigWrites?: boolean;
  /** `direct_io`: every read and write reaches the filesystem (no kernel page cache; shared mmap only where the kernel grants FUSE_DIRECT_IO_ALLOW_MMAP: see FuseMount.sharedMmap). */
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

/** The single "-o..." argument the addon takes for `list`, checked against its length limit. */
export function optionString(list: readonly string[]): string {
  const s = list.length === 0 ? '' : `-o${list.join(',')}`;
  if (Buffer.byteLength(s) > OPTIONS_MAX) throw new TypeError(`FUSE options too long (${Buffer.byteLength(s)} bytes, at most ${OPTIONS_MAX})`);
  return s;
}
