/**
 * The generic layer every class stands on (libstore's rdwr.c and flags.c):
 * it enforces the rules once, so the backend methods below never re-check.
 *
 *   - after close: EBADF;
 *   - offsets past 2^53 (or ranges ending there): EFBIG;
 *   - negative or fractional offsets, offsets or lengths that are not whole
 *     blocks: EINVAL;
 *   - a write on a READONLY store: EROFS; a write past the end: EIO;
 *   - a read past the end is clipped (a short read, 0 at or past the end).
 *
 * Backends see only whole blocks inside [0, size) and never a closed store.
 * Every error leaves as a StoreError. close() waits for operations in flight
 * (libpager's noterm), so a backend never closes under its own I/O.
 */
import {
  MAX_STORE_SIZE,
  STORE_GENERIC_FLAGS,
  STORE_HARD_READONLY,
  STORE_READONLY,
  StoreError,
  toStoreError,
  type Store,
  type StoreStats,
} from './store.js';
import { checkStoreSize } from './size.js';

export interface StoreInit {
  className: string;
  name: string;
  blockSize: number;
  size: number;
  flags: number;
}

export abstract class BaseStore implements Store {
  readonly className: string;
  readonly blockSize: number;
  protected typedName: string;
  private currentSize: number;
  private currentFlags: number;
  private closed = false;
  private inflight = 0;
  private drained: (() => void) | undefined;
  private readonly counters: StoreStats = { reads: 0, writes: 0, bytes_read: 0, bytes_written: 0, syncs: 0, errors: 0 };

  protected constructor(init: StoreInit) {
    this.className = init.className;
    this.typedName = init.name;
    this.blockSize = init.blockSize;
    this.currentSize = checkStoreSize(init.size, init.blockSize, `${init.className} store size`);
    this.currentFlags = init.flags & STORE_HARD_READONLY ? init.flags | STORE_READONLY : init.flags;
  }

  get name(): string {
    return this.typedName;
  }

  get size(): number {
    return this.currentSize;
  }

