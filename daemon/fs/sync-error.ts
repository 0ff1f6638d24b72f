import { pagerErrno } from '../pager/index.js';
import { codeOf, FsError, toFsError } from './errors.js';

/**
 * A failed sync as fsync, sync and unmount report it: EIO, ENOSPC or EDQUOT,
 * as a pager callback would (the pager's write-backs already are; a store's
 * own sync may say EROFS or EBADF, which is EIO here), the error as the cause.
 */
export function syncError(reason: unknown): FsError {
  const error = toFsError(reason);
  const code = codeOf(pagerErrno(reason)) ?? 'EIO';
  return error.code === code ? error : new FsError(code, `${error.message}, reported as ${code}`, { cause: reason });
}
