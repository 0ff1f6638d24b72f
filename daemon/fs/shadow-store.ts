/**
 * The data stores of files that share pages (shared-pages.ts): each file's
 * store, seen through its links. A file with a base reads every page it does
 * not hold itself from the base (down the chain); a file that snapshots read
 * through to pushes a page into each of them that lacks it before it
 * overwrites or drops that page, and syncs them first, so that a crash never
 * leaves a snapshot reading data written after it. One store instance per
 * inode is shared by its opener and the pushes (the file: store keeps
 * checksums it has read in memory: two instances would disagree).
 */
import type { Store, StoreStats } from '../../stores/index.js';
import type { DataStore } from './data-store.js';
import type { SharedPages } from './shared-pages.js';

/** Whether a page (or a shorter tail) is all zeros. */
function isAllZero(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

interface Shared {
  store: Promise<Store>;
  refs: number;
}

/** A DataStore whose stores follow the links of `pages`; everything else is `inner`'s. */
export class SharingDataStore implements DataStore {
  private readonly open_ = new Map<number, Shared>();
  /** Writes to each inode's own store, one after another: a push never lands over the inode's own newer write. */
  private readonly writes = new Map<number, Promise<unknown>>();

  constructor(
    readonly inner: DataStore,
    readonly pages: SharedPages,
  ) {}

  get kind(): DataStore['kind'] {
    return this.inner.kind;
  }
  get name(): string {
    return this.inner.name;
  }
  get catalog(): DataStore['catalog'] {
    return this.inner.catalog;
  }
  get grows(): boolean {
    return this.inner.grows;
  }

  async open(ino: number, options: { readOnly?: boolean } = {}): Promise<Store> {
    if (options.readOnly === true) return new ShadowStore(this, ino, await this.inner.open(ino, options), undefined);
    return new ShadowStore(this, ino, await this.acquire(ino), () => this.release(ino));
  }

  /** The one writable store of `ino`, shared; release() when done. */
  acquire(ino: number): Promise<Store> {
    let shared = this.open_.get(ino);
    if (!shared) {
      shared = { store: this.inner.open(ino), refs: 0 };
      this.open_.set(ino, shared);
      shared.store.catch(() => this.open_.delete(ino));
    }
    shared.refs++;
    return shared.store;
  }

  /** Run `write` after every earlier write to `ino`'s own store has settled. */
  serialWrite<T>(ino: number, write: () => Promise<T>): Promise<T> {
    const next = (this.writes.get(ino) ?? Promise.resolve()).then(write);
    const settled = next.catch(() => undefined);
    this.writes.set(ino, settled);
    void settled.then(() => {
      if (this.writes.get(ino) === settled) this.writes.delete(ino);
    });
    return next;
  }

  async release(ino: number): Promise<void> {
    const shared = this.open_.get(ino);
    if (!shared || --shared.refs > 0) return;
    this.open_.delete(ino);
    await (await shared.store).close();
  }

  /**
   * Remove one inode's data: snapshots reading through it get every page
   * they still share first, and its own link goes.
   */
  async destroy(ino: number): Promise<void> {
    if (this.pages.childrenOf(ino).length > 0) {
      const store = await this.open(ino);
      try {
        await (store as ShadowStore).pushAll();
      } finally {
        await store.close();
      }
    }
    await this.pages.unlink(ino);
    await this.inner.destroy(ino);
  }

  inodesWithData(): Promise<number[]> {
    return this.inner.inodesWithData();
  }
  storedPages(ino: number): Promise<number[]> {
    return this.inner.storedPages(ino);
  }
  storedEnd(ino: number): Promise<number> {
    return this.inner.storedEnd(ino);
  }
  markDamaged(ino: number, offset: number): Promise<void> {
    return this.inner.markDamaged(ino, offset);
  }
  dataPath(ino: number): string {
    return this.inner.dataPath(ino);
  }

  syncCatalog(): Promise<void> {
    return this.inner.syncCatalog();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class ShadowStore implements Store {
  readonly className = 'shadow';
  private base: Promise<Store> | undefined;

  constructor(
    private readonly owner: SharingDataStore,
    readonly ino: number,
    private readonly own: Store,
    private readonly onClose: (() => Promise<void>) | undefined,
  ) {}

  get name(): string {
    return this.own.name;
  }
  get blockSize(): number {
    return this.own.blockSize;
  }
  get flags(): number {
    return this.own.flags;
  }
  get size(): number {
    const link = this.owner.pages.linkOf(this.ino);
    return link ? Math.max(this.own.size, link.end) : this.own.size;
  }

  private get pageSize(): number {
    return this.owner.pages.pageSize;
  }

  private baseStore(): Promise<Store> {
    const link = this.owner.pages.linkOf(this.ino);
    if (!link) throw new Error(`inode ${this.ino} has no base`);
    this.base ??= this.owner.open(link.base, { readOnly: true });
    return this.base;
  }

  /** Whether page `page` reads through to the base. */
  private shared(page: number): boolean {
    const link = this.owner.pages.linkOf(this.ino);
    return link !== undefined && page * this.pageSize < link.end && !this.owner.pages.owns(this.ino, page);
  }

  async read(offset: number, into: Buffer): Promise<number> {
    if (this.owner.pages.linkOf(this.ino) === undefined) return this.own.read(offset, into);
    const ps = this.pageSize;
    const length = Math.max(0, Math.min(into.length, this.size - offset));
    for (let at = 0; at < length; ) {
      const pos = offset + at;
      const n = Math.min(length - at, ps - (pos % ps));
      const part = into.subarray(at, at + n);
      const store = this.shared(Math.floor(pos / ps)) ? await this.baseStore() : this.own;
      const got = await store.read(pos, part);
      if (got < n) part.fill(0, got);
      at += n;
    }
    return length;
  }

  async write(offset: number, data: Buffer): Promise<number> {
    const ps = this.pageSize;
    const first = Math.floor(offset / ps);
    const end = Math.ceil((offset + data.length) / ps);
    await this.pushToChildren(first, end);
    // A partial page the file does not hold yet: its other bytes come from the base first.
    if (this.owner.pages.linkOf(this.ino) !== undefined && (offset % ps !== 0 || data.length % ps !== 0)) {
      const whole = Buffer.alloc((end - first) * ps);
      await this.read(first * ps, whole);
      data.copy(whole, offset - first * ps);
      return (await this.writeOwn(first, whole)) > 0 ? data.length : 0;
    }
    return this.writeOwn(first, data);
  }

  private writeOwn(first: number, data: Buffer): Promise<number> {
    return this.owner.serialWrite(this.ino, () => this.writeOwnNow(first, data));
  }

  private async writeOwnNow(first: number, data: Buffer): Promise<number> {
    const ps = this.pageSize;
    // The file's size may lie in its base: its own raw file grows to take the write.
    if (this.owner.grows && this.own.size < first * ps + data.length) await this.own.setSize(first * ps + data.length);
    const n = await this.own.write(first * ps, data);
    const link = this.owner.pages.linkOf(this.ino);
    if (link !== undefined && first * ps < link.end) {
      const zero: boolean[] = [];
      for (let at = 0; at < data.length && first * ps + at < link.end; at += ps) zero.push(isAllZero(data.subarray(at, at + ps)));
      await this.owner.pages.noteWritten(this.ino, first, zero);
    }
    return n;
  }

  /** Give each snapshot reading through pages [first, end) of this file its own copy of them. */
  private async pushToChildren(first: number, end: number): Promise<void> {
    const children = this.owner.pages.childrenOf(this.ino);
    if (children.length === 0) return;
    const ps = this.pageSize;
    const page = Buffer.alloc(ps);
    for (const child of children) {
      const stop = Math.min(end, Math.ceil(child.end / ps));
      let pushed = false;
      let store: Store | undefined;
      try {
        for (let p = first; p < stop; p++) {
          if (this.owner.pages.owns(child.ino, p)) continue;
          const target = (store ??= await this.owner.acquire(child.ino));
          // In the child's write order, looked at again there: a write of its own may have come first.
          pushed =
            (await this.owner.serialWrite(child.ino, async () => {
              if (this.owner.pages.owns(child.ino, p)) return false;
              page.fill(0);
              await this.read(p * ps, page);
              if (target.size < (p + 1) * ps && this.owner.grows) await target.setSize((p + 1) * ps);
              await target.write(p * ps, page);
              await this.owner.pages.noteWritten(child.ino, p, [isAllZero(page)]);
              return true;
            })) || pushed;
        }
        if (pushed && store) await store.sync();
      } finally {
        if (store) await this.owner.release(child.ino);
      }
    }
  }

  /** Every page every snapshot still shares with this file goes to it (before this file's data goes). */
  async pushAll(): Promise<void> {
    const ps = this.pageSize;
    for (const child of this.owner.pages.childrenOf(this.ino)) {
      await this.pushToChildren(0, Math.ceil(Math.min(child.end, this.size) / ps));
      await this.owner.pages.unlink(child.ino);
    }
  }

  async setSize(size: number): Promise<void> {
    const ps = this.pageSize;
    const from = Math.ceil(size / ps);
    const oldEnd = Math.ceil(this.size / ps);
    if (from < oldEnd) await this.pushToChildren(from, oldEnd);
    await this.own.setSize(size);
    await this.owner.pages.shrink(this.ino, size);
  }

  sync(): Promise<void> {
    return this.own.sync();
  }

  async isHole(offset: number, length: number): Promise<boolean> {
    if (this.shared(Math.floor(offset / this.pageSize))) return (await this.baseStore()).isHole(offset, length);
    return this.own.isHole(offset, length);
  }

  allocate(offset: number, length: number): Promise<void> {
    return this.own.allocate(offset, length);
  }

  setFlags(flags: number): void {
    this.own.setFlags(flags);
  }

  clearFlags(flags: number): void {
    this.own.clearFlags(flags);
  }

  async close(): Promise<void> {
    const base = this.base;
    this.base = undefined;
    if (base) await (await base).close();
    if (this.onClose) await this.onClose();
    else await this.own.close();
  }

  stats(): StoreStats {
    return this.own.stats();
  }
}