  get flags(): number {
    return this.currentFlags;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  read(offset: number, into: Buffer): Promise<number> {
    return this.operation('read', async () => {
      this.checkRange(offset, into.length);
      if (offset >= this.currentSize || into.length === 0) return 0;
      const length = Math.min(into.length, this.currentSize - offset);
      const n = await this.backendRead(offset, length === into.length ? into : into.subarray(0, length));
      this.counters.reads++;
      this.counters.bytes_read += n;
      return n;
    });
  }

  write(offset: number, data: Buffer): Promise<number> {
    return this.operation('write', async () => {
      this.checkWritable('write');
      this.checkRange(offset, data.length);
      if (offset + data.length > this.currentSize) {
        throw new StoreError('EIO', `write of ${data.length} bytes at ${offset} is past the end (${this.currentSize}) of ${this.name}`);
      }
      const n = data.length === 0 ? 0 : await this.backendWrite(offset, data);
      this.counters.writes++;
      this.counters.bytes_written += n;
      return n;
    });
  }

  setSize(size: number): Promise<void> {
    return this.operation('setSize', async () => {
      this.checkWritable('setSize');
      checkStoreSize(size, this.blockSize);
      if (size !== this.currentSize) await this.backendSetSize(size);
      this.currentSize = size;
    });
  }

  sync(): Promise<void> {
    return this.operation('sync', async () => {
      await this.backendSync();
      this.counters.syncs++;
    });
  }

  isHole(offset: number, length: number): Promise<boolean> {
    return this.operation('isHole', async () => {
      this.checkRange(offset, length);
      // Nothing was ever written past the end.
      if (offset >= this.currentSize || length === 0) return true;
      return await this.backendIsHole(offset, Math.min(length, this.currentSize - offset));
    });
  }

  allocate(offset: number, length: number): Promise<void> {
    return this.operation('allocate', async () => {
      this.checkWritable('allocate');
      this.checkRange(offset, length);
      if (offset + length > this.currentSize) {
        throw new StoreError('ENOSPC', `no room for ${length} bytes at ${offset} past the end (${this.currentSize}) of ${this.name}`);
      }
      await this.backendAllocate(offset, length);
    });
  }

  setFlags(flags: number): void {
    this.checkOpen('setFlags');
    const backend = flags & ~STORE_GENERIC_FLAGS;
    if (backend) this.backendSetFlags(backend);
    this.currentFlags |= flags;
  }

  clearFlags(flags: number): void {
    this.checkOpen('clearFlags');
    const backend = flags & ~STORE_GENERIC_FLAGS;
    if (backend) this.backendClearFlags(backend);
    this.currentFlags &= ~flags;
    // libstore's flags.c: a store that can never be written stays read-only.
    if (this.currentFlags & STORE_HARD_READONLY) this.currentFlags |= STORE_READONLY;
  }

  async close(): Promise<void> {
    this.checkOpen('close');
    this.closed = true;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    try {
      await this.backendClose();
    } catch (err) {
      throw toStoreError(err, `close ${this.name}`);
    }
  }

  stats(): StoreStats {
    return { ...this.counters };
  }

  /** Fill `into` (whole blocks inside the store) from `offset`; a short count only where a composite meets a hole or a failing child. */
  protected abstract backendRead(offset: number, into: Buffer): Promise<number>;

  /** Write `data` (whole blocks inside the store) at `offset`. */
  protected abstract backendWrite(offset: number, data: Buffer): Promise<number>;

  /** Change the size (a whole number of blocks, different from the current one). */
  protected backendSetSize(_size: number): Promise<void> {
    return Promise.reject(new StoreError('EOPNOTSUPP', `${this.className} stores cannot change size`));
  }

  protected backendSync(): Promise<void> {
    return Promise.resolve();
  }

  /** Whether the range (whole blocks inside the store) was never written. Default: cannot tell. */
  protected backendIsHole(_offset: number, _length: number): Promise<boolean> {
    return Promise.resolve(false);
  }

  /** Room inside the store is there already unless the class knows better (quota, a full disk). */
  protected backendAllocate(_offset: number, _length: number): Promise<void> {
    return Promise.resolve();
  }

  protected backendClose(): Promise<void> {
    return Promise.resolve();
  }

  /** Backend flags change only through the class (none of ours lets them). */
  protected backendSetFlags(flags: number): void {
    throw new StoreError('EINVAL', `flags 0x${flags.toString(16)} of ${this.className} stores cannot be set`);
  }

  protected backendClearFlags(flags: number): void {
    throw new StoreError('EINVAL', `flags 0x${flags.toString(16)} of ${this.className} stores cannot be cleared`);
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new StoreError('EBADF', `${op} on closed store ${this.name}`);
  }

  /**
   * One I/O operation: EBADF once closed, counted in flight (close waits for
   * it), and any failure counted and turned into a StoreError.
   */
  private async operation<T>(op: string, body: () => Promise<T>): Promise<T> {
    this.checkOpen(op);
    this.inflight++;
    try {
      return await body();
    } catch (err) {
      throw this.failed(err);
    } finally {
      if (--this.inflight === 0 && this.drained) {
        this.drained();
        this.drained = undefined;
      }
    }
  }

  private checkWritable(op: string): void {
    if (this.currentFlags & STORE_READONLY) throw new StoreError('EROFS', `${op} on read-only store ${this.name}`);
  }

  private checkRange(offset: number, length: number): void {
    if (typeof offset !== 'number' || Number.isNaN(offset)) throw new StoreError('EINVAL', `offset ${String(offset)} is not a number`);
    if (offset > MAX_STORE_SIZE || offset + length > MAX_STORE_SIZE) {
      throw new StoreError('EFBIG', `range at ${offset} of ${length} bytes is past 2^53`);
    }
    if (!Number.isInteger(offset) || offset < 0) throw new StoreError('EINVAL', `offset ${offset} is not a byte address`);
    if (offset % this.blockSize !== 0 || length % this.blockSize !== 0) {
      throw new StoreError('EINVAL', `offset ${offset} or length ${length} is not a multiple of the block size ${this.blockSize}`);
    }
  }

  private failed(err: unknown): StoreError {
    this.counters.errors++;
    return toStoreError(err);
  }
}
