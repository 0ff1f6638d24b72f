/**
 * MachFilesystem: the product. A namespace in a SQLite catalog, file data in
 * memory objects served by pagers over stores, every byte through the
 * simulated Mach kernel, and the FUSE operations that expose it all.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IpcSystem, Kernel, type IpcSpace } from '../../kernel/index.js';
import { PagerRequests } from '../pager/index.js';
import { Catalog, ROOT_INO } from './catalog.js';
import { openDataStore, type DataStore } from './data-store.js';
import type { StoreStats } from '../../stores/index.js';
import { FsError, toFsError } from './errors.js';
import { FileObject, type FileObjectHost } from './file-object.js';
import type { FuseMountOptions, FuseOperations } from './fuse-adapter.js';
import type { Inode } from './inode.js';
import { Namespace } from './namespace.js';
import { PageTraceRecorder, type PageTraceStatus } from './page-trace.js';
import { buildOperations } from './operations.js';

export interface Handle {
  readonly inode: Inode;
  readonly flags: number;
  readonly object?: FileObject;
}

export interface FilesystemConfig {
  /** 'sqlite:PATH' (catalog and page data in one SQLite file) or 'file:DIR' (catalog DIR/catalog.db, one sparse raw file per inode under DIR/data). */
  store: string;
  /** Bytes of the simulated page cache (the frame pool). */
  cacheSize: number;
  pageSize: number;
  policy: string;
  readOnly: boolean;
  /** 'direct': FUSE direct_io, every read and write reaches our page cache (no mmap); 'kernel': Linux's page cache in front (mmap works; our cache sees only misses). */
  cacheMode: 'direct' | 'kernel';
  /** Create the store if it does not exist. */
  create: boolean;
  log?: (line: string) => void;
  /** Owner of the root directory of a new filesystem. Default: this process's uid and gid. */
  owner?: { uid: number; gid: number };
  /** How often attribute changes made by writes reach the catalog (ms). Default 1000. */
  flushIntervalMs?: number;
}

