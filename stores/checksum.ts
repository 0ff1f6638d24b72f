/**
 * A store whose data carries no room for checksums (a raw file), with the
 * CRC-32 of every page it writes kept beside it in a ChecksumTable (for a
 * file: filesystem store, page_crc in the catalog database). Reads check
 * every page that has a CRC: a mismatch, a page recorded but absent or short
 * in the child (a truncated or deleted data file), or a page fsck marked
 * damaged is a DataError (EIO). Pages without a CRC (never written, or
 * written before checksums) read as the child has them: holes stay zeros.
 *
 * Why a wrapper and not the pager or the filesystem: the check belongs where
 * the bytes and their checksum meet, below every reader (the pager, fsck,
 * a bench) so none can forget it, and above the raw file, which knows
 * nothing of pages; the SQLite store checks in its own rows the same way.
 *
 * Order of writes: the data first, then its CRCs (queued, one transaction
 * with every other write of that turn of the event loop). A crash between
 * the two leaves that page reading EIO, never wrong: it was not yet synced.
 * A truncate drops the CRCs before it cuts the data, so a crash between
 * leaves old data without CRCs (trusted, and past the file's end anyway).
 */
import { BaseStore } from './base.js';
import { crc32, DAMAGED_CRC } from './crc32.js';
import { roundUp } from './size.js';
import { DataError, type Store } from './store.js';

/** Where a ChecksumStore keeps its pages' CRCs. */
export interface ChecksumTable {
  /** The CRCs recorded for pages [first, end), page → CRC (DAMAGED_CRC: marked damaged), in page order. */
  get(first: number, end: number): Map<number, number>;
  /** One past the last page with a recorded CRC (0 when none). */
  end(): number;
  /** Record the CRCs of pages first, first + 1, ... */
  put(first: number, crcs: readonly number[]): Promise<void>;
  /** Forget the CRCs of pages from `first` on. */
  dropFrom(first: number): Promise<void>;
  /** Make the recorded CRCs durable. */
  sync(): Promise<void>;
  close(): void;
}

export class ChecksumStore extends BaseStore {
  /** Size changes of the child, one after another (a growing write and a truncate must not undo each other). */
  private sizeChanges: Promise<void> = Promise.resolve();

  constructor(
    /** Owned: closed with this store. */
    readonly child: Store,
    /** Owned: closed with this store. */
    readonly table: ChecksumTable,
    /** The checksummed unit: the pager's page size (a multiple of the child's block size). */
    pageSize: number,
  ) {
    // Pages with a CRC past the child's end are still this store's: reading them must fail, not read as nothing.
    const size = roundUp(Math.max(child.size, table.end() * pageSize), pageSize);
    super({ className: 'checksum', name: child.name, blockSize: pageSize, size, flags: child.flags });
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    const pageSize = this.blockSize;
    const inChild = Math.max(0, Math.min(into.length, this.child.size - offset));
    const n = inChild > 0 ? await this.child.read(offset, into.subarray(0, inChild)) : 0;
    if (n < into.length) into.fill(0, n);
    const first = offset / pageSize;
    for (const [page, crc] of this.table.get(first, first + into.length / pageSize)) {
      const at = (page - first) * pageSize;
      const where = `${this.name}: page at ${page * pageSize}`;
      if (crc === DAMAGED_CRC) throw new DataError('marked', page * pageSize, `${where}: marked damaged by fsck`);
      if (at + pageSize > n) throw new DataError('missing', page * pageSize, `${where}: recorded but missing from the data file`);
      if (crc32(into.subarray(at, at + pageSize)) !== crc) throw new DataError('checksum', page * pageSize, `${where}: checksum mismatch`);
    }
    return into.length;
  }

  protected override async backendWrite(offset: number, data: Buffer): Promise<number> {
    const pageSize = this.blockSize;
    const crcs: number[] = [];
    for (let at = 0; at < data.length; at += pageSize) crcs.push(crc32(data.subarray(at, at + pageSize)));
    if (offset + data.length > this.child.size) await this.resizeChild(offset + data.length, true);
    await this.child.write(offset, data);
    await this.table.put(offset / pageSize, crcs);
    return data.length;
  }

  protected override async backendSetSize(size: number): Promise<void> {
    if (size < this.size) await this.table.dropFrom(size / this.blockSize);
    await this.resizeChild(size, false);
  }

  private resizeChild(size: number, growOnly: boolean): Promise<void> {
    const next = this.sizeChanges.then(async () => {
      if (growOnly ? size > this.child.size : size !== this.child.size) await this.child.setSize(roundUp(size, this.child.blockSize));
    });
    // The chain goes on after a failure; the caller still sees it.
    this.sizeChanges = next.catch(() => undefined);
    return next;
  }

  protected override async backendSync(): Promise<void> {
    await this.child.sync();
    await this.table.sync();
  }

  protected override async backendIsHole(offset: number, length: number): Promise<boolean> {
    const first = offset / this.blockSize;
    if (this.table.get(first, first + length / this.blockSize).size > 0) return false;
    const inChild = Math.max(0, Math.min(length, this.child.size - offset));
    return inChild === 0 || (await this.child.isHole(offset, inChild));
  }

  protected override async backendAllocate(offset: number, length: number): Promise<void> {
    // Past the child's end there is nothing to allocate yet: the write grows it (as an unwrapped store).
    const inChild = Math.max(0, Math.min(length, this.child.size - offset));
    if (inChild > 0) await this.child.allocate(offset, inChild);
  }

  protected override async backendClose(): Promise<void> {
    try {
      await this.child.close();
    } finally {
      this.table.close();
    }
  }
}
