/**
 * The only errors a pager callback may report are EIO, ENOSPC and EDQUOT
 * (libpager's pager.h). Anything else a callback throws is recorded and
 * reported as EIO: a callback that says EROFS or ENOENT has a bug, but the
 * access that faulted must still get an answer.
 */
import { EDQUOT, EIO, ENOSPC } from '../../kernel/index.js';

export type PagerErrno = typeof EIO | typeof ENOSPC | typeof EDQUOT;

const byCode: Record<string, PagerErrno> = { EIO, ENOSPC, EDQUOT };

/** A callback's failure, carrying one of the three permitted errnos. */
export class PagerError extends Error {
  readonly errno: PagerErrno;
  readonly code: 'EIO' | 'ENOSPC' | 'EDQUOT';

  /**
   * The stored data is damaged (a checksum mismatch, a page missing from its
   * store, a corrupt database): the read fails with EIO and the pager counts
   * it in checksum_errors, apart from I/O that merely failed.
   */
  readonly damaged: boolean;

  constructor(code: 'EIO' | 'ENOSPC' | 'EDQUOT', message?: string, options?: { damaged?: boolean; cause?: unknown }) {
    super(message ?? code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PagerError';
    this.code = code;
    this.errno = byCode[code];
    this.damaged = options?.damaged ?? false;
  }
}

/** A PagerError for one of the three errnos. */
export function pagerError(errno: PagerErrno, message: string): PagerError {
  return new PagerError(errno === ENOSPC ? 'ENOSPC' : errno === EDQUOT ? 'EDQUOT' : 'EIO', message);
}

/** Whether a callback's failure says the stored data is damaged (PagerError.damaged). */
export function isDamaged(err: unknown): boolean {
  return err instanceof PagerError && err.damaged;
}

/**
 * The errno to give the kernel for what a callback threw: its own if it is
 * one of the permitted three (as a PagerError, a Node system error's `code`,
 * or a numeric `errno`), else EIO.
 */
export function pagerErrno(err: unknown): PagerErrno {
  if (typeof err !== 'object' || err === null) return EIO;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' && code in byCode) return byCode[code];
  if (typeof errno === 'number') {
    const n = Math.abs(errno);
    if (n === ENOSPC || n === EDQUOT) return n;
  }
  return EIO;
}

