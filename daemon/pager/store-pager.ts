/**
 * Pager callbacks over a store (what storeio's pager does): page data is
 * the store's bytes at the same offsets. Holes can be supplied write-locked
 * so that the first write to one goes through unlockPage, which asks the
 * store for room (store.allocate: ENOSPC, EDQUOT), as ext2fs allocates
 * blocks when a hole is first written.
 */
import { isDataError, type Store } from '../../stores/index.js';
import type { PagerCallbacks, PageRead } from './callbacks.js';
import { PagerError } from './errors.js';

export interface StorePagerOptions {
  /** The kernel's page size (a multiple of the store's block size). Default 4096. */
  pageSize?: number;
  /** Supply holes write-locked, so that their first write allocates through unlockPage. Default false. */
  writeLockHoles?: boolean;
  /** The object's size for whole-object sync, flush and return. Default: the store's size. */
  extent?: () => number;
  /** Called when the kernel drops a page (with notifyOnEvict). */
  onEvict?: (offset: number) => void;
  /** Grow the store when pages past its end are written (a raw file that grows with the data). Default false. */
  grow?: boolean;
  /** Bytes past which the object holds no data (a file's size): pages there read as zeros without a store read. */
  dataEnd?: () => number;
}

export class StorePager implements PagerCallbacks {
  readonly pageSize: number;
  private readonly writeLockHoles: boolean;

  constructor(
    readonly store: Store,
    private readonly options: StorePagerOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 4096;
    this.writeLockHoles = options.writeLockHoles ?? false;
    if (this.pageSize % store.blockSize !== 0)
      throw new RangeError(`page size ${this.pageSize} is not a multiple of ${store.name}'s block size ${store.blockSize}`);
  }

  async readPage(offset: number, into: Buffer): Promise<PageRead | void> {
    const store = this.store;
    const end = Math.min(store.size, this.options.dataEnd?.() ?? Infinity);
    const inside = Math.max(0, Math.min(into.length, Math.ceil((end - offset) / this.pageSize) * this.pageSize));
    // Nothing stored here at all: let the kernel zero-fill (no read, no data sent).
    if (inside === 0 && !this.writeLockHoles) return { zeros: true };
    const n = inside > 0 ? await this.readStore(offset, into.subarray(0, inside)) : 0;
    if (n < into.length) into.fill(0, n);
    if (!this.writeLockHoles) return inside < into.length ? { dataPages: inside / this.pageSize } : undefined;
    // Only pages that read as zeros can be holes: ask the store about those alone.
    const locks: boolean[] = [];
    for (let at = 0; at < into.length; at += this.pageSize) {
      const page = offset + at;
      locks.push(isZero(into.subarray(at, at + this.pageSize)) && (page >= store.size || (await store.isHole(page, Math.min(this.pageSize, store.size - page)))));
    }
    return { writeLock: locks };
  }

  /** A store read; damaged data (DataError) becomes the pager's EIO, marked damaged so that it is counted as such. */
  private async readStore(offset: number, into: Buffer): Promise<number> {
    try {
      return await this.store.read(offset, into);
    } catch (err) {
      if (isDataError(err)) throw new PagerError('EIO', `damaged data at offset ${err.offset} (${err.kind}): ${err.message}`, { damaged: true, cause: err });
      throw err;
    }
  }

  async writePage(offset: number, data: Buffer): Promise<void> {
    if ((await this.writePages(offset, data)) < data.length)
      throw new PagerError('ENOSPC', `page at ${offset} is past the end of ${this.store.name}`);
  }

  /** Writes what lies inside the store; data past its end counts as written only if it is zeros (they read back anyway). */
  async writePages(offset: number, data: Buffer): Promise<number> {
    if (this.options.grow && offset + data.length > this.store.size) await this.growTo(offset + data.length);
    const inside = Math.max(0, Math.min(data.length, this.store.size - offset));
    if (inside > 0) await this.store.write(offset, data.subarray(0, inside));
    if (inside === data.length || isZero(data.subarray(inside))) return data.length;
    return inside - (inside % this.pageSize);
  }

  async unlockPage(offset: number): Promise<void> {
    const size = this.options.grow ? Infinity : this.store.size;
    if (offset >= size) throw new PagerError('ENOSPC', `page at ${offset} is past the end of ${this.store.name}`);
    if (offset < this.store.size) await this.store.allocate(offset, Math.min(this.pageSize, this.store.size - offset));
  }

  /**
   * Set the store's size (a truncate). Size changes run one after another,
   * so that a growing write-back and a truncate never undo each other.
   */
  resize(size: number): Promise<void> {
    return this.serialise(() => this.store.setSize(size));
  }

  private growTo(end: number): Promise<void> {
    return this.serialise(async () => {
      if (end > this.store.size) await this.store.setSize(end);
    });
  }

  private sizeChanges: Promise<void> = Promise.resolve();

  private serialise(change: () => Promise<void>): Promise<void> {
    const next = this.sizeChanges.then(change);
    // The chain goes on after a failure; the caller still sees it.
    this.sizeChanges = next.catch(() => undefined);
    return next;
  }

  reportExtent(): { offset: number; size: number } {
    return { offset: 0, size: this.options.extent?.() ?? this.store.size };
  }

  notifyEvict(offset: number): void {
    this.options.onEvict?.(offset);
  }
}

const ZEROS = Buffer.alloc(65536);

/** All zeros? (compared against a zero buffer: memcmp, not a byte loop) */
function isZero(data: Buffer): boolean {
  for (let at = 0; at < data.length; at += ZEROS.length) {
    const part = data.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}
