/**
 * The errno values that cross the kernel: the only errors a pager may report
 * (EIO, ENOSPC, EDQUOT; pager.h) and the ones memcpy itself gives. Linux
 * numbers, since they go straight back to FUSE.
 */
export const EIO = 5;
export const EFAULT = 14;
export const EFBIG = 27;
export const ENOSPC = 28;
export const EDQUOT = 122;

/** Page errors a pager can report; anything else is recorded as EIO (libpager does the same). */
export function pagerError(errno: number): number {
  return errno === ENOSPC || errno === EDQUOT ? errno : EIO;
}

/** Offsets are exact up to 2^53; past that, EFBIG. */
export const MAX_OFFSET = 2 ** 53;
