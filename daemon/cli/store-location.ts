/**
 * Which store a mount uses, from what the user typed.
 *
 *   sqlite:PATH   catalog and page data in one SQLite file
 *   file:DIR      catalog in DIR/catalog.db, page data in raw files under DIR/data
 *   PATH.db       sqlite:PATH.db           (a bare path: the rules of
 *   PATH          file:PATH                 daemon/fs/data-store.ts parseFsStore)
 *   default, none, machpager, or nothing:  the embedded default store
 *
 * The embedded default is one SQLite file, machpager.db, in
 * $MACHPAGER_HOME if set, else /var/lib/machpager for root, else
 * ${XDG_DATA_HOME:-~/.local/share}/machpager. Paths are made absolute
 * here: the daemon runs in / and the name is also the mount's source in
 * /proc/mounts.
 */
import path from 'node:path';
import { usageError } from './cli-error.js';

export type StoreKind = 'sqlite' | 'file';

export interface StoreLocation {
  /** The normalised typed name handed to the filesystem: 'sqlite:/abs/path' or 'file:/abs/dir'. */
  readonly name: string;
  readonly kind: StoreKind;
  /** Absolute: the SQLite file, or the directory of a file: store. */
  readonly path: string;
  /** The embedded default (created, with its directory, when missing). */
  readonly isDefault: boolean;
}

/** Spellings of "the embedded default store" (what fstab lines put in the source field). */
export const DEFAULT_STORE_WORDS: readonly string[] = ['default', 'none', 'machpager'];

export const DEFAULT_STORE_FILE = 'machpager.db';

export interface StoreContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly uid: number;
  readonly homedir: string;
  readonly cwd: string;
}

/** The directory of the embedded default store. */
export function defaultStoreDir(ctx: StoreContext): string {
  const home = ctx.env.MACHPAGER_HOME;
  if (home !== undefined && home !== '') return path.resolve(ctx.cwd, home);
  if (ctx.uid === 0) return '/var/lib/machpager';
  const xdg = ctx.env.XDG_DATA_HOME;
  const data = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(ctx.homedir, '.local', 'share');
  return path.join(data, 'machpager');
}

export function defaultStore(ctx: StoreContext): StoreLocation {
  const file = path.join(defaultStoreDir(ctx), DEFAULT_STORE_FILE);
  return { name: `sqlite:${file}`, kind: 'sqlite', path: file, isDefault: true };
}

/** Whether `spec` means the embedded default store. */
export function isDefaultSpec(spec: string | undefined): boolean {
  return spec === undefined || spec === '' || DEFAULT_STORE_WORDS.includes(spec);
}

/**
 * The store `spec` names. Throws a usage CliError for a name that is not a
 * filesystem store; `label` is how the name is shown in it (default
 * "store NAME"; "-o store=NAME", "MACHPAGER_STORE=NAME" ...).
 */
export function resolveStore(spec: string | undefined, ctx: StoreContext, label?: string): StoreLocation {
  if (isDefaultSpec(spec)) return defaultStore(ctx);
  const name = spec ?? '';
  const what = label ?? `store ${name}`;
  let kind: StoreKind;
  let rest: string;
  const typed = /^([A-Za-z][A-Za-z0-9]*):(.*)$/s.exec(name);
  if (typed && !name.startsWith('./') && !name.startsWith('../')) {
    const type = typed[1] ?? '';
    rest = typed[2] ?? '';
    if (type === 'sqlite') kind = 'sqlite';
    else if (type === 'file') kind = 'file';
    else throw usageError(what, `a filesystem keeps its data in sqlite:PATH or file:DIR, not ${type}:`);
  } else {
    rest = name;
    kind = name.endsWith('.db') ? 'sqlite' : 'file';
  }
  if (rest === '') throw usageError(what, 'names no path');
  if (rest.includes('\0')) throw usageError(what, 'a path has no NUL byte');
  const abs = path.resolve(ctx.cwd, rest);
  return { name: `${kind}:${abs}`, kind, path: abs, isDefault: false };
}
