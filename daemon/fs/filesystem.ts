/**
 * MachFilesystem: the product. A namespace in a SQLite catalog, file data in
 * memory objects served by pagers over stores, every byte through the
 * simulated Mach kernel, and the FUSE operations that expose it all.
 */
import { IpcSystem, Kernel, type IpcSpace, type VmWindow } from '../../kernel/index.js';
import { SuspendedRequests } from './suspended-requests.js';
import { PagerRequests, type PagerCoherence } from '../pager/index.js';
import { CoherentMount, joinMounts } from './coherent-mount.js';
import { Catalog, ROOT_INO } from './catalog.js';
import { openDataStore, type DataStore } from './data-store.js';
import type { FaultInjector, StoreStats } from '../../stores/index.js';
import { injectFaults, injectorFor, logFaults } from './fault-injection.js';
import { codeOf, FsError, toFsError } from './errors.js';
import { FileObject, type FileObjectHost } from './file-object.js';
import type { FuseOperations } from './fuse/contract.js';
import type { FuseMountOptions } from './fuse/options.js';
import type { Inode } from './inode.js';
import { Namespace } from './namespace.js';
import { PageTraceRecorder, type PageTraceStatus } from './page-trace.js';
import { LiveMrcFeed } from './live-mrc-feed.js';
import { buildOperations } from './operations.js';
import { trimPastSizes, type TrimCounts } from './recovery-trim.js';
import type { Reserve } from './reserve.js';
import type { SpaceAccount } from './space.js';
import { openSpace, storeStatfs, type StatfsFigures } from './store-space.js';
import { SharingDataStore } from './shadow-store.js';
import { linkShared } from './cache-sharing.js';
import { SharedPages } from './shared-pages.js';
import { CrashTest } from './crash/crash-test.js';
import { Removals } from './removals.js';
import { syncError } from './sync-error.js';

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
  /** 'direct': FUSE direct_io, every read and write reaches our page cache (shared mmap on Linux 6.6+: mapped pages fault in and are written back through it); 'kernel': Linux's page cache in front (mmap works; our cache sees only misses). */
  cacheMode: 'direct' | 'kernel';
  /** Create the store if it does not exist. */
  create: boolean;
  log?: (line: string) => void;
  /** Owner of the root directory of a new filesystem. Default: this process's uid and gid. */
  owner?: { uid: number; gid: number };
  /** How often attribute changes made by writes reach the catalog (ms). Default 1000. */
  flushIntervalMs?: number;
  /** Bytes of page data held after failed writes past which new writes fail with the store's errno. Default 64 MiB. */
  maxHeldBytes?: number;
  /** Fault injection SPEC for every file's data store (fault-injection.ts); undefined: none, and none can be added later. */
  inject?: string;
  /** How long a fault waits for a pager's answer before it fails with EIO (ms); 0: for ever. Default: the kernel's. */
  pagerTimeoutMs?: number;
  /** Share the store with other mounts, kept coherent by the pagers (postgres: only; docs/coherence.md). */
  coherent?: boolean;
  /** Keep the live miss-ratio curve (live-mrc-feed.ts; -o live_mrc=off: false). Default true. */
  liveMrc?: boolean;
}

/** How often attributes and catalog rows reach PostgreSQL when other mounts share the store (ms). */
const COHERENT_FLUSH_MS = 100;

/**
 * The catalog's clean mark (ext2's s_state, the Hurd's
 * diskfs_set_hypermetadata(wait, clean)): 0 while a daemon serves the
 * store, 1 once it stopped cleanly. A store without it (made before it
 * existed, or never mounted) counts as unclean.
 */
const CLEAN_KEY = 'clean';

/** A store that keeps refusing writes must not fill the daemon's memory: past this, writes get its errno. */
const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;

/** Below this much room on the disk, a change that frees space commits at once (freeing()). */
export const LOW_ROOM_BYTES = 64 * 1024 * 1024;

