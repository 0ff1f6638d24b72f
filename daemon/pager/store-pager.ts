/**
 * Pager callbacks over a store (what storeio's pager does): page data is
 * the store's bytes at the same offsets. Holes can be supplied write-locked
 * so that the first write to one goes through unlockPage, which asks the
 * store for room (store.allocate: ENOSPC, EDQUOT), as ext2fs allocates
 * blocks when a hole is first written. With a PageRoom, unlockPage also
 * promises the page room on the store's disk (ENOSPC at write() time, not
 * at write-back), and the promise is kept until the page is written,
 * truncated away or dropped.
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
  /** Room on the store's disk, promised to each page at its unlock (use with writeLockHoles). */
  room?: PageRoom;
  /** A page read back damaged (its reader gets EIO): told once per page, from the page-by-page read again of a damaged run. */
  onDamaged?: (offset: number, reason: string) => void;
  /** The pager is being freed (pager_clear_user_data). */
  onFreed?: () => void;
  /** Whether the store holds the page at `offset` already (data_initialize then leaves it as it is: keepsPage). */
  holds?: (offset: number) => boolean;
}

/**
 * Room on the disk under a store, shared by every pager writing to it: a
 * page first written (a hole, or past the end) is promised room at its
 * unlock, and the promise is released when the page is written (it then
 * takes room on the disk) or dropped (truncated, removed).
 */
export interface PageRoom {
  /** Promise `bytes` more; throws ENOSPC when the disk has no room for them. */
  claim(bytes: number): Promise<void> | void;
  /** `bytes` promised are settled: `stored` when they were written (and now take room), else dropped. */
  release(bytes: number, stored: boolean): void;
}

export class StorePager implements PagerCallbacks {
  readonly pageSize: number;
  private readonly writeLockHoles: boolean;
  /** Offsets of the pages promised room (PageRoom) and not yet written. */
  private readonly claimed = new Set<number>();

  constructor(
    readonly store: Store,
    private readonly options: StorePagerOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 4096;
    this.writeLockHoles = options.writeLockHoles ?? false;
    if (this.pageSize % store.blockSize !== 0)
      throw new RangeError(`page size ${this.pageSize} is not a multiple of ${store.name}'s block size ${store.blockSize}`);
  }

  async readPage(offset: number, into: Buffer, writing = false): Promise<PageRead | void> {
    const store = this.store;
    const end = Math.min(store.size, this.options.dataEnd?.() ?? Infinity);
    const inside = Math.max(0, Math.min(into.length, Math.ceil((end - offset) / this.pageSize) * this.pageSize));
    // Pages past the data's end: for a read the kernel zero-fills them, and drops those only read
    // ahead, so they take no frames. A write needs them promised room first (what unlockPage does):
    // promised here, they are zero-filled writable too, with no zeros sent and no data_unlock round
    // trip; only if the room cannot be promised at once are they supplied write-locked, and the
    // unlock of each page written asks again (its ENOSPC is that write's).
    const lockPastEnd = this.writeLockHoles && writing && !(await this.promisePastEnd(offset + inside, into.length - inside));
    // Nothing stored here at all: let the kernel zero-fill (no read, no data sent).
    if (inside === 0 && !lockPastEnd) return { zeros: true };
    const n = inside > 0 ? await this.readStore(offset, into.subarray(0, inside), into.length === this.pageSize) : 0;
    if (n < into.length) into.fill(0, n);
    const dataPages = inside < into.length && !lockPastEnd ? { dataPages: inside / this.pageSize } : undefined;
    if (!this.writeLockHoles) return dataPages;
    // Only pages that read as zeros can be holes: ask the store about those alone.
    const locks: boolean[] = [];
    const supplied = dataPages ? inside : into.length;
    for (let at = 0; at < supplied; at += this.pageSize) {
      const page = offset + at;
      // Past the data's end nothing is stored: no need to ask the store.
      const zeros = isZero(into.subarray(at, at + this.pageSize));
      locks.push(zeros && (page >= end || (await store.isHole(page, Math.min(this.pageSize, store.size - page)))));
    }
    return { writeLock: locks, ...dataPages };
  }

