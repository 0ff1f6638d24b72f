/**
 * A regular file's memory object: its data store, the pager that serves it
 * to the kernel (a StorePager), and the kernel window the filesystem copies
 * through. Every byte of file data goes through that window: reads and
 * writes are memcpy on the object, truncate flushes the pages past the new
 * end first (as ext2fs does), fsync is pager sync plus store sync.
 *
 * Life: the object is mapped while someone uses it (open handles, a
 * truncate, an fsync). At the last use the window goes and the pager is
 * released; with may_cache the kernel keeps the object and its pages, and
 * a later open finds them again without a new init. When the kernel drops
 * the object (terminate) and the pager has no senders left, the pager is
 * freed and the store closed.
 */
import { MAX_OFFSET, VM_PROT_WRITE, type IpcSpace, type Kernel, type VmWindow } from '../../kernel/index.js';
import { StorePager, type PageRoom, type Pager, type PagerCoherence, type PagerRequests } from '../pager/index.js';
import type { Store, StoreStats } from '../../stores/index.js';
import type { DataStore } from './data-store.js';
import { toFsError } from './errors.js';
import type { Inode } from './inode.js';

export interface FileObjectHost {
  readonly kernel: Kernel;
  readonly requests: PagerRequests;
  /** The filesystem's own task: it holds the windows. */
  readonly task: IpcSpace;
  readonly data: DataStore;
  readonly pageSize: number;
  readonly mayCache: boolean;
  /** Other mounts share the store: each pager asks this before it answers its kernel. */
  readonly coherence?: PagerCoherence | undefined;
  /** Room on the store's disk, promised at the write fault (ENOSPC at write() time); none when read-only. */
  readonly room?: PageRoom | undefined;
  /** The object is gone (pager freed, store closed): forget it. */
  dropped(object: FileObject): void;
  /** Remove an inode's data for good (its store closed), using the reserve if the disk is full. */
  destroyInodeData(ino: number): Promise<void>;
  /** A page of the file read back damaged (its reader gets EIO): say so, with the file's path. */
  damagedData(inode: Inode, offset: number, reason: string): void;
  /** Whether the file's own store holds page `page` (a snapshot's store may read others through to its base). */
  holdsPage?(ino: number, page: number): boolean;
  /** A snapshot's object was just mapped: share its base's pages in the cache (cache-sharing.ts). */
  linkShared?(object: FileObject, window: VmWindow): Promise<void>;
}

export class FileObject {
  window: VmWindow | undefined;
  /** The pager's callbacks over the store (it promises room at the write fault, and gives it back). */
  private readonly storePager: StorePager;
  /** The pager that serves this object to the kernel; the filesystem goes through this object's verbs, not to it. */
  readonly pager: Pager;
  private users = 0;
  /** This object holds the pager's owner reference (pager_create gives it; the last user drops it). */
  private referenced = true;
  private mapping: Promise<VmWindow> | undefined;
  /** The snapshot whose object was made a delayed copy of this one (cache-sharing.ts), while it may be. */
  copyTarget: FileObject | undefined;
  private freed = false;
  private closing: Promise<void> | undefined;
  /** Remove the data when the store is closed (the inode is gone). */
  private destroyData = false;

  private constructor(
    private readonly host: FileObjectHost,
    readonly inode: Inode,
    private readonly store: Store,
  ) {
    const pageSize = host.pageSize;
    this.storePager = new StorePager(store, {
      pageSize,
      grow: true,
      extent: () => Math.ceil(inode.size / pageSize) * pageSize,
      // Another mount may have written past the size this one knows: read the store there too.
      ...(host.coherence ? {} : { dataEnd: () => inode.size }),
      // Pages first written are supplied write-locked: their unlock promises them room on the disk.
      ...(host.room ? { writeLockHoles: true, room: host.room } : {}),
      onDamaged: (offset, reason) => host.damagedData(inode, offset, reason),
      onFreed: () => this.pagerFreed(),
      ...(host.holdsPage ? { holds: (offset: number) => host.holdsPage?.(inode.ino, offset / pageSize) === true } : {}),
    });
    const gate = host.coherence?.gateFor(inode.ino);
    this.pager = host.requests.createPager(this.storePager, { mayCache: host.mayCache, label: `inode ${inode.ino}`, ...(gate ? { gate } : {}) });
    host.coherence?.attach(inode.ino, this.pager);
  }

  static async create(host: FileObjectHost, inode: Inode): Promise<FileObject> {
    return new FileObject(host, inode, await host.data.open(inode.ino));
  }

  get isFreed(): boolean {
    return this.freed;
  }

  /** One more user: maps the object if it is not mapped. A failed map leaves no use behind (the next acquire maps again). */
  async acquire(): Promise<VmWindow> {
    if (this.freed) throw new Error(`inode ${this.inode.ino}: object already freed`);
    if (this.users++ === 0 && !this.referenced) {
      this.pager.reference();
      this.referenced = true;
    }
    if (this.window) return this.window;
    this.mapping ??= this.map();
    try {
      return await this.mapping;
    } catch (err) {
      this.release();
      throw err;
    }
  }

  private async map(): Promise<VmWindow> {
    try {
      const name = this.pager.makeSendRight(this.host.task);
      let window: VmWindow;
      try {
        // A growable region: it spans the file now and grows as writes reach further.
        window = await this.host.kernel.vmMap(this.host.task, name, 0, MAX_OFFSET, { initialSize: this.inode.size });
      } finally {
        this.host.task.deallocate(name);
      }
      // A snapshot shares its base's pages in the cache; before anyone reads through the window.
      await this.host.linkShared?.(this, window).catch((err: unknown) => this.host.requests.log(`inode ${this.inode.ino}: sharing pages with its base: ${String(err)}`));
      this.window = window;
      return window;
    } finally {
      this.mapping = undefined;
    }
  }

