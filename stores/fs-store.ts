/**
 * The typed name of a whole filesystem's store (what `machpager mount`
 * takes and MachFilesystem opens), and where that store's files lie. One
 * parser and one layout, for the CLI, the daemon's lock and the filesystem:
 *
 *   sqlite:PATH   catalog and page data in one SQLite file PATH
 *   file:DIR      catalog in DIR/catalog.db, page data in one sparse raw
 *                 file per inode, DIR/data/<ino>
 *   postgres://USER@HOST/DB, postgres:///DB?host=SOCKDIR&user=NAME
 *                 catalog and page data in a PostgreSQL database (libpq's
 *                 URI syntax; postgresql: too), kept as written
 *   PATH.db       sqlite:PATH.db   (a bare path: no TYPE: in front, or one
 *   PATH          file:PATH         starting with ./ or ../, even with a ':')
 *
 * This is not openStore's typed name (typed-name.ts): only these types
 * hold a catalog, and a bare PATH.db means SQLite. Paths are kept as written; the CLI makes them
 * absolute before the daemon runs in /.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StoreError } from './store.js';

export type FsStoreKind = 'sqlite' | 'file' | 'postgres';

export interface FsStoreName {
  readonly kind: FsStoreKind;
  /** The SQLite file, the directory of a file: store, or a postgres: store's whole URI ('postgres://...'). */
  readonly path: string;
}

/** Parse a filesystem store name (see the file comment). Throws StoreError EINVAL, its detail one clause. */
export function parseFsStoreName(name: string): FsStoreName {
  const typed = /^([A-Za-z][A-Za-z0-9]*):(.*)$/s.exec(name);
  let kind: FsStoreKind;
  let rest: string;
  if (typed && !name.startsWith('./') && !name.startsWith('../')) {
    const type = typed[1] ?? '';
    rest = typed[2] ?? '';
    if (type === 'postgres' || type === 'postgresql') return { kind: 'postgres', path: postgresUri(rest) };
    if (type === 'sqlite' || type === 'file') kind = type;
    else throw new StoreError('EINVAL', `a filesystem keeps its data in sqlite:PATH, file:DIR or postgres://USER@HOST/DB, not ${type}:`);
  } else {
    rest = name;
    kind = name.endsWith('.db') ? 'sqlite' : 'file';
  }
  if (rest === '') throw new StoreError('EINVAL', 'names no path');
  if (rest.includes('\0')) throw new StoreError('EINVAL', 'a path has no NUL byte');
  return { kind, path: rest };
}

/** A postgres: store's URI from what follows 'postgres:' (one spelling: 'postgres:'). */
function postgresUri(rest: string): string {
  if (!rest.startsWith('//')) throw new StoreError('EINVAL', 'takes a libpq URI: postgres://USER@HOST/DB or postgres:///DB?host=SOCKETDIR&user=NAME');
  if (rest.includes('#')) throw new StoreError('EINVAL', 'a filesystem has no space number (#N)');
  if (rest.includes('\0')) throw new StoreError('EINVAL', 'a URI has no NUL byte');
  const db = /^\/\/[^/?]*\/([^?]*)/.exec(rest)?.[1] ?? '';
  if (db === '' && !/[?&]dbname=/.test(rest)) throw new StoreError('EINVAL', 'names no database');
  return `postgres:${rest}`;
}

/** The typed name of a parsed store: 'sqlite:PATH', 'file:DIR' or the postgres: URI. */
export function fsStoreName(store: FsStoreName): string {
  return store.kind === 'postgres' ? store.path : `${store.kind}:${store.path}`;
}

/** The catalog's file name in a file:DIR store. */
export const FILE_STORE_CATALOG = 'catalog.db';
/** The directory of the raw data files in a file:DIR store. */
export const FILE_STORE_DATA = 'data';

export interface FsStoreLayout {
  /** The catalog's SQLite file: PATH itself, or DIR/catalog.db. */
  readonly catalog: string;
  /** The lock file of the process serving the store, beside the catalog. */
  readonly lock: string;
}

export interface FileStoreLayout extends FsStoreLayout {
  /** DIR/data, one raw file per inode in it. */
  readonly data: string;
}

/** Where the files of a file:DIR store lie. */
export function fileStoreLayout(dir: string): FileStoreLayout {
  const catalog = path.join(dir, FILE_STORE_CATALOG);
  return { catalog, lock: `${catalog}.lock`, data: path.join(dir, FILE_STORE_DATA) };
}

/**
 * Where the catalog and the lock of a store lie. A postgres: store's
 * catalog is in its database (`catalog` is the URI); its lock is a file of
 * this machine named after the URI: it keeps two daemons of one machine
 * off one database (keeping mounts of several machines apart, or coherent,
 * is not a lock file's work).
 */
export function fsStoreLayout(store: FsStoreName): FsStoreLayout {
  if (store.kind === 'postgres') {
    const hash = createHash('sha256').update(store.path).digest('hex').slice(0, 16);
    return { catalog: store.path, lock: path.join(tmpdir(), `machpager-postgres-${hash}.lock`) };
  }
  return store.kind === 'sqlite' ? { catalog: store.path, lock: `${store.path}.lock` } : fileStoreLayout(store.path);
}

/** The raw data file of inode `ino` under a file:DIR store's data directory. */
export function fsStoreDataFile(data: string, ino: number): string {
  return path.join(data, String(ino));
}

/** A SQLite file and the files SQLite puts beside it. */
export function sqliteFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}