  /**
   * A store read; damaged data (DataError) becomes the pager's EIO, marked
   * damaged so that it is counted as such. A damaged run is read again page
   * by page (data-request.ts): `onePage` reads tell onDamaged, once a page.
   */
  private async readStore(offset: number, into: Buffer, onePage: boolean): Promise<number> {
    try {
      return await this.store.read(offset, into);
    } catch (err) {
      if (!isDataError(err)) throw err;
      const damaged = new PagerError('EIO', `damaged data at offset ${err.offset} (${err.kind}): ${err.message}`, { damaged: true, cause: err });
      if (onePage) this.options.onDamaged?.(offset, damaged.message);
      throw damaged;
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
    const written = inside === data.length || isZero(data.subarray(inside)) ? data.length : inside - (inside % this.pageSize);
    this.settle(offset, offset + written, true);
    return written;
  }

  async unlockPage(offset: number): Promise<void> {
    const size = this.options.grow ? Infinity : this.store.size;
    if (offset >= size) throw new PagerError('ENOSPC', `page at ${offset} is past the end of ${this.store.name}`);
    const room = this.options.room;
    const claiming = room !== undefined && !this.claimed.has(offset);
    if (claiming) {
      await room.claim(this.pageSize);
      this.claimed.add(offset);
    }
    try {
      if (offset < this.store.size) await this.store.allocate(offset, Math.min(this.pageSize, this.store.size - offset));
    } catch (err) {
      if (claiming) this.settle(offset, offset + this.pageSize, false);
      throw err;
    }
  }

  /**
   * What unlockPage does, for the pages of [offset, offset + length) past the data's end that a
   * write faulted on, all at once: room promised, the store's blocks allocated. True when every
   * page has both; false when any could not: those pages then go the write-locked way, and the
   * unlock of each page written asks again and gives that write the errno (ENOSPC at write()).
   */
  private async promisePastEnd(offset: number, length: number): Promise<boolean> {
    if (length === 0) return true;
    if (!this.options.grow && offset + length > this.store.size) return false;
    const room = this.options.room;
    const pages: number[] = [];
    if (room !== undefined) for (let page = offset; page < offset + length; page += this.pageSize) if (!this.claimed.has(page)) pages.push(page);
    try {
      if (pages.length > 0) await room?.claim(pages.length * this.pageSize);
    } catch {
      return false; // the unlocks claim page by page, and the first page refused is its writer's error
    }
    for (const page of pages) this.claimed.add(page);
    const inStore = Math.max(0, Math.min(length, this.store.size - offset));
    try {
      if (inStore > 0) await this.store.allocate(offset, inStore);
    } catch {
      for (const page of pages) this.settle(page, page + this.pageSize, false);
      return false; // as above: each page's unlock allocates it again and reports its error
    }
    return true;
  }

  /**
   * Promise room to pages the kernel will push into this object (a
   * snapshot's, before its source changes them): ENOSPC here is the source
   * writer's. Settled when the page is written or kept (keepsPage).
   */
  async claimPages(offsets: readonly number[]): Promise<void> {
    const room = this.options.room;
    if (room === undefined) return;
    const fresh = offsets.filter((offset) => !this.claimed.has(offset));
    if (fresh.length === 0) return;
    await room.claim(fresh.length * this.pageSize);
    for (const offset of fresh) this.claimed.add(offset);
  }

  /** data_initialize of a page the store holds already: it stays as it is, and a promise of room for it is kept (it takes its room). */
  keepsPage(offset: number): boolean {
    if (this.options.holds?.(offset) !== true) return false;
    this.settle(offset, offset + this.pageSize, true);
    return true;
  }

  /** Bytes promised room and not yet written. */
  get claimedBytes(): number {
    return this.claimed.size * this.pageSize;
  }

  /**
   * Pages at or past `from` will not be written (truncated away, or the
   * whole object dropped with 0): their promised room goes back.
   */
  dropClaims(from = 0): void {
    this.settle(from, Infinity, false);
  }

  /** Release the promises of the pages in [start, end). */
  private settle(start: number, end: number, stored: boolean): void {
    const room = this.options.room;
    if (room === undefined || this.claimed.size === 0) return;
    let bytes = 0;
    if ((end - start) / this.pageSize < this.claimed.size) {
      for (let page = start; page < end; page += this.pageSize) if (this.claimed.delete(page)) bytes += this.pageSize;
    } else {
      for (const page of this.claimed) {
        if (page < start || page >= end) continue;
        this.claimed.delete(page);
        bytes += this.pageSize;
      }
    }
    if (bytes > 0) room.release(bytes, stored);
  }

  /**
   * Set the store's size (a truncate). Size changes run one after another,
   * so that a growing write-back and a truncate never undo each other.
   */
  resize(size: number): Promise<void> {
    this.dropClaims(Math.ceil(size / this.pageSize) * this.pageSize);
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

  clearUserData(): void {
    this.options.onFreed?.();
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
