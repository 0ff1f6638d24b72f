/**
 * Which store a mount uses, from what the user typed: a filesystem store
 * name (stores/fs-store.ts: sqlite:PATH, file:DIR, PATH.db, PATH), or
 * default, none, machpager, or nothing for the embedded default store.
 *
 * The embedded default is one SQLite file, machpager.db, in
 * $MACHPAGER_HOME if set, else /var/lib/machpager for root, else
 * ${XDG_DATA_HOME:-~/.local/share}/machpager. Paths are made absolute
 * here: the daemon runs in / and the name is also the mount's source in
 * /proc/mounts.
 */
import path from 'node:path';
// Not stores/index.js: the CLI loads no SQLite before a mount starts.
import { fsStoreName, parseFsStoreName, type FsStoreKind, type FsStoreName } from '../../stores/fs-store.js';
import { errorMessage, usageError } from './cli-error.js';

export type StoreKind = FsStoreKind;

export interface StoreLocation extends FsStoreName {
  /** The normalised typed name handed to the filesystem: 'sqlite:/abs/path' or 'file:/abs/dir'. */
  readonly name: string;
  /** Absolute: the SQLite file, or the directory of a file: store; a postgres: store's URI. */
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
  return { name: fsStoreName({ kind: 'sqlite', path: file }), kind: 'sqlite', path: file, isDefault: true };
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
  let parsed: FsStoreName;
  try {
    parsed = parseFsStoreName(name);
  } catch (err) {
    throw usageError(label ?? `store ${name}`, errorMessage(err));
  }
  // A postgres: URI names a database, not a path: it is kept as written.
  const store = { kind: parsed.kind, path: parsed.kind === 'postgres' ? parsed.path : path.resolve(ctx.cwd, parsed.path) };
  return { ...store, name: fsStoreName(store), isDefault: false };
}
