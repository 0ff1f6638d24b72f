/**
 * Pages shared between files on disk (what `machpager snapshot` makes): the
 * catalog's record of which inode's data reads through to which, the store's
 * own shadow chain. A snapshot N of a file A gets a row (N, base A, end): a
 * page of N below `end` that N has not written itself is A's page. Before A
 * changes or drops such a page, the page is pushed into N (shadow-store.ts),
 * as the kernel pushes a page into a delayed copy; so the two share every
 * page neither has written since, and on-disk size grows only by pages
 * written. `end` shrinks when N is truncated (pages past it are N's own, or
 * holes, for good).
 *
 * "N has the page itself": its store holds a row (SQLite) or a checksum (a
 * raw file) for it, or it wrote zeros there (SQLite drops all-zero blocks, so
 * page_zero remembers them).
 */
import type { SqliteConnection } from '../../stores/index.js';

export interface PageLink {
  readonly ino: number;
  readonly base: number;
  /** Bytes of the base visible through this file: a whole number of pages. */
  end: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS page_base (
    ino INTEGER PRIMARY KEY,
    base INTEGER NOT NULL,
    base_end INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS page_base_by_base ON page_base (base);
  CREATE TABLE IF NOT EXISTS page_zero (
    ino INTEGER NOT NULL,
    page INTEGER NOT NULL,
    PRIMARY KEY (ino, page)
  ) WITHOUT ROWID;
`;

export class SharedPages {
  private readonly links = new Map<number, PageLink>();
  private readonly children = new Map<number, Set<number>>();
  private readonly hasZero;
  private readonly hasOwn: (ino: number, page: number) => boolean;
  /** The pages below `end` that `ino` holds itself. */
  private readonly listOwned: (ino: number, end: number) => number[];
  /** Pages below `end` that `ino` holds itself. */
  private readonly countOwned: (ino: number, end: number) => number;

  constructor(
    private readonly connection: SqliteConnection,
    /** postgres: shares no pages (snapshot is refused there), so it has no links to follow. */
    readonly kind: 'sqlite' | 'file' | 'postgres',
    readonly pageSize: number,
  ) {
    const db = connection.db;
    if (!connection.readOnly) db.exec(SCHEMA);
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'page_base'").get() !== undefined;
    if (exists) {
      for (const row of db.prepare<[], { ino: number; base: number; base_end: number }>('SELECT ino, base, base_end FROM page_base').iterate())
        this.remember({ ino: row.ino, base: row.base, end: row.base_end });
    }
    this.hasZero = exists ? db.prepare<[number, number]>('SELECT 1 FROM page_zero WHERE ino = ? AND page = ?') : undefined;
    const zeroPages = exists ? 'UNION SELECT page FROM page_zero WHERE ino = ? AND page < ?' : '';
    if (kind === 'sqlite') {
      const count = db
        .prepare<unknown[], number>(`SELECT count(*) FROM (SELECT block / ? AS page FROM store_block WHERE space = ? AND block < ? ${zeroPages})`)
        .pluck();
      this.countOwned = (ino, end) => {
        const per = Math.max(1, pageSize / (connection.getSpace(ino)?.blockSize ?? pageSize));
        return count.get(per, ino, end * per, ...(exists ? [ino, end] : [])) ?? 0;
      };
      const list = db.prepare<unknown[], number>(`SELECT block / ? AS page FROM store_block WHERE space = ? AND block < ? ${zeroPages}`).pluck();
      this.listOwned = (ino, end) => {
        const per = Math.max(1, pageSize / (connection.getSpace(ino)?.blockSize ?? pageSize));
        return list.all(per, ino, end * per, ...(exists ? [ino, end] : []));
      };
      this.hasOwn = (ino, page) => {
        const space = connection.getSpace(ino);
        if (!space) return false;
        const per = Math.max(1, pageSize / space.blockSize);
        return connection.hasBlocks(ino, page * per, (page + 1) * per);
      };
    } else if (kind === 'postgres') {
      this.hasOwn = () => false;
      this.countOwned = () => 0;
      this.listOwned = () => [];
    } else {
      const crc = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'page_crc'").get() !== undefined
        ? db.prepare<[number, number]>('SELECT 1 FROM page_crc WHERE file = ? AND page = ?')
        : undefined;
      this.hasOwn = (ino, page) => {
        connection.flush();
        return crc?.get(ino, page) !== undefined;
      };
      const count = crc
        ? db.prepare<unknown[], number>(`SELECT count(*) FROM (SELECT page FROM page_crc WHERE file = ? AND page < ? ${zeroPages})`).pluck()
        : undefined;
      this.countOwned = (ino, end) => count?.get(ino, end, ...(exists ? [ino, end] : [])) ?? 0;
      const list = crc
        ? db.prepare<unknown[], number>(`SELECT page FROM page_crc WHERE file = ? AND page < ? ${zeroPages}`).pluck()
        : undefined;
      this.listOwned = (ino, end) => list?.all(ino, end, ...(exists ? [ino, end] : [])) ?? [];
    }
  }

  /** The file `ino` reads its unwritten pages from, if any. */
  linkOf(ino: number): PageLink | undefined {
    return this.links.get(ino);
  }

  /** Snapshots that read through to `ino`. */
  childrenOf(ino: number): PageLink[] {
    const set = this.children.get(ino);
    if (!set) return [];
    return [...set].map((child) => this.links.get(child)).filter((l): l is PageLink => l !== undefined);
  }

  /** Every link (fsck). */
  all(): PageLink[] {
    return [...this.links.values()];
  }

  /** Whether `ino` holds page `page` itself (a stored page or zeros it wrote). */
  owns(ino: number, page: number): boolean {
    if (this.hasOwn(ino, page)) return true;
    this.connection.flush();
    return this.hasZero?.get(ino, page) !== undefined;
  }

  /** Pages of `ino` below its link's end that still read through to the base (one query, not one a page). */
  sharedPages(ino: number, size: number): number {
    const link = this.links.get(ino);
    if (!link) return 0;
    const end = Math.ceil(Math.min(size, link.end) / this.pageSize);
    this.connection.flush();
    return end - this.countOwned(ino, end);
  }

  /** The pages below `end` (pages) that `ino` holds itself: a snapshot's object knows them when it is linked in the cache. */
  ownedPages(ino: number, end: number): number[] {
    this.connection.flush();
    return this.listOwned(ino, end);
  }

  /**
   * `ino` (new, with no data) reads through to `base` for [0, end). Written
   * at once, not queued: the caller runs it in the transaction that makes
   * the inode, so that no crash leaves one without the other.
   */
  linkNow(ino: number, base: number, end: number): void {
    this.connection.flush();
    this.connection.db.prepare('INSERT OR REPLACE INTO page_base (ino, base, base_end) VALUES (?, ?, ?)').run(ino, base, end);
    this.remember({ ino, base, end });
  }

  /** `ino` reads nothing through any more (it has every page it needs, or it is gone). */
  unlink(ino: number): Promise<void> {
    const link = this.links.get(ino);
    if (!link) return Promise.resolve();
    this.links.delete(ino);
    this.children.get(link.base)?.delete(ino);
    return this.connection.queueWrite(() => {
      this.connection.db.prepare('DELETE FROM page_base WHERE ino = ?').run(ino);
      this.connection.db.prepare('DELETE FROM page_zero WHERE ino = ?').run(ino);
    });
  }

  /** A truncate of `ino` to `size`: the base is hidden past it for good. */
  shrink(ino: number, size: number): Promise<void> {
    const link = this.links.get(ino);
    const end = Math.ceil(size / this.pageSize) * this.pageSize;
    if (!link || end >= link.end) return Promise.resolve();
    link.end = end;
    return this.connection.queueWrite(() => {
      this.connection.db.prepare('UPDATE page_base SET base_end = ? WHERE ino = ?').run(end, ino);
      this.connection.db.prepare('DELETE FROM page_zero WHERE ino = ? AND page >= ?').run(ino, end / this.pageSize);
    });
  }

  /** Record which pages of [first, first + zero.length) `ino` wrote as zeros (true) or with data (false). */
  noteWritten(ino: number, first: number, zero: readonly boolean[]): Promise<void> {
    return this.connection.queueWrite(() => {
      const add = this.connection.db.prepare('INSERT OR IGNORE INTO page_zero (ino, page) VALUES (?, ?)');
      const drop = this.connection.db.prepare('DELETE FROM page_zero WHERE ino = ? AND page = ?');
      for (let i = 0; i < zero.length; i++) (zero[i] ? add : drop).run(ino, first + i);
    });
  }

  private remember(link: PageLink): void {
    this.links.set(link.ino, link);
    let set = this.children.get(link.base);
    if (!set) this.children.set(link.base, (set = new Set()));
    set.add(link.ino);
  }
}
