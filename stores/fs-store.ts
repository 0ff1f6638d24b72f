/**
 * The typed name of a whole filesystem's store (what `machpager mount`
 * takes and MachFilesystem opens), and where that store's files lie. One
 * parser and one layout, for the CLI, the daemon's lock and the filesystem:
 *
 *   sqlite:PATH   catalog and page data in one SQLite file PATH
 *   file:DIR      catalog in DIR/catalog.db, page data in one sparse raw
 *                 file per inode, DIR/data/<ino>
 *   PATH.db       sqlite:PATH.db   (a bare path: no TYPE: in front, or one
 *   PATH          file:PATH         starting with ./ or ../, even with a ':')
 *
 * This is not openStore's typed name (typed-name.ts): a filesystem keeps
 * its catalog in SQLite, so only these two types hold one, and a bare
 * PATH.db means SQLite. Paths are kept as written; the CLI makes them
 * absolute before the daemon runs in /.
 */
import path from 'node:path';
import { StoreError } from './store.js';

export type FsStoreKind = 'sqlite' | 'file';

export interface FsStoreName {
  readonly kind: FsStoreKind;
  /** The SQLite file, or the directory of a file: store. */
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
    if (type === 'sqlite' || type === 'file') kind = type;
    else throw new StoreError('EINVAL', `a filesystem keeps its data in sqlite:PATH or file:DIR, not ${type}:`);
  } else {
    rest = name;
    kind = name.endsWith('.db') ? 'sqlite' : 'file';
  }
  if (rest === '') throw new StoreError('EINVAL', 'names no path');
  if (rest.includes('\0')) throw new StoreError('EINVAL', 'a path has no NUL byte');
  return { kind, path: rest };
}

/** The typed name of a parsed store: 'sqlite:PATH' or 'file:DIR'. */
export function fsStoreName(store: FsStoreName): string {
  return `${store.kind}:${store.path}`;
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

/** Where the catalog and the lock of a store lie. */
export function fsStoreLayout(store: FsStoreName): FsStoreLayout {
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
