/**
 * Errno codes as stores report them: the code string Node uses ('EIO') and
 * the Linux number, which is what FUSE finally wants. Node's table is the
 * platform's own, and machpager runs on Linux.
 */
import { constants } from 'node:os';

export type ErrnoCode = keyof typeof constants.errno;

const EIO_NUMBER = 5;

/** The Linux errno number of `code` (EIO's for a code this platform lacks). */
export function errnoNumber(code: string): number {
  return isErrnoCode(code) ? constants.errno[code] : EIO_NUMBER;
}

export function isErrnoCode(code: string): code is ErrnoCode {
  return Object.hasOwn(constants.errno, code);
}

/**
 * The errno of a SQLite result code as better-sqlite3 reports it
 * ('SQLITE_FULL', or an extended one like 'SQLITE_IOERR_WRITE'), or
 * undefined for a code that is not SQLite's. What a caller can act on stays
 * distinct: a full disk is ENOSPC, never EIO; I/O errors, corruption and
 * anything unexpected are EIO.
 */
export function sqliteErrnoCode(code: string): ErrnoCode | undefined {
  if (!code.startsWith('SQLITE_')) return undefined;
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
  return SQLITE_ERRNO[primary] ?? 'EIO';
}

const SQLITE_ERRNO: Readonly<Record<string, ErrnoCode>> = {
  SQLITE_FULL: 'ENOSPC',
  SQLITE_READONLY: 'EROFS',
  SQLITE_BUSY: 'EBUSY',
  SQLITE_LOCKED: 'EBUSY',
  SQLITE_NOMEM: 'ENOMEM',
  SQLITE_TOOBIG: 'EFBIG',
  SQLITE_CANTOPEN: 'EACCES',
  SQLITE_IOERR: 'EIO',
  SQLITE_CORRUPT: 'EIO',
  SQLITE_NOTADB: 'EIO',
};
