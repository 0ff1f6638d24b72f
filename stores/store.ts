/**
 * The store contract (libstore's struct store and store.h): a linear address
 * space of `size` bytes in blocks of `blockSize`, with flags, opened from a
 * typed name that reopens it. The generic rules (read-only, range,
 * alignment, EFBIG, EBADF) are enforced once, in base.ts; classes only move
 * bytes.
 */
import { errnoNumber, isErrnoCode, type ErrnoCode } from './errno.js';

/** Generic: writes fail with EROFS. Set and cleared freely (unless HARD_READONLY). */
export const STORE_READONLY = 0x100;
/** Backend: the store can never be made writable (e.g. a file opened for reading only). */
export const STORE_HARD_READONLY = 0x1000;
/** Backend: the backend itself enforces the range (a whole file or device). */
export const STORE_ENFORCED = 0x2000;

/** Flags setFlags / clearFlags may change; every other bit is the backend's (EINVAL). */
export const STORE_GENERIC_FLAGS = STORE_READONLY;
/** Flags an opener may ask for (OpenOptions.flags). */
export const STORE_OPEN_FLAGS = STORE_READONLY | STORE_HARD_READONLY;

/** Offsets and sizes are exact up to 2^53 bytes; past that, EFBIG. */
export const MAX_STORE_SIZE = 2 ** 53;

/** I/O counters every store keeps (cheap: plain number bumps). */
export interface StoreStats {
  reads: number;
  writes: number;
  bytes_read: number;
  bytes_written: number;
  syncs: number;
  /** Operations that failed, whatever the error. */
  errors: number;
}

export interface Store {
  /** 'file', 'sqlite', 'memory', 'zero', 'concat', 'ileave', 'remap', 'copy', 'fault'. */
  readonly className: string;
  /** A typed name that reopens this store: e.g. 'sqlite:/a.db#3', 'copy:file:/x'. */
  readonly name: string;
  /** A power of two. */
  readonly blockSize: number;
  /** Bytes, a multiple of blockSize. */
  readonly size: number;
  readonly flags: number;
  /** Fill `into` from byte `offset`; returns bytes read: short only at the end of the store. */
  read(offset: number, into: Buffer): Promise<number>;
  /** Write `data` at `offset`; returns bytes written. `data` must not change until this settles. */
  write(offset: number, data: Buffer): Promise<number>;
  /** Grow or shrink (EOPNOTSUPP for classes that cannot). Shrinking discards data past the end; growing reads as zeros. */
  setSize(size: number): Promise<void>;
  /** Make every completed write durable (survives a crash of the process and of the machine where the class can promise it). */
  sync(): Promise<void>;
  /** Whether [offset, offset+length) has never been written (reads as zeros). Classes that cannot tell return false. */
  isHole(offset: number, length: number): Promise<boolean>;
  /**
   * Make sure writes to [offset, offset+length) will find room (what a pager
   * does when it unlocks a hole, as ext2fs allocates blocks): ENOSPC or
   * EDQUOT when they would not. A range past the end has no room (ENOSPC).
   */
  allocate(offset: number, length: number): Promise<void>;
  /** EINVAL for backend flags. */
  setFlags(flags: number): void;
  /** EINVAL for backend flags; HARD_READONLY keeps READONLY set. */
  clearFlags(flags: number): void;
  close(): Promise<void>;
  /** I/O counters since the store was opened. */
  stats(): StoreStats;
}

/** How to open a store; every field is optional and checked in typed-name.ts. */
export interface OpenOptions {
  /** STORE_READONLY and/or STORE_HARD_READONLY (which implies READONLY). Composites pass them to their children. */
  flags?: number;
  /** Create what is missing (a file, a database, a SQLite space). Applies to the outermost class only. */
  create?: boolean;
  /** Size in bytes of what `create` makes. Applies to the outermost class only. */
  size?: number;
  /** Block size where the class lets the opener choose (file, memory, zero, new SQLite spaces). */
  blockSize?: number;
}

/** A failed store operation: `code` is the errno name ('EIO'), `errno` its Linux number. */
export class StoreError extends Error {
  readonly errno: number;

  constructor(
    readonly code: ErrnoCode,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ? `${code}: ${detail}` : code, options);
    this.name = 'StoreError';
    this.errno = errnoNumber(code);
  }
}

/**
 * Why stored data cannot be trusted: its checksum does not match
 * ('checksum'), a checksum says it exists but the store lacks it
 * ('missing'), fsck marked it damaged ('marked'), or the backend itself
 * reports it corrupt ('corrupt', SQLITE_CORRUPT).
 */
export type DamageKind = 'checksum' | 'missing' | 'marked' | 'corrupt';

/**
 * A read that would give wrong data: EIO, never the bytes. `offset` is the
 * store address of the first bad block; a reader that wants the good blocks
 * around it reads them on their own.
 */
export class DataError extends StoreError {
  constructor(
    readonly kind: DamageKind,
    readonly offset: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('EIO', detail, options);
    this.name = 'DataError';
  }
}

export function isDataError(err: unknown): err is DataError {
  return err instanceof DataError;
}

/**
 * Any error as a StoreError: Node's system errors keep their code, SQLite
 * and everything else become EIO (with the original as the cause), since
 * that is all a caller can do about them.
 */
export function toStoreError(err: unknown, context?: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  let message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && message.startsWith(`${code}: `)) message = message.slice(code.length + 2);
  const detail = context ? `${context}: ${message}` : message;
  return new StoreError(typeof code === 'string' && isErrnoCode(code) ? code : 'EIO', detail, { cause: err });
}
