/**
 * What a command says when it fails: ONE line on stderr,
 * "machpager: <what>: <why>", and a documented exit code (exit-codes.ts).
 * No stack traces: an error from deeper down (a StoreError, an FsError, a
 * SQLite error, a Node system error) is reduced to its first line, without
 * the "ECODE: " prefix, and its code picks the exit code.
 */
import { EXIT, type ExitCode } from './exit-codes.js';

export class CliError extends Error {
  constructor(
    /** The subject: an option as typed ("--cache-size 64Q"), a path, "store sqlite:/x.db". */
    readonly what: string,
    /** Why it failed, as one short clause. */
    readonly why: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(`${what}: ${why}`, options);
    this.name = 'CliError';
  }

  /** The line to print (without "machpager: " and the newline). */
  get line(): string {
    return oneLine(this.what === '' ? this.why : `${this.what}: ${this.why}`);
  }
}

/** A usage error (exit 2). */
export function usageError(what: string, why: string): CliError {
  return new CliError(what, why, EXIT.USAGE);
}

/** Collapse any text to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The code of an error ('ENOENT', 'SQLITE_NOTADB'...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The message of an error: its first line, without a leading "ECODE: " (StoreError and FsError put one there). */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const first = text.split('\n', 1)[0] ?? '';
  return first.replace(/^E[A-Z0-9]+: /, '').trim() || (err instanceof Error ? err.name : 'error');
}

/**
 * The exit code for an error code from a store, the filesystem, the FUSE
 * adapter or Node: errno names and better-sqlite3's SQLITE_* codes.
 */
export function exitCodeFor(code: string | undefined, fallback: ExitCode = EXIT.FAILURE): ExitCode {
  if (code === undefined) return fallback;
  if (code.startsWith('SQLITE_')) {
    const base = code.replace(/^(SQLITE_[A-Z]+).*/, '$1');
    switch (base) {
      case 'SQLITE_NOTADB':
      case 'SQLITE_CORRUPT':
      case 'SQLITE_FORMAT':
      case 'SQLITE_SCHEMA':
      case 'SQLITE_MISMATCH':
        return EXIT.DATAERR;
      case 'SQLITE_CANTOPEN':
        return EXIT.NOINPUT;
      case 'SQLITE_BUSY':
      case 'SQLITE_LOCKED':
        return EXIT.TEMPFAIL;
      case 'SQLITE_READONLY':
      case 'SQLITE_PERM':
      case 'SQLITE_AUTH':
        return EXIT.NOPERM;
      case 'SQLITE_IOERR':
      case 'SQLITE_FULL':
        return EXIT.IOERR;
      default:
        return fallback;
    }
  }
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return EXIT.NOINPUT;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return EXIT.NOPERM;
    case 'EINVAL':
    case 'EBADMSG':
    case 'EFTYPE':
    case 'EISDIR':
    case 'EFBIG':
      return EXIT.DATAERR;
    case 'EIO':
    case 'ENOSPC':
    case 'EDQUOT':
      return EXIT.IOERR;
    case 'EBUSY':
    case 'EAGAIN':
    case 'EWOULDBLOCK':
    case 'EEXIST':
      return EXIT.TEMPFAIL;
    case 'ENOTEMPTY':
      return EXIT.CANTCREAT;
    case 'ETIMEDOUT':
    case 'ENODEV':
    case 'ENXIO':
    case 'ENOSYS':
    case 'ENOTCONN':
      return EXIT.UNAVAILABLE;
    default:
      return fallback;
  }
}

/** Any error as a CliError about `what`. */
export function toCliError(err: unknown, what: string, fallback: ExitCode = EXIT.FAILURE): CliError {
  if (err instanceof CliError) return err;
  return new CliError(what, errorMessage(err), exitCodeFor(errorCode(err), fallback), { cause: err });
}
