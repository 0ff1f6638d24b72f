/**
 * A ChecksumTable in a machpager SQLite database: the rows of page_crc for
 * one data file (file = its number, an inode for a file: filesystem store).
 * Writes go through the connection's shared transaction (one commit for
 * every write-back run of a turn of the event loop). A database without the
 * table (format 1, opened read-only) has no CRCs: everything is trusted.
 *
 * Reads are served from chunks of CHUNK_PAGES CRCs loaded once (8 bytes a
 * page) and kept up to date by this table's own writes: a query per random
 * 4 KiB page-in cost more than the read of the page itself (measured with
 * bench/stores.ts). A chunk is loaded after committing what is queued, so it
 * holds every CRC written before; the rows change only through this table
 * while it is open (one open store per inode; fsck runs unmounted).
 */
import type { ChecksumTable } from './checksum.js';
import { DAMAGED_CRC } from './crc32.js';
import { StoreError } from './store.js';
import type { SqliteConnection } from './sqlite-connection.js';

type Db = SqliteConnection['db'];

function prepare(db: Db) {
  return {
    range: db.prepare<[number, number, number], { page: number; crc: number }>('SELECT page, crc FROM page_crc WHERE file = ? AND page >= ? AND page < ? ORDER BY page'),
    last: db.prepare<[number], number | null>('SELECT max(page) FROM page_crc WHERE file = ?').pluck(),
    pages: db.prepare<[number], number>('SELECT page FROM page_crc WHERE file = ? ORDER BY page').pluck(),
    files: db.prepare<[], number>('SELECT DISTINCT file FROM page_crc ORDER BY file').pluck(),
    upsert: db.prepare<[number, number, number]>('INSERT OR REPLACE INTO page_crc (file, page, crc) VALUES (?, ?, ?)'),
    dropFrom: db.prepare<[number, number]>('DELETE FROM page_crc WHERE file = ? AND page >= ?'),
  };
}

type Statements = ReturnType<typeof prepare>;

/** Statements are prepared once per connection. */
const prepared = new WeakMap<SqliteConnection, Statements>();

function statements(connection: SqliteConnection): Statements | undefined {
  if (!connection.hasPageCrc) return undefined;
  let s = prepared.get(connection);
  if (!s) prepared.set(connection, (s = prepare(connection.db)));
  return s;
}

const CHUNK_PAGES = 1024;

export class SqlitePageChecksums implements ChecksumTable {
  private closed = false;
  /** Loaded chunks: chunk number → CRC per page (NaN: none recorded). */
  private readonly chunks = new Map<number, Float64Array>();

  /** Takes a reference to `connection` (released by close()). */
  constructor(
    private readonly connection: SqliteConnection,
    readonly file: number,
  ) {
    connection.retain();
  }

  get(first: number, end: number): Map<number, number> {
    const out = new Map<number, number>();
    if (!statements(this.connection)) return out;
    for (let page = first; page < end; ) {
      const chunk = Math.floor(page / CHUNK_PAGES);
      const crcs = this.chunk(chunk);
      const stop = Math.min(end, (chunk + 1) * CHUNK_PAGES);
      for (; page < stop; page++) {
        const crc = crcs[page - chunk * CHUNK_PAGES];
        if (!Number.isNaN(crc)) out.set(page, crc);
      }
    }
    return out;
  }

  private chunk(chunk: number): Float64Array {
    let crcs = this.chunks.get(chunk);
    if (crcs) return crcs;
    const s = statements(this.connection);
    crcs = new Float64Array(CHUNK_PAGES).fill(Number.NaN);
    if (s) {
      this.connection.flush();
      const base = chunk * CHUNK_PAGES;
      for (const row of s.range.iterate(this.file, base, base + CHUNK_PAGES)) crcs[row.page - base] = row.crc;
    }
    this.chunks.set(chunk, crcs);
    return crcs;
  }

  end(): number {
    const last = lastChecksummedPage(this.connection, this.file);
    return last === undefined ? 0 : last + 1;
  }

  put(first: number, crcs: readonly number[]): Promise<void> {
    const s = this.writable();
    for (let i = 0; i < crcs.length; i++) {
      const page = first + i;
      const loaded = this.chunks.get(Math.floor(page / CHUNK_PAGES));
      if (loaded) loaded[page % CHUNK_PAGES] = crcs[i];
    }
    return this.connection.queueWrite(() => {
      for (let i = 0; i < crcs.length; i++) s.upsert.run(this.file, first + i, crcs[i]);
    });
  }

  dropFrom(first: number): Promise<void> {
    for (const [chunk, crcs] of this.chunks) {
      const base = chunk * CHUNK_PAGES;
      if (base >= first) this.chunks.delete(chunk);
      else if (base + CHUNK_PAGES > first) crcs.fill(Number.NaN, first - base);
    }
    return dropPageChecksums(this.connection, this.file, first);
  }

  sync(): Promise<void> {
    this.connection.sync();
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.clear();
    this.connection.release();
  }

  private writable(): Statements {
    const s = statements(this.connection);
    if (!s || this.connection.readOnly) throw new StoreError('EROFS', `${this.connection.path} is open read-only`);
    return s;
  }
}

/** Queue forgetting the CRCs of `file`'s pages from `first` on (0: the whole file's). */
export function dropPageChecksums(connection: SqliteConnection, file: number, first = 0): Promise<void> {
  const s = statements(connection);
  if (!s) return Promise.resolve();
  return connection.queueWrite(() => void s.dropFrom.run(file, first));
}

/** Queue marking one page of `file` damaged: reads of it give EIO until it is written again (fsck --repair). */
export function markPageDamaged(connection: SqliteConnection, file: number, page: number): Promise<void> {
  const s = statements(connection);
  if (!s) return Promise.reject(new StoreError('EROFS', `${connection.path} has no page checksums (format 1, read-only)`));
  return connection.queueWrite(() => void s.upsert.run(file, page, DAMAGED_CRC));
}

/** The pages of `file` that have a recorded CRC, in order. */
export function checksummedPages(connection: SqliteConnection, file: number): number[] {
  const s = statements(connection);
  if (!s) return [];
  connection.flush();
  return s.pages.all(file);
}

/** The last page of `file` with a recorded CRC; undefined when none has one. */
export function lastChecksummedPage(connection: SqliteConnection, file: number): number | undefined {
  const s = statements(connection);
  if (!s) return undefined;
  connection.flush();
  const last = s.last.get(file);
  return typeof last === 'number' ? last : undefined;
}

/** The data files that have recorded CRCs. */
export function checksummedFiles(connection: SqliteConnection): number[] {
  const s = statements(connection);
  if (!s) return [];
  connection.flush();
  return s.files.all();
}