export class MachFilesystem implements FileObjectHost {
  readonly kernel: Kernel;
  readonly requests: PagerRequests;
  readonly task: IpcSpace;
  readonly pageSize: number;
  readonly mayCache = true;
  readonly namespace: Namespace;
  readonly objects = new Map<number, FileObject>();
  /** Open handles: fh → inode, open flags, and (regular files) the object the handle uses. */
  readonly handles = new Map<number, Handle>();
  readonly log: (line: string) => void;
  /** The page-access trace being recorded (machpager trace start), if any. */
  tracer: PageTraceRecorder | undefined;
  private nextHandle = 1;
  /** I/O counters of the file stores already closed. */
  private readonly closedStoreStats: StoreStats = { reads: 0, writes: 0, bytes_read: 0, bytes_written: 0, syncs: 0, errors: 0 };
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly config: FilesystemConfig,
    readonly data: DataStore,
    readonly catalog: Catalog,
  ) {
    this.log = config.log ?? ((line) => process.stderr.write(`machpager: ${line}\n`));
    this.pageSize = config.pageSize;
    const ipc = new IpcSystem();
    this.kernel = new Kernel({
      ipc,
      cacheSize: config.cacheSize,
      pageSize: config.pageSize,
      policy: config.policy,
      log: (line) => this.log(`kernel: ${line}`),
    });
    this.requests = new PagerRequests(ipc, { log: (line) => this.log(`pager: ${line}`), label: 'fs-pagers' });
    this.requests.start();
    this.task = ipc.createSpace('fs');
    this.namespace = new Namespace(catalog);
    this.flushTimer = setInterval(() => this.flushAttributes(), config.flushIntervalMs ?? 1000);
    this.flushTimer.unref();
  }

  /**
   * Open (or, with `create`, make) the filesystem in `config.store`.
   * Refuses a foreign or damaged store with an error saying so, changing nothing.
   */
  static async open(config: FilesystemConfig): Promise<MachFilesystem> {
    const data = await openDataStore(config.store, { create: config.create, pageSize: config.pageSize, readOnly: config.readOnly });
    try {
      const owner = config.owner ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      Catalog.initialise(data.catalog.db, config.create && !config.readOnly, owner, config.pageSize);
      const catalog = new Catalog(data.catalog.db);
      // SQLite keeps each file's pages as blocks of the page size it was made with.
      const made = catalog.meta('page_size');
      if (data.kind === 'sqlite' && typeof made === 'number' && made !== config.pageSize)
        throw new FsError('EINVAL', `${data.name} was made with page size ${made}: mount it with --page-size ${made}`);
      const fs = new MachFilesystem(config, data, catalog);
      await fs.recover();
      return fs;
    } catch (err) {
      data.close();
      throw err;
    }
  }

  operations(): FuseOperations {
    return buildOperations(this);
  }

  fuseOptions(): FuseMountOptions {
    return {
      bigWrites: true,
      useIno: true,
      // No hard_remove: libfuse renames a file unlinked while open to .fuse_hidden*
      // (hidden from listings here) and unlinks it at its last close. With
      // hard_remove, fstat of such a file fails: the kernel asks getattr by inode,
      // and libfuse has no path left for it.
      directIo: this.config.cacheMode === 'direct',
      // libfuse's high-level API gives each name of a hard-linked file its own kernel inode, so
      // cached attributes of one name go stale when another changes: do not cache them.
      attrTimeout: 0,
      entryTimeout: 1,
      fsname: this.data.name,
      subtype: 'machpager',
      readOnly: this.config.readOnly,
    };
  }

  // ------------------------------------------------------------------ objects

  /** The memory object of a regular file (made if needed), with one more user. Release it when done. */
  async acquireObject(inode: Inode): Promise<FileObject> {
    for (;;) {
      let object = this.objects.get(inode.ino);
      if (object?.isFreed) {
        await object.closed();
        continue;
      }
      if (!object) {
        object = await FileObject.create(this, inode);
        const raced = this.objects.get(inode.ino);
        if (raced && !raced.isFreed) {
          // Someone made one meanwhile: use theirs.
          object.pager.release();
          await object.closed();
          object = raced;
        } else {
          this.objects.set(inode.ino, object);
          inode.object = object;
        }
      }
      await object.acquire();
      return object;
    }
  }

  dropped(object: FileObject): void {
    addStoreStats(this.closedStoreStats, object.store.stats());
    if (this.objects.get(object.inode.ino) === object) this.objects.delete(object.inode.ino);
    if (object.inode.object === object) delete object.inode.object;
  }

  damagedData(inode: Inode, offset: number, reason: string): void {
    const path = this.catalog.pathOf(inode.ino) ?? '(no name)';
    this.log(`damaged data: ${path} (inode ${inode.ino}) at offset ${offset}: EIO to the reader; run machpager fsck on the store once unmounted (${reason})`);
  }

  /** A new file handle for an open inode (holding one use of `object`, if given). */
  openHandle(inode: Inode, flags: number, object?: FileObject): number {
    let fh = this.nextHandle;
    while (this.handles.has(fh)) fh = fh >= 0x7fffffff ? 1 : fh + 1;
    this.nextHandle = fh >= 0x7fffffff ? 1 : fh + 1;
    this.handles.set(fh, object ? { inode, flags, object } : { inode, flags });
    inode.opens++;
    return fh;
  }

  handle(fh: number): Handle {
    const handle = this.handles.get(fh);
    if (!handle) throw new FsError('EBADF');
    return handle;
  }

  /** Close a handle; the last close of an orphan removes it. */
  async closeHandle(fh: number): Promise<void> {
    const handle = this.handle(fh);
    this.handles.delete(fh);
    const inode = handle.inode;
    inode.opens--;
    handle.object?.release();
    if (inode.opens === 0 && inode.orphan) await this.removeData(inode, true);
  }

  /**
   * The inode has no name and no open handle left: its data goes (pages
   * dropped without writing), and an orphan's record too.
   */
  async removeData(inode: Inode, orphan: boolean): Promise<void> {
    const object = this.objects.get(inode.ino);
    if (object && !object.isFreed) await object.discard();
    else await this.data.destroy(inode.ino);
    if (orphan) this.catalog.dropOrphan(inode.ino);
    this.namespace.forget(inode);
  }

  /** Every file store's I/O counters summed, closed ones included. */
  storeStatistics(): StoreStats {
    const sum = { ...this.closedStoreStats };
    for (const object of this.objects.values()) addStoreStats(sum, object.store.stats());
    return sum;
  }

  // ------------------------------------------------------------------ durability

  /** Attribute changes made by writes go to the catalog (not yet durable: see sync). */
  flushAttributes(): void {
    if (this.closed) return;
    try {
      this.namespace.flush();
    } catch (err) {
      this.log(`writing attributes to the catalog: ${String(err)}`);
    }
  }

  /** fsync of one file: its pages to its store, its attributes to the catalog, both durable. */
  async syncInode(inode: Inode): Promise<void> {
    const object = this.objects.get(inode.ino);
    if (object && !object.isFreed && object.pager.state === 'normal') await object.pager.sync(true);
    this.namespace.flushOne(inode);
    if (object && !object.isFreed) await object.store.sync();
    this.data.syncCatalog();
  }

  /** Everything written so far, durable. */
  async sync(): Promise<void> {
    const objects = [...this.objects.values()].filter((o) => !o.isFreed);
    await Promise.all(objects.filter((o) => o.pager.state === 'normal').map((o) => o.pager.sync(true)));
    this.namespace.flush();
    for (const o of objects) if (!o.isFreed) await o.store.sync();
    this.data.syncCatalog();
  }

  // ------------------------------------------------------------------ page-access trace

  /** Start recording every page read and written into `path` (a new file). */
  async startTrace(path: string): Promise<PageTraceStatus> {
    if (this.tracer) throw new FsError('EBUSY', `a trace is being recorded already (into ${this.tracer.path})`);
    const tracer = await PageTraceRecorder.start(path, this.pageSize);
    if (this.tracer) {
      // Another start won the race while the file was being created.
      await tracer.stop();
      throw new FsError('EBUSY', 'a trace is being recorded already');
    }
    this.tracer = tracer;
    return tracer.status();
  }

  /** Stop recording; the trace file is complete when this resolves. */
  async stopTrace(): Promise<PageTraceStatus> {
    const tracer = this.tracer;
    if (!tracer) return { recording: false, requests: 0, dropped: 0, files: 0 };
    this.tracer = undefined;
    return tracer.stop();
  }

  /** What a sync or close in progress waits on, one line each (empty when nothing): said when a stop takes long. */
  describeWaits(): string[] {
    const lines = this.kernel.describeWaits();
    for (const object of this.objects.values()) {
      const line = object.pager.describeWaits();
      if (line !== undefined) lines.push(line);
    }
    return lines;
  }

  /** Sync, then let go of every object, pager and store. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopTrace().catch((err: unknown) => this.log(`finishing the page trace: ${String(err)}`));
    await this.sync();
    this.closed = true;
    clearInterval(this.flushTimer);
    for (const fh of [...this.handles.keys()]) await this.closeHandle(fh).catch((err: unknown) => this.log(String(err)));
    // Make every object uncacheable: the kernel returns dirty pages (none after sync) and terminates them.
    for (const object of [...this.objects.values()]) {
      if (!object.isFreed && object.pager.state === 'normal') await object.pager.changeAttributes(false, object.pager.copyStrategy, true);
      if (!object.isFreed && object.pager.userReferences > 0 && !object.inUse) object.pager.release();
    }
    for (const object of [...this.objects.values()]) await object.closed();
    this.namespace.flush();
    await this.kernel.shutdown();
    await this.requests.shutdown();
    this.data.syncCatalog();
    this.data.close();
  }

  // ------------------------------------------------------------------ mount-time recovery

  /**
   * What a crash left: files unlinked while open (orphans, and libfuse's
   * .fuse_hidden* names) go now; so does page data of inodes that no
   * longer exist.
   */
  private async recover(): Promise<void> {
    if (this.config.readOnly) return;
    for (const { parent, name, ino } of this.catalog.hiddenEntries()) {
      const record = this.catalog.get(ino);
      const dir = this.catalog.get(parent);
      if (!record || !dir) continue;
      record.nlink--;
      this.catalog.unlink(dir, name, record, false);
      if (record.nlink === 0) await this.data.destroy(ino);
    }
    for (const ino of this.catalog.orphans()) {
      await this.data.destroy(ino);
      this.catalog.dropOrphan(ino);
    }
    for (const ino of await this.data.inodesWithData()) {
      if (ino !== ROOT_INO && !this.catalog.get(ino)) await this.data.destroy(ino);
    }
  }

  async statfs(): Promise<{ blocks: number; bfree: number; bavail: number; files: number; ffree: number; bsize: number }> {
    const where = this.data.kind === 'sqlite' ? dirname(this.data.name.slice('sqlite:'.length)) : this.data.name.slice('file:'.length);
    const host = await statfs(where).catch((err: unknown) => {
      throw toFsError(err);
    });
    const counts = this.catalog.counts();
    return {
      bsize: host.bsize,
      blocks: host.blocks,
      bfree: host.bfree,
      bavail: host.bavail,
      files: counts.inodes + host.ffree,
      ffree: host.ffree,
    };
  }
}

function addStoreStats(into: StoreStats, from: Readonly<StoreStats>): void {
  for (const key of Object.keys(into) as (keyof StoreStats)[]) into[key] += from[key];
}