export class MachFilesystem implements FileObjectHost {
  readonly kernel: Kernel;
  readonly requests: PagerRequests;
  readonly task: IpcSpace;
  readonly pageSize: number;
  readonly mayCache = true;
  private readonly maxHeldPages: number;
  readonly namespace: Namespace;
  readonly objects = new Map<number, FileObject>();
  /** Open handles: fh → inode, open flags, and (regular files) the object the handle uses. */
  readonly handles = new Map<number, Handle>();
  readonly log: (line: string) => void;
  /** The FUSE requests a fault holds now, and their waits so far (machpager requests, stats). */
  readonly suspended = new SuspendedRequests();
  /** The page-access trace being recorded (machpager trace start), if any. */
  tracer: PageTraceRecorder | undefined;
  /** The live miss-ratio curve of the pages reads and writes touch (machpager stats --mrc). */
  readonly liveMrc: LiveMrcFeed;
  /** The rules every file's store obeys, when the mount injects faults (config.inject). */
  faults: FaultInjector | undefined;
  /** Crash testing (machpager crash; none when read-only). */
  crash: CrashTest | undefined;
  /** What mount recovery trimmed past files' sizes (all 0 after a clean stop: it did not look). */
  readonly recovered: TrimCounts = { files: 0, bytes: 0, failed: 0 };
  /** The other mounts of the store and the coherence with them (config.coherent). */
  coherent: CoherentMount | undefined;
  /** Data of files with no name left, being removed after their unlink's reply (removals.ts). */
  readonly removals: Removals;
  private nextHandle = 1;
  /** I/O counters of the file stores already closed. */
  private readonly closedStoreStats: StoreStats = { reads: 0, writes: 0, bytes_read: 0, bytes_written: 0, syncs: 0, errors: 0 };
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly config: FilesystemConfig,
    readonly data: DataStore,
    readonly catalog: Catalog,
    /** The reserve and the space account of the store's disk (none when read-only). */
    readonly space: { reserve: Reserve; account: SpaceAccount } | undefined,
    /** Which files read pages through to which (snapshots). */
    readonly sharedPages: SharedPages,
  ) {
    this.log = config.log ?? ((line) => process.stderr.write(`machpager: ${line}\n`));
    this.pageSize = config.pageSize;
    const cachePages = Math.max(1, Math.floor(config.cacheSize / config.pageSize));
    this.liveMrc = new LiveMrcFeed({ pageSize: config.pageSize, cachePages, enabled: config.liveMrc !== false, log: (line) => this.log(line) });
    const ipc = new IpcSystem();
    this.kernel = new Kernel({
      ipc,
      cacheSize: config.cacheSize,
      pageSize: config.pageSize,
      policy: config.policy,
      pagerTimeoutMs: config.pagerTimeoutMs,
      log: (line) => this.log(`kernel: ${line}`),
    });
    this.maxHeldPages = Math.max(1, Math.floor((config.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES) / config.pageSize));
    this.requests = new PagerRequests(ipc, {
      log: (line) => this.log(`pager: ${line}`),
      label: 'fs-pagers',
    });
    this.requests.start();
    this.task = ipc.createSpace('fs');
    this.namespace = new Namespace(catalog);
    this.removals = new Removals(this.log);
    this.flushTimer = setInterval(() => this.flushAttributes(), config.flushIntervalMs ?? (config.coherent === true ? COHERENT_FLUSH_MS : 1000));
    this.flushTimer.unref();
  }

  /**
   * Open (or, with `create`, make) the filesystem in `config.store`.
   * Refuses a foreign or damaged store with an error saying so, changing nothing.
   */
  static async open(config: FilesystemConfig): Promise<MachFilesystem> {
    // A bad SPEC fails before anything is opened.
    const faults = config.inject === undefined ? undefined : injectorFor(config.inject);
    const raw = await openDataStore(config.store, {
      create: config.create,
      pageSize: config.pageSize,
      readOnly: config.readOnly,
      ...(config.coherent === true ? { catalogFlushMs: COHERENT_FLUSH_MS } : {}),
    });
    let coherent: CoherentMount | undefined;
    try {
      if (config.coherent === true) coherent = await joinMounts(raw, config);
      const owner = config.owner ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      Catalog.initialise(raw.catalog.db, config.create && !config.readOnly, owner, config.pageSize);
      // Files made by `snapshot` read the pages they share through their links.
      const opened = new SharingDataStore(raw, new SharedPages(raw.catalog, raw.kind, config.pageSize));
      // A rule's glob asks the catalog for a file's path when the file's store is used, long after this.
      const named: { catalog?: Catalog } = {};
      // Crash testing sees what reaches the store: inside the fault injection.
      const crash = config.readOnly ? undefined : new CrashTest(raw.catalog.db, config.pageSize);
      const journalled = crash ? crash.journal.wrap(opened) : opened;
      const data = faults ? injectFaults(journalled, faults, (ino) => named.catalog?.pathOf(ino)) : journalled;
      const catalog = new Catalog(data.catalog.db, data.catalog.group);
      named.catalog = catalog;
      // SQLite and PostgreSQL keep each file's pages as blocks of the page size it was made with.
      const made = catalog.meta('page_size');
      if (data.kind !== 'file' && typeof made === 'number' && made !== config.pageSize)
        throw new FsError('EINVAL', `${data.name} was made with page size ${made}: mount it with --page-size ${made}`);
      // The disk under a postgres: store is the server's: no reserve or account here (its ENOSPC comes with the write).
      const space = config.readOnly || data.kind === 'postgres' ? undefined : await openSpace(data, config.cacheSize, config.log);
      const fs = new MachFilesystem(config, data, catalog, space, opened.pages);
      fs.faults = faults;
      if (faults) logFaults(faults, fs.log);
      fs.crash = crash;
      crash?.attach(fs);
      fs.coherent = coherent;
      coherent?.attach(fs);
      await coherent?.settled();
      await fs.recover();
      // Removals run after their replies: a new file never takes the number of one still going.
      catalog.inodeFloor = Math.max(catalog.inodeFloor, catalog.maxIno() + 1);
      if (space) space.account.settling = () => fs.removals.settled();
      return fs;
    } catch (err) {
      await coherent?.leave().catch((leaving: unknown) => (config.log ?? ((line: string) => process.stderr.write(`machpager: ${line}\n`)))(`leaving the mounts of ${raw.name}: ${String(leaving)}`));
      // The open failed: its error is the answer; a close that fails too is said, not thrown over it.
      await raw.close().catch((closing: unknown) => (config.log ?? ((line: string) => process.stderr.write(`machpager: ${line}\n`)))(`closing ${raw.name}: ${String(closing)}`));
      throw err;
    }
  }

  operations(): FuseOperations {
    const ops = buildOperations(this);
    return this.crash ? this.crash.gate.wrap(ops) : ops;
  }

  /** FileObjectHost: the gate each pager asks before it answers its kernel, when other mounts share the store. */
  get coherence(): PagerCoherence | undefined {
    return this.coherent?.coherence;
  }

  /** Where file pages are promised room on the disk at their first write (FileObjectHost). */
  get room(): SpaceAccount | undefined {
    return this.space?.account;
  }

  // ------------------------------------------------------------------ changes on a full disk

  /**
   * A catalog change made after changing inodes in memory: if it fails, the
   * inodes get their attributes back (`undo`) and the error goes on as an
   * FsError (SQLITE_FULL is ENOSPC). A change that frees space (`freeing`)
   * is tried once more after releasing the reserve when the disk is full.
   */
  commit<T>(undo: () => void, change: () => T, freeing = false): T {
    try {
      return freeing ? this.freeingSync(change) : change();
    } catch (err) {
      undo();
      throw toFsError(err);
    }
  }

  /** Run a change that frees space, with the reserve released and the change tried again if the disk is full. */
  freeingSync<T>(change: () => T): T {
    return this.space ? this.space.reserve.freeingSync(change) : change();
  }

  /**
   * freeingSync for asynchronous changes (a file's data removed or truncated). The store makes
   * them in the catalog's commit group, committed later with the rest; on a disk near full
   * (less room than LOW_ROOM_BYTES) they are committed here and now, where ENOSPC releases the
   * reserve and tries again: a full store can always be emptied.
   */
  freeing<T>(change: () => Promise<T>): Promise<T> {
    const space = this.space;
    if (!space) return change();
    return space.reserve.freeing(async () => {
      const result = await change();
      if (space.account.room < LOW_ROOM_BYTES) this.catalog.commitNow();
      return result;
    });
  }

  /** FileObjectHost: an inode's data goes for good (its store is closed). */
  destroyInodeData(ino: number): Promise<void> {
    return this.freeing(() => this.data.destroy(ino));
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
      // Other mounts change names: the kernel must ask each time (negative answers too).
      entryTimeout: this.coherent ? 0 : 1,
      ...(this.coherent ? { negativeTimeout: 0 } : {}),
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
          object.letGo();
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

  /** FileObjectHost: whether the file's own store holds page `page` (shared-pages.ts). */
  holdsPage(ino: number, page: number): boolean {
    return this.sharedPages.owns(ino, page);
  }

  /** FileObjectHost: a snapshot shares its base's pages in the cache (cache-sharing.ts). */
  linkShared(object: FileObject, window: VmWindow): Promise<void> {
    return linkShared(this, object, window);
  }

  dropped(object: FileObject): void {
    addStoreStats(this.closedStoreStats, object.storeStats());
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

  /** removeData after the reply of the unlink or rename that took the last name (removals.ts); a coherent mount's before it. */
  removeLater(inode: Inode): Promise<void> | undefined {
    return this.coherent ? this.removeData(inode, false) : this.removals.add(() => this.removeData(inode, false));
  }

  /**
   * The inode has no name and no open handle left: its data goes (pages
   * dropped without writing), and an orphan's record too.
   */
  async removeData(inode: Inode, orphan: boolean): Promise<void> {
    const object = this.objects.get(inode.ino);
    try {
      if (object && !object.isFreed) await object.discard();
      else await this.destroyInodeData(inode.ino);
    } catch (err) {
      // The name is gone for good already: the data of an inode that no longer
      // exists is removed by the next mount's recovery (recover()).
      this.log(`removing the data of inode ${inode.ino}: ${String(err)}; the next mount removes it`);
    }
    if (orphan) this.freeingSync(() => this.catalog.dropOrphan(inode.ino));
    this.namespace.forget(inode);
  }

  /** Every file store's I/O counters summed, closed ones included. */
  storeStatistics(): StoreStats {
    const sum = { ...this.closedStoreStats };
    for (const object of this.objects.values()) addStoreStats(sum, object.storeStats());
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

  /**
   * fsync of one file: its pages to its store, its attributes to the
   * catalog, both durable. Rejects with the store's errno while any of its
   * pages is not stored (the attributes are made durable all the same).
   */
  async syncInode(inode: Inode): Promise<void> {
    const object = this.objects.get(inode.ino);
    // The attributes go into the commit group first: the store's own sync (the same connection for
    // sqlite:, the page CRCs' for file:) then makes them durable with the pages, and the catalog's
    // sync below finds nothing more to do: one fdatasync per fsync, not two.
    this.namespace.flushOne(inode);
    const synced = object && !object.isFreed ? await Promise.allSettled([object.sync()]) : [];
    this.namespace.flushOne(inode);
    await this.data.syncCatalog();
    for (const r of synced) if (r.status === 'rejected') throw syncError(r.reason);
    this.crash?.fileDurable(inode.ino);
  }

  /**
   * close's flush: a write-back of this file that failed and is still not
   * stored is reported (and tried again), as Linux reports a write-back
   * error at close. Nothing to wait for otherwise.
   */
  flushPending(inode: Inode): Promise<void> | undefined {
    const object = this.objects.get(inode.ino);
    return object && !object.isFreed ? object.writeHeld() : undefined;
  }

  /**
   * Everything written so far, durable. Every file is synced even when one
   * fails, and the catalog too; then the first failure is the answer.
   */
  async sync(): Promise<void> {
    // The power is off (a crash point fired): nothing can be written, and what was durable is restored.
    if (this.crash?.isDown) return;
    await this.removals.settled();
    const objects = [...this.objects.values()].filter((o) => !o.isFreed);
    const results = await Promise.allSettled(objects.map((o) => o.sync()));
    this.namespace.flush();
    await this.data.syncCatalog();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw syncError(failed.reason);
    this.crash?.allDurable();
  }

  // ------------------------------------------------------------------ page-access trace

  /** Start recording every page read and written into `path` (a new file). */
  async startTrace(path: string): Promise<PageTraceStatus> {
    if (this.tracer) throw new FsError('EBUSY', `a trace is being recorded already (into ${this.tracer.path})`);
    const tracer = await PageTraceRecorder.start(path, this.pageSize, (ino) => this.catalog.pathOf(ino));
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

  /** Pages whose write failed, held by their pagers until the store takes them. */
  heldPages(): number {
    return this.requests.heldPages;
  }

  /**
   * The error for a new write while the store refuses so much that the
   * pages held for it reach the bound: its own errno (ENOSPC stays ENOSPC).
   * A number compare on the write path; undefined when writes may go on.
   */
  writeRefused(): FsError | undefined {
    if (this.requests.heldPages < this.maxHeldPages) return undefined;
    return new FsError(codeOf(this.requests.heldErrno) ?? 'EIO', `${this.requests.heldPages} page(s) held after failed writes; the store refuses more`);
  }

  /** What a sync or close in progress waits on, one line each (empty when nothing): said when a stop takes long. */
  describeWaits(): string[] {
    const lines = this.kernel.describeWaits();
    for (const object of this.objects.values()) {
      const line = object.describeWaits();
      if (line !== undefined) lines.push(line);
    }
    return lines;
  }

  /** Sync, then let go of every object, pager and store. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopTrace().catch((err: unknown) => this.log(`finishing the page trace: ${String(err)}`));
    await this.crash?.settled();
    await this.sync();
    this.closed = true;
    clearInterval(this.flushTimer);
    for (const fh of [...this.handles.keys()]) await this.closeHandle(fh).catch((err: unknown) => this.log(String(err)));
    // Make every object uncacheable: the kernel returns dirty pages (none after sync) and terminates them.
    for (const object of [...this.objects.values()]) await object.uncache();
    for (const object of [...this.objects.values()]) await object.closed();
    this.namespace.flush();
    await this.kernel.shutdown();
    await this.requests.shutdown();
    await this.liveMrc.close();
    // The last mount to go marks the store clean; others still serve it.
    if (!this.coherent || this.coherent.peers.live.size === 0) this.markClean();
    try {
      await this.data.syncCatalog();
    } finally {
      try {
        await this.data.close();
      } finally {
        await this.coherent?.leave();
      }
    }
  }

  /** Everything is stored: the next mount need not look for what a crash leaves (unless recovery left some of it). */
  private markClean(): void {
    if (this.config.readOnly || this.recovered.failed > 0) return;
    try {
      this.freeingSync(() => this.catalog.setMeta(CLEAN_KEY, 1));
    } catch (err) {
      this.log(`marking the store clean: ${String(err)}; the next mount checks it as after a crash`);
    }
  }

  // ------------------------------------------------------------------ mount-time recovery

  /**
   * What a crash left: files unlinked while open (orphans, and libfuse's
   * .fuse_hidden* names) go now; so does page data of inodes that no
   * longer exist. After an unclean stop, also data past files' sizes
   * (recovery-trim.ts). The store is marked unclean, durably, before
   * anything else: a crash from now on leaves it so. Run again after a
   * simulated power loss (crash/power-loss.ts).
   */
  async recover(): Promise<void> {
    if (this.config.readOnly) return;
    // Other mounts serve the store: what looks left over may be theirs, in flight (coherent-mount.ts).
    if (this.coherent?.othersAtJoin === true) return this.coherent.recoverOwnClass(this);
    const clean = this.catalog.meta(CLEAN_KEY) === 1;
    this.freeingSync(() => this.catalog.setMeta(CLEAN_KEY, 0));
    await this.data.syncCatalog();
    for (const { parent, name, ino } of this.catalog.hiddenEntries()) {
      const record = this.catalog.get(ino);
      const dir = this.catalog.get(parent);
      if (!record || !dir) continue;
      record.nlink--;
      this.freeingSync(() => this.catalog.unlink(dir, name, record, false));
      if (record.nlink === 0) await this.recoverData(ino);
    }
    for (const ino of this.catalog.orphans()) {
      if (await this.recoverData(ino)) this.freeingSync(() => this.catalog.dropOrphan(ino));
    }
    for (const ino of await this.data.inodesWithData()) {
      if (ino !== ROOT_INO && !this.catalog.get(ino)) await this.recoverData(ino);
    }
    if (clean) return;
    Object.assign(
      this.recovered,
      await trimPastSizes(this.data, this.catalog.fileSizes(), this.pageSize, {
        freeing: (change) => this.freeing(change),
        log: this.log,
        pathOf: (ino) => this.catalog.pathOf(ino) ?? `(inode ${ino}, no name)`,
      }),
    );
  }

  /** Remove the data of an inode that is gone; a failure is said and left for the next mount (a full disk must still mount). */
  private async recoverData(ino: number): Promise<boolean> {
    try {
      await this.destroyInodeData(ino);
      return true;
    } catch (err) {
      this.log(`removing the data of inode ${ino}, which no longer exists: ${String(err)}`);
      return false;
    }
  }

  /** statfs(2) of the store's disk, or of a server's store (store-space.ts). */
  async statfs(): Promise<StatfsFigures> {
    await this.removals.settled(); // df right after rm shows the room
    return storeStatfs(this.data, this.pageSize, this.catalog.counts().inodes, this.space?.account);
  }
}

function addStoreStats(into: StoreStats, from: Readonly<StoreStats>): void {
  for (const key of Object.keys(into) as (keyof StoreStats)[]) into[key] += from[key];
}
