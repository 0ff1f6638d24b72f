/**
 * copy:TYPE:NAME — a copy-on-write overlay in memory over a child opened
 * read-only (HARD_READONLY): reads come from the child until a block is
 * written here, and the child never changes. Changes live only as long as
 * the store (libstore's copy store snapshots the whole child at open; this
 * one reads lazily, with the same result as long as nobody else writes the
 * child). It can change size: a shrink hides the child past the new end for
 * good, so growing again reads zeros there.
 */
import { BaseStore } from './base.js';
import { isAllZero } from './bytes.js';
import { STORE_HARD_READONLY, STORE_READONLY, type Store } from './store.js';
import { childOptions, compositeClass } from './store-class.js';

export class CopyStore extends BaseStore {
  /** Blocks written here; null: written with zeros (shadows the child, costs nothing). */
  private readonly overlay = new Map<number, Buffer | null>();
  /** Bytes of the child still visible: its size, or less after a shrink. */
  private childEnd: number;

  constructor(
    readonly child: Store,
    flags = 0,
  ) {
    super({ className: 'copy', name: `copy:${child.name}`, blockSize: child.blockSize, size: child.size, flags });
    this.childEnd = child.size;
  }

  /** Blocks written since open. */
  get blocksWritten(): number {
    return this.overlay.size;
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    const bs = this.blockSize;
    for (let pos = 0; pos < into.length; ) {
      const end = this.fromChild(offset, pos, into.length);
      if (end === pos) {
        const block = this.overlay.get((offset + pos) / bs);
        if (block) block.copy(into, pos);
        else into.fill(0, pos, pos + bs);
        pos += bs;
        continue;
      }
      const n = await this.child.read(offset + pos, into.subarray(pos, end));
      if (n < end - pos) return pos + n;
      pos = end;
    }
    return into.length;
  }

  protected override backendWrite(offset: number, data: Buffer): Promise<number> {
    const bs = this.blockSize;
    for (let pos = 0; pos < data.length; pos += bs) {
      const chunk = data.subarray(pos, pos + bs);
      this.overlay.set((offset + pos) / bs, isAllZero(chunk) ? null : Buffer.from(chunk));
    }
    return Promise.resolve(data.length);
  }

  protected override backendSetSize(size: number): Promise<void> {
    const end = size / this.blockSize;
    for (const index of this.overlay.keys()) if (index >= end) this.overlay.delete(index);
    this.childEnd = Math.min(this.childEnd, size);
    return Promise.resolve();
  }

  protected override async backendIsHole(offset: number, length: number): Promise<boolean> {
    const bs = this.blockSize;
    for (let pos = 0; pos < length; ) {
      const end = this.fromChild(offset, pos, length);
      if (end === pos) {
        if (this.overlay.get((offset + pos) / bs)) return false;
        pos += bs;
        continue;
      }
      if (!(await this.child.isHole(offset + pos, end - pos))) return false;
      pos = end;
    }
    return true;
  }

  /** Nothing to make durable: the changes end with the store. */
  protected override backendSync(): Promise<void> {
    return Promise.resolve();
  }

  protected override backendClose(): Promise<void> {
    this.overlay.clear();
    return this.child.close();
  }

  /**
   * Where the run of blocks that come from the child, starting at `pos` of a
   * range at `offset`, ends (`pos` itself when the block at `pos` does not).
   */
  private fromChild(offset: number, pos: number, length: number): number {
    const bs = this.blockSize;
    let end = pos;
    while (end < length && offset + end < this.childEnd && !this.overlay.has((offset + end) / bs)) end += bs;
    return end;
  }
}

export const copyClass = compositeClass({
  name: 'copy',
  syntax: 'copy:TYPE:NAME',
  summary: 'copy-on-write overlay in memory; the child is opened read-only and never changed',
  async open(rest, options, context) {
    const child = await context.open(rest, childOptions({}, STORE_READONLY | STORE_HARD_READONLY));
    return new CopyStore(child, options.flags);
  },
});
