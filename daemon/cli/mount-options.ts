/**
 * `-o` option lists, as FUSE tools take them: comma-separated, repeatable,
 * `key` or `key=value`, a backslash escaping a comma (fuse_opt's rule).
 *
 * Three kinds of keys:
 * - ours: cache_size=, page_size=, policy=, store=, cache_mode=, log_file=,
 *   log_level=, log_format=, metrics=, pager_timeout=, control_fifo=, live_mrc=, inject= (its own commas escaped:
 *   inject=read=EIO\,latency=5)
 *   (a hyphen may stand for the underscore: cache-size=64M);
 * - the generic FUSE ones, mapped to FuseMountOptions (the adapter builds
 *   the real -o list from those): allow_other, allow_root,
 *   default_permissions, ro/rw, uid=, gid=, umask= (octal), fsname=,
 *   subtype=, big_writes/no_big_writes (big_writes is on by default),
 *   direct_io, kernel_cache, auto_cache, max_read=, max_write=,
 *   entry_timeout=, attr_timeout=, negative_timeout=, debug, auto_unmount,
 *   use_ino, hard_remove;
 * - what mount(8) and /etc/fstab add that means nothing to a FUSE daemon,
 *   dropped: defaults, auto, noauto, nofail, _netdev, user, users, nouser,
 *   owner, group, comment=, x-* (x-systemd.automount ...), and suid, dev,
 *   exec, which mount.fuse adds for root mounts (FUSE mounts stay nosuid,
 *   nodev).
 * Anything else goes to libfuse as it is (extraOptions): noatime, nosuid,
 * max_readahead=, nonempty ... libfuse refuses what it does not know.
 * setuid= and drop_privileges belong to mount.fuse3 and are refused.
 */
import type { FuseMountOptions } from '../fs/fuse/options.js';
import { usageError } from './cli-error.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Our own keys, as typed (validated later with the matching command-line option). */
export interface OwnMountOptions {
  cacheSize?: string;
  pageSize?: string;
  policy?: string;
  store?: string;
  cacheMode?: string;
  logFile?: string;
  logLevel?: string;
  logFormat?: string;
  metrics?: string;
  inject?: string;
  pagerTimeout?: string;
  controlFifo?: string;
  liveMrc?: string;
}

export interface ParsedMountOptions {
  readonly own: OwnMountOptions;
  /** Only the keys the user gave (plus extraOptions for the passed-through ones). */
  readonly fuse: FuseMountOptions;
  /** fstab-only options that were dropped, as given. */
  readonly ignored: readonly string[];
  /** `nonempty` was given: mount over a non-empty directory. */
  readonly nonempty: boolean;
}

const OWN_KEYS: Readonly<Record<string, keyof OwnMountOptions>> = {
  cache_size: 'cacheSize',
  page_size: 'pageSize',
  policy: 'policy',
  store: 'store',
  cache_mode: 'cacheMode',
  log_file: 'logFile',
  log_level: 'logLevel',
  log_format: 'logFormat',
  metrics: 'metrics',
  inject: 'inject',
  pager_timeout: 'pagerTimeout',
  control_fifo: 'controlFifo',
  live_mrc: 'liveMrc',
};

/** Flags that set a boolean FuseMountOptions field. */
const FLAGS: Readonly<Record<string, [keyof FuseMountOptions, boolean]>> = {
  allow_other: ['allowOther', true],
  allow_root: ['allowRoot', true],
  default_permissions: ['defaultPermissions', true],
  ro: ['readOnly', true],
  rw: ['readOnly', false],
  big_writes: ['bigWrites', true],
  no_big_writes: ['bigWrites', false],
  direct_io: ['directIo', true],
  kernel_cache: ['kernelCache', true],
  auto_cache: ['autoCache', true],
  debug: ['debug', true],
  auto_unmount: ['autoUnmount', true],
  use_ino: ['useIno', true],
  hard_remove: ['hardRemove', true],
};

type ValueKind = 'id' | 'octal' | 'bytes' | 'seconds' | 'string';

const VALUES: Readonly<Record<string, [keyof FuseMountOptions, ValueKind]>> = {
  uid: ['uid', 'id'],
  gid: ['gid', 'id'],
  umask: ['umask', 'octal'],
  fsname: ['fsname', 'string'],
  subtype: ['subtype', 'string'],
  max_read: ['maxRead', 'bytes'],
  max_write: ['maxWrite', 'bytes'],
  entry_timeout: ['entryTimeout', 'seconds'],
  attr_timeout: ['attrTimeout', 'seconds'],
  negative_timeout: ['negativeTimeout', 'seconds'],
};