  /** One user fewer; the last one unmaps and releases the pager (the kernel may keep the object cached). */
  release(): void {
    if (this.users <= 0) throw new Error(`inode ${this.inode.ino}: object released too often`);
    if (--this.users > 0) return;
    this.window?.deallocate();
    this.window = undefined;
    this.letGo();
  }

  get inUse(): boolean {
    return this.users > 0;
  }

  /**
   * Drop the pager's owner reference if this object holds it and has no
   * user: the pager is freed once the kernel lets go too. For an object
   * never used (made in a race and not kept), and at unmount.
   */
  letGo(): void {
    if (!this.referenced || this.users > 0) return;
    this.referenced = false;
    this.pager.release();
  }

  /**
   * Unmount: make the object uncacheable, so that the kernel returns its
   * dirty pages (none after a sync) and terminates it, then let it go.
   */
  async uncache(): Promise<void> {
    if (this.freed) return;
    if (this.pager.state === 'normal') await this.pager.changeAttributes(false, this.pager.copyStrategy, true);
    if (!this.freed) this.letGo();
  }

  /** The store's I/O counters. */
  storeStats(): StoreStats {
    return this.store.stats();
  }

  /**
   * close's flush: a write-back that failed and is still not stored is
   * written again, and its errno reported; undefined when none is held.
   */
  writeHeld(): Promise<void> | undefined {
    return this.pager.heldPages > 0 ? this.pager.writeHeld() : undefined;
  }

  /** What this object's pager waits on, or undefined when nothing. */
  describeWaits(): string | undefined {
    return this.pager.describeWaits();
  }

  /**
   * Before a write of [offset, offset + length): room for the pages it will
   * push into a snapshot's object (the snapshot's store takes them), so that
   * a full disk is this writer's ENOSPC. Undefined when nothing is pushed.
   */
  roomForPushes(offset: number, length: number): Promise<void> | undefined {
    const copy = this.copyTarget;
    const window = this.window;
    if (copy === undefined || window === undefined || copy.isFreed) return undefined;
    const pages = window.pagesToPush(offset, length);
    if (pages.length === 0) return undefined;
    return copy.storePager.claimPages(pages.map((page) => page * this.host.pageSize));
  }

  /** Cut the file to `size` bytes: pages past the new end are flushed (dropped, not written), the rest of the last page zeroed. */
  async truncate(size: number, oldSize: number): Promise<void> {
    const pageSize = this.host.pageSize;
    const end = Math.ceil(size / pageSize) * pageSize;
    const oldEnd = Math.ceil(oldSize / pageSize) * pageSize;
    // Other mounts drop their pages past the new end first (they write back what is dirty there, and it is cut below).
    const granted = await this.host.coherence?.gateFor(this.inode.ino).acquire(end / pageSize, 2 ** 40, true);
    const window = await this.acquire().catch((err: unknown) => {
      granted?.();
      throw err;
    });
    try {
      // A snapshot reading these pages through the cache reads them from its own store from now on
      // (the store pushes them there before it cuts them); a snapshot itself stops reading past its end.
      if (oldEnd > end) window.handOverToCopy(end, oldEnd - end);
      window.limitCopy(end);
      if (oldEnd > end) await this.pager.flushSome(end, oldEnd - end, true);
      this.storePager.dropClaims(end);
      if (end > size) {
        const { error } = await window.memcpy(size, Buffer.alloc(end - size), VM_PROT_WRITE);
        if (error) throw toFsError({ errno: error });
      }
      if (end < this.store.size) await this.storePager.resize(end);
    } finally {
      granted?.();
      this.release();
    }
  }

  /**
   * fsync: dirty pages to the store, then the store made durable. Also for
   * an object the kernel has let go of: its pager may hold pages whose
   * write failed, and those are written again.
   */
  async sync(): Promise<void> {
    await this.pager.sync(true);
    // Freed meanwhile (the kernel let go of an object with no page left, as a snapshot that read
    // only its base's pages): the store is synced as it closes.
    if (this.freed) return this.closing;
    await this.store.sync();
  }

  /**
   * The inode is gone: drop the kernel's pages without writing them, and
   * remove the data once the object is freed.
   */
  async discard(): Promise<void> {
    this.destroyData = true;
    // A snapshot that shares pages with this file in the cache reads them from its own store now
    // (the store pushes them all there before this file's data goes).
    if (this.copyTarget !== undefined && !this.freed) {
      const window = await this.acquire();
      window.cutDelayedCopy();
      this.copyTarget = undefined;
      this.release();
    }
    if (this.pager.state === 'normal') await this.pager.flush(true);
    this.storePager.dropClaims();
    if (this.freed && !this.closing) await this.close();
  }

  /** The pager was freed (no senders, no references): close the store. */
  private pagerFreed(): void {
    this.freed = true;
    this.host.coherence?.detach(this.inode.ino, this.pager);
    this.closing = this.close();
    this.closing.catch((err: unknown) => this.host.requests.log(`inode ${this.inode.ino}: closing its store: ${String(err)}`));
  }

  /** Wait until the store is closed (after the pager was freed). */
  async closed(): Promise<void> {
    await this.closing;
  }

  private async close(): Promise<void> {
    // No page of this object is written any more: what it was promised goes back.
    this.storePager.dropClaims();
    try {
      // The store's last sync (what a sync that came after the object was freed would have done).
      const synced = this.destroyData ? undefined : await this.store.sync().then(() => undefined, (err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      await this.store.close();
      if (synced !== undefined) throw synced;
      if (this.destroyData) await this.host.destroyInodeData(this.inode.ino);
    } finally {
      this.host.dropped(this);
    }
  }
}
