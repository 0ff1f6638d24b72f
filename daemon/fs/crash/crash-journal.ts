/**
 * The data side of crash testing (`machpager crash`): what each file's store
 * held at its last durable point, so that a simulated power loss can put it
 * back. Every file's data store is wrapped (wrapDataStore); while recording,
 * the first write since the durable point to a page the durable state holds
 * reads that page first (its pre-image, kept in memory), and every page
 * written is noted with a sequence number. Pages the pageout daemon wrote
 * back before any fsync are therefore undone by a crash like the ones never
 * written: write-back is not durability.
 *
 * A durable point of a file (fsync, fdatasync, sync) forgets what was noted
 * before it. Removing a file's data (its last name went) is put off while
 * the durable catalog still has the file: a crash brings it back.
 *
 * Cost, only after `machpager crash MOUNT --begin`: one store read per page
 * first overwritten between durable points, and memory for those pre-images
 * (4 KiB each) until the next fsync of the file or sync.
 */
import type { Store, StoreStats } from '../../../stores/index.js';
import type { DataStore } from '../data-store.js';

/** What one file's store had at its last durable point, and what changed since. */
export interface InodeJournal {
  /** One past the last stored page when the first change since the durable point came (bytes; DataStore.storedEnd). */
  durableSize: number;
  /** Pre-images of pages below durableSize, by page number. */
  readonly before: Map<number, Buffer>;
  /** Pages written since the durable point: page → sequence number of its latest write. */
  readonly written: Map<number, number>;
}

/** The range of a program's latest write to a file, in pages: what --torn tears. */
export interface LastWrite {
  first: number;
  end: number;
}

export class CrashJournal {
  /** Noting pre-images and writes (after --begin). */
  recording = false;
  /** The power is off: writes that still reach a store vanish, as they would on a dead disk. */
  powerOff = false;
  private seq = 0;
  readonly inodes = new Map<number, InodeJournal>();
  readonly lastWrites = new Map<number, LastWrite>();
  /** Inodes whose data removal is put off (the durable catalog still has them). */
  readonly deferred = new Set<number>();
  /** First changes since a durable point whose stored end is being looked up. */
  private readonly opening = new Map<number, Promise<InodeJournal>>();
  private data: DataStore | undefined;

  constructor(
    readonly pageSize: number,
    /** Whether the durable catalog has this inode (its data must survive a crash). */
    private readonly isDurable: (ino: number) => boolean,
  ) {}

  /** The sequence number of the latest write: a durable point reached now covers the writes up to it. */
  mark(): number {
    return this.seq;
  }

  /** The file is durable as of `mark`: forget what was noted up to it. */
  durable(ino: number, mark: number): void {
    const journal = this.inodes.get(ino);
    this.lastWrites.delete(ino);
    if (!journal) return;
    for (const [page, seq] of journal.written) {
      if (seq > mark) continue;
      journal.written.delete(page);
      journal.before.delete(page);
    }
    // Pages cut by a truncate are only in `before`: durable now too.
    for (const page of journal.before.keys()) if (!journal.written.has(page)) journal.before.delete(page);
    if (journal.written.size === 0) this.inodes.delete(ino);
  }

  /** Everything is durable as of `mark` (sync). */
  durableAll(mark: number): void {
    for (const ino of [...this.inodes.keys()]) this.durable(ino, mark);
    this.lastWrites.clear();
  }

  /** Start over: nothing noted (after --begin's sync, and after a crash). */
  reset(): void {
    this.inodes.clear();
    this.lastWrites.clear();
    this.deferred.clear();
  }

  /** A program wrote [offset, offset + length) of the file (for --torn). */
  noteWrite(ino: number, offset: number, length: number): void {
    if (!this.recording || length === 0) return;
    this.lastWrites.set(ino, { first: Math.floor(offset / this.pageSize), end: Math.ceil((offset + length) / this.pageSize) });
  }

  /** The journal of `ino`, made with its stored end now if this is the first change since the durable point. */
  private async journalOf(ino: number): Promise<InodeJournal> {
    const journal = this.inodes.get(ino);
    if (journal) return journal;
    let opening = this.opening.get(ino);
    if (!opening) {
      const data = this.data;
      opening = (async (): Promise<InodeJournal> => {
        const made: InodeJournal = { durableSize: data ? await data.storedEnd(ino) : 0, before: new Map(), written: new Map() };
        this.inodes.set(ino, made);
        return made;
      })().finally(() => this.opening.delete(ino));
      this.opening.set(ino, opening);
    }
    return opening;
  }