/** What mount(8), fstab and mount.fuse add that a FUSE daemon ignores. */
const FSTAB_ONLY = new Set(['defaults', 'auto', 'noauto', 'nofail', '_netdev', 'user', 'users', 'nouser', 'owner', 'group', 'suid', 'dev', 'exec']);

/** Whether `option` (one item of a list) is one mount(8) or fstab adds and a FUSE daemon drops. */
export function isFstabOnly(option: string): boolean {
  const key = option.split('=', 1)[0] ?? '';
  return FSTAB_ONLY.has(key) || key === 'comment' || key.startsWith('x-');
}

/** Split one -o list on commas; `\,` is a comma inside a value and `\\` a backslash. */
export function splitOptionList(list: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '\\' && i + 1 < list.length) {
      cur += list[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.filter((o) => o !== '');
}

/** Escape one option for a list (the inverse of splitOptionList). */
export function escapeOption(option: string): string {
  return option.replace(/[\\,]/g, (c) => `\\${c}`);
}

function parseValue(what: string, kind: ValueKind, value: string): number | string {
  switch (kind) {
    case 'id': {
      if (!/^\d+$/.test(value) || Number(value) > 0xffff_fffe) throw usageError(what, 'not a numeric id (0 .. 4294967294)');
      return Number(value);
    }
    case 'octal': {
      if (!/^[0-7]{1,4}$/.test(value)) throw usageError(what, 'not an octal mask (like 022 or 0077)');
      return parseInt(value, 8);
    }
    case 'bytes': {
      if (!/^\d+$/.test(value) || Number(value) === 0 || Number(value) > 0xffff_fffe) throw usageError(what, 'not a byte count (a positive integer)');
      return Number(value);
    }
    case 'seconds': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw usageError(what, 'not a number of seconds (0 or more, fractions allowed)');
      return n;
    }
    case 'string': {
      if (value === '') throw usageError(what, 'needs a value');
      return value;
    }
  }
}

/**
 * Parse the -o lists, in order (a later key wins over an earlier one, as
 * with mount(8)). Throws a usage CliError naming the option as `spell`
 * writes it (default "-o OPTION"; the MACHPAGER_OPTIONS list says where it
 * came from instead).
 */
export function parseMountOptions(lists: readonly string[], spell: (option: string) => string = (option) => `-o ${option}`): ParsedMountOptions {
  const own: OwnMountOptions = {};
  const fuse: Mutable<FuseMountOptions> = {};
  const extra: string[] = [];
  const ignored: string[] = [];
  let nonempty = false;

  for (const list of lists) {
    for (const option of splitOptionList(list)) {
      const eq = option.indexOf('=');
      const rawKey = eq < 0 ? option : option.slice(0, eq);
      const value = eq < 0 ? undefined : option.slice(eq + 1);
      const key = rawKey.replace(/-/g, '_');

      const ownKey = OWN_KEYS[key];
      if (ownKey !== undefined) {
        if (value === undefined || value === '') throw usageError(spell(option), `needs a value (${key}=...)`);
        own[ownKey] = value;
        continue;
      }
      const flag = FLAGS[key];
      if (flag !== undefined) {
        if (value !== undefined) throw usageError(spell(option), `${key} takes no value`);
        (fuse as Record<string, unknown>)[flag[0]] = flag[1];
        continue;
      }
      const valued = VALUES[key];
      if (valued !== undefined) {
        if (value === undefined) throw usageError(spell(option), `needs a value (${key}=...)`);
        if (key === 'subtype' && /[\s/]/.test(value)) throw usageError(spell(option), 'a subtype has no white space or slash');
        (fuse as Record<string, unknown>)[valued[0]] = parseValue(spell(option), valued[1], value);
        continue;
      }
      if (isFstabOnly(option)) {
        ignored.push(option);
        continue;
      }
      if (key === 'setuid' || key === 'drop_privileges') {
        throw usageError(spell(option), `${key} is mount.fuse3's option and libfuse 2 cannot use it; run the mount as that user instead`);
      }
      if (/\s/.test(option)) throw usageError(spell(option), 'an option has no white space');
      if (key === 'nonempty') nonempty = true;
      extra.push(option);
    }
  }
  if (fuse.allowOther && fuse.allowRoot) throw usageError(spell('allow_other,allow_root'), 'the two exclude each other (allow_other includes root)');
  if (extra.length > 0) fuse.extraOptions = extra;
  return { own, fuse, ignored, nonempty };
}
