/**
 * Filesystem errors: what a FUSE operation answers when it fails. An FsError
 * carries the Node-style code ('ENOENT') and the Linux errno number (2) that
 * the kernel hands to the program; messages read like Node's own
 * ("ENOENT: no such file or directory, open '/a/b'").
 *
 * The numbers are Linux's (FUSE speaks Linux errnos), written out so that a
 * reader sees them; test/fs/errors.test.ts checks them against the
 * platform's table. A code the table lacks is looked up in Node's table of
 * the platform's errnos.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { sqliteErrnoCode } from '../../stores/errno.js';

/** Linux errno numbers of the codes a filesystem answers with. */
export const LINUX_ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ESTALE: 116,
  EDQUOT: 122,
  ECANCELED: 125,
} as const;

export type FsErrorCode = keyof typeof LINUX_ERRNO;

const byNumber = new Map<number, FsErrorCode>();
for (const [code, errno] of Object.entries(LINUX_ERRNO) as [FsErrorCode, number][]) {
  // The first name wins for aliases (EAGAIN before EWOULDBLOCK, ENOTSUP before EOPNOTSUPP).
  if (!byNumber.has(errno)) byNumber.set(errno, code);
}

let systemMessages: Map<number, [string, string]> | undefined;

/** libuv's description of `errno` ("no such file or directory"). */
function describe(errno: number): string {
  systemMessages ??= getSystemErrorMap();
  return systemMessages.get(-errno)?.[1] ?? 'error';
}

export function isFsErrorCode(code: string): code is FsErrorCode {
  return Object.hasOwn(LINUX_ERRNO, code);
}

/** The errno number of a Node-style code ('ENOENT' → 2), or undefined for a code Linux does not have. */
export function errnoOf(code: string): number | undefined {
  if (isFsErrorCode(code)) return LINUX_ERRNO[code];
  if (Object.hasOwn(constants.errno, code)) return constants.errno[code as keyof typeof constants.errno];
  return undefined;
}

/** The code of an errno number (2 → 'ENOENT'), if it is one of ours. */
export function codeOf(errno: number): FsErrorCode | undefined {
  return byNumber.get(Math.abs(errno));
}

export interface FsErrorDetails {
  /** The path the failed operation was about. */
  readonly path?: string;
  /** The operation, as a system call or FUSE op name ('open', 'read'). */
  readonly syscall?: string;
  readonly cause?: unknown;
}

/** A failed filesystem operation: the kernel gets `errno`. */
export class FsError extends Error {
  readonly code: FsErrorCode;
  /** The Linux errno number, positive (the FUSE adapter negates it). */
  readonly errno: number;
  readonly path?: string;
  readonly syscall?: string;

  constructor(code: FsErrorCode, message?: string, details: FsErrorDetails = {}) {
    const errno = LINUX_ERRNO[code];
    const where = details.syscall === undefined ? '' : `, ${details.syscall}${details.path === undefined ? '' : ` '${details.path}'`}`;
    super(`${code}: ${message ?? describe(errno)}${where}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'FsError';
    this.code = code;
    this.errno = errno;
    if (details.path !== undefined) this.path = details.path;
    if (details.syscall !== undefined) this.syscall = details.syscall;
  }
}

/**
 * The FsError for anything thrown or passed as an error: an FsError as it
 * is; a Node system error by its `code` ('ENOENT'), else by its `errno`
 * (Node's are negative); a SQLite error (the catalog's) by its result code
 * (SQLITE_FULL is ENOSPC, SQLITE_IOERR and SQLITE_CORRUPT are EIO); anything
 * else as `fallback` (EIO), with the original as the cause.
 */
export function toFsError(err: unknown, fallback: FsErrorCode = 'EIO'): FsError {
  if (err instanceof FsError) return err;
  if (typeof err === 'object' && err !== null) {
    const { code, errno, path, syscall } = err as { code?: unknown; errno?: unknown; path?: unknown; syscall?: unknown };
    const details: FsErrorDetails = {
      cause: err,
      ...(typeof path === 'string' ? { path } : {}),
      ...(typeof syscall === 'string' ? { syscall } : {}),
    };
    if (typeof code === 'string' && isFsErrorCode(code)) return new FsError(code, undefined, details);
    const bySqlite = typeof code === 'string' ? sqliteErrnoCode(code) : undefined;
    if (bySqlite !== undefined) {
      const mapped = isFsErrorCode(bySqlite) ? bySqlite : 'EIO';
      return new FsError(mapped, err instanceof Error ? `${describe(LINUX_ERRNO[mapped])} (${err.message})` : undefined, details);
    }
    if (typeof errno === 'number') {
      const byErrno = codeOf(errno);
      if (byErrno !== undefined) return new FsError(byErrno, undefined, details);
    }
    return new FsError(fallback, err instanceof Error ? err.message : undefined, details);
  }
  return new FsError(fallback, typeof err === 'string' ? err : undefined, { cause: err });
}