  /** Before a write to pages [first, end) of `ino`: keep their pre-images, note them written. */
  async beforeWrite(ino: number, store: Store, first: number, end: number): Promise<void> {
    const journal = await this.journalOf(ino);
    await this.keepPreImages(journal, store, first, end);
    const seq = ++this.seq;
    for (let page = first; page < end; page++) journal.written.set(page, seq);
  }

  /** Before the store shrinks to `size`: keep the pre-images of the pages cut. */
  async beforeShrink(ino: number, store: Store, size: number): Promise<void> {
    const journal = await this.journalOf(ino);
    const first = Math.floor(size / this.pageSize);
    await this.keepPreImages(journal, store, first, Math.ceil(journal.durableSize / this.pageSize));
  }

  private async keepPreImages(journal: InodeJournal, store: Store, first: number, end: number): Promise<void> {
    const durableEnd = Math.ceil(journal.durableSize / this.pageSize);
    for (let page = first; page < Math.min(end, durableEnd); page++) {
      if (journal.before.has(page)) continue;
      const image = Buffer.alloc(this.pageSize);
      const offset = page * this.pageSize;
      if (offset < store.size) await store.read(offset, image.subarray(0, Math.min(this.pageSize, store.size - offset)));
      // The page may have been written meanwhile (the read waited): the first image read is the durable one.
      if (journal.before.has(page)) continue;
      journal.before.set(page, image);
    }
  }

  /** `data` with every store it opens journalled, and the removal of durable files' data put off. */
  wrap(data: DataStore): DataStore {
    this.data = data;
    const open = async (ino: number, options?: { readOnly?: boolean }): Promise<Store> => {
      const store = await data.open(ino, options);
      return options?.readOnly === true ? store : new JournalledStore(store, ino, this);
    };
    const destroy = async (ino: number): Promise<void> => {
      if (this.recording && this.isDurable(ino)) {
        this.deferred.add(ino);
        return;
      }
      this.inodes.delete(ino);
      this.deferred.delete(ino);
      await data.destroy(ino);
    };
    // A caller that replaces open or destroy on the wrapper (a test stalling a store) replaces
    // the wrapper's own: assigning through to `data` would make the wrapper call itself.
    const replaced = new Map<PropertyKey, unknown>();
    return new Proxy(data, {
      set(target, key, value, receiver) {
        if (key === 'open' || key === 'destroy') {
          replaced.set(key, value);
          return true;
        }
        return Reflect.set(target, key, value, receiver);
      },
      get(target, key, receiver) {
        if (replaced.has(key)) return replaced.get(key);
        if (key === 'open') return open;
        if (key === 'destroy') return destroy;
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

/** A file's store seen through the journal: pre-images kept before writes and shrinks; nothing written while the power is off. */
class JournalledStore implements Store {
  constructor(
    private readonly inner: Store,
    private readonly ino: number,
    private readonly journal: CrashJournal,
  ) {}

  get className(): string {
    return this.inner.className;
  }

  get name(): string {
    return this.inner.name;
  }

  get blockSize(): number {
    return this.inner.blockSize;
  }

  get size(): number {
    return this.inner.size;
  }

  get flags(): number {
    return this.inner.flags;
  }

  read(offset: number, into: Buffer): Promise<number> {
    return this.inner.read(offset, into);
  }

  async write(offset: number, data: Buffer): Promise<number> {
    const j = this.journal;
    if (j.powerOff) return data.length;
    if (j.recording && data.length > 0) await j.beforeWrite(this.ino, this.inner, Math.floor(offset / j.pageSize), Math.ceil((offset + data.length) / j.pageSize));
    return this.inner.write(offset, data);
  }

  async setSize(size: number): Promise<void> {
    const j = this.journal;
    if (j.powerOff) return;
    if (j.recording && size < this.inner.size) await j.beforeShrink(this.ino, this.inner, size);
    await this.inner.setSize(size);
  }

  async sync(): Promise<void> {
    if (this.journal.powerOff) return;
    await this.inner.sync();
  }

  isHole(offset: number, length: number): Promise<boolean> {
    return this.inner.isHole(offset, length);
  }

  allocate(offset: number, length: number): Promise<void> {
    return this.inner.allocate(offset, length);
  }

  setFlags(flags: number): void {
    this.inner.setFlags(flags);
  }

  clearFlags(flags: number): void {
    this.inner.clearFlags(flags);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  stats(): StoreStats {
    return this.inner.stats();
  }
}
