/**
 * What is at a SQLite store's path, before SQLite opens it: the registry's
 * key for it, and whether it is missing, empty or a machpager database,
 * told from the file's first bytes alone (a foreign database is refused
 * before SQLite could write a byte to it: not even a -wal or -shm file).
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { StoreError } from './store.js';

/** 'MPGR' in the database header (PRAGMA application_id). */
export const MACHPAGER_APPLICATION_ID = 0x4d504752;

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_SIZE = 100;
const APPLICATION_ID_OFFSET = 68;

/** The resolved path the connection registry keys a database by. */
export function registryKey(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    return absolute; // not there yet: create will make it under this name
  }
}

export type FileState = 'missing' | 'empty' | 'machpager';

/**
 * What is at `path`, from the file's first bytes alone: refuse anything that
 * is not a machpager database before SQLite opens it (and might write to it).
 */
export function inspect(path: string): FileState {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new StoreError('EISDIR', `${path} is a directory, not a machpager store`);
    if (st.size === 0) return 'empty';
    const header = Buffer.alloc(HEADER_SIZE);
    const n = readSync(fd, header, 0, HEADER_SIZE, 0);
    if (n < HEADER_SIZE || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
      throw new StoreError('EINVAL', `${path} is not a machpager store (not a SQLite database)`);
    }
    const id = header.readUInt32BE(APPLICATION_ID_OFFSET);
    if (id !== MACHPAGER_APPLICATION_ID) {
      throw new StoreError('EINVAL', `${path} is not a machpager store (a SQLite database with application_id 0x${id.toString(16)})`);
    }
    return 'machpager';
  } finally {
    closeSync(fd);
  }
}

