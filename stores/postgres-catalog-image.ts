/**
 * A filesystem catalog kept in PostgreSQL, used through an image of it in
 * memory. The catalog (daemon/fs/catalog.ts) and the FUSE operations over
 * it are synchronous: a lookup answers inside the call. Asking a server
 * over the network there would block the event loop; so at mount the
 * catalog's rows are loaded into a SQLite database in memory, every
 * namespace operation reads and changes that image at memory speed, and
 * its changes go to PostgreSQL asynchronously: on a 1 s timer and at every
 * fsync, fsyncdir, sync and unmount, which wait for them (a write-ahead of
 * the catalog: what fsync acknowledged is in PostgreSQL).
 *
 * How changes are found: triggers on every table of the image record the
 * primary key of each row inserted, updated (old and new key) or deleted in
 * image_dirty, numbered. A flush reads the rows those keys name as they are
 * now (present: upserted; gone: deleted) and writes them in one
 * PostgreSQL transaction, then forgets the keys up to the number it read.
 * Changes made while the flush was on the wire have higher numbers and go
 * in the next. A flush that fails keeps every key: the next one writes
 * them (the rows are idempotent upserts), so a server that comes back gets
 * everything.
 *
 * Stored form (catalog_row): tbl, key = the JSON array of the primary key,
 * row = the JSON object of the row (BLOBs as {"$base64": ...}). The tables
 * themselves are rows too (tbl '', key = the JSON of the name, row = its
 * CREATE statement), so the image is rebuilt from PostgreSQL alone, and a
 * table added by a later machpager (CREATE TABLE IF NOT EXISTS) is picked up
 * at the next flush. A coherence layer for several mounts can apply another
 * mount's rows to the image the same way (one row, one key), announced with
 * LISTEN/NOTIFY after each flush's commit.
 */
import type { CatalogRow, PostgresConnection } from './postgres-connection.js';
import { openSqliteImage, type SqliteConnection } from './sqlite-connection.js';
import { StoreError } from './store.js';

type Db = SqliteConnection['db'];

/** The image's own tables and the store's (empty in an image: page data lives in PostgreSQL's store_block). */
const NOT_MIRRORED = new Set(['image_dirty', 'machpager_meta', 'store_space', 'store_block', 'page_crc']);
/** catalog_row's tbl for the rows that are table and index definitions. */
const SCHEMA_TBL = '';
export const IMAGE_FLUSH_INTERVAL_MS = 1000;

interface TableInfo {
  readonly name: string;
  /** The primary key's columns ('rowid' for a table without one). */
  readonly key: readonly string[];
  readonly columns: readonly string[];
  readonly select: { get(...values: unknown[]): unknown };
}

export interface CatalogImageStats {
  /** Flushes that wrote something. */
  flushes: number;
  /** Rows written or deleted by them. */
  rows: number;
  /** Flushes that failed (their rows kept for the next). */
  failures: number;
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function encode(value: unknown): unknown {
  return Buffer.isBuffer(value) ? { $base64: value.toString('base64') } : value;
}

function decode(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$base64' in value) return Buffer.from(String(value.$base64), 'base64');
  return value;
}

export class PostgresCatalogImage {
  private readonly tables = new Map<string, TableInfo>();
  private readonly schemaSeen = new Set<string>();
  private tail: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  /** Flushes queued or on the wire: the timer adds none while one is (a long outage must not pile them up). */
  private queued = 0;
  private readonly counters: CatalogImageStats = { flushes: 0, rows: 0, failures: 0 };
  /** After each flush commits: the keys it wrote (another mount is told of them). */
  onFlushed: ((keys: { tbl: string; key: string }[]) => void) | undefined;
  private readonly maxSeq;
  private readonly selectDirty;
  private readonly forget;

  private constructor(
    private readonly connection: PostgresConnection,
    /** The image: a SQLite connection in memory, for the catalog to use as its database. */
    readonly sqlite: SqliteConnection,
    private readonly log: (line: string) => void,
  ) {
    const db = sqlite.db;
    this.maxSeq = db.prepare<[], number | null>('SELECT max(seq) FROM image_dirty').pluck();
    this.selectDirty = db.prepare<[number], { tbl: string; key: string }>('SELECT DISTINCT tbl, key FROM image_dirty WHERE seq <= ?');
    this.forget = db.prepare<[number]>('DELETE FROM image_dirty WHERE seq <= ?');
  }

  /**
   * Load the catalog of the store `connection` serves into a new image.
   * Writable (not readOnly): its changes are recorded and flushed on a timer
   * from now on; call flush() to wait for them, close() at the end.
   */
  static async load(connection: PostgresConnection, options: { readOnly: boolean; log?: (line: string) => void; flushIntervalMs?: number }): Promise<PostgresCatalogImage> {
    const rows = await connection.catalogRows();
    const sqlite = openSqliteImage(
      connection.uri,
      (db) => {
        fill(db, rows);
        db.exec('CREATE TABLE image_dirty (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, key TEXT NOT NULL)');
      },
      options.readOnly,
    );
    const image = new PostgresCatalogImage(connection, sqlite, options.log ?? ((line) => process.stderr.write(`machpager: ${line}\n`)));
    try {
      // What was loaded is in PostgreSQL already: its tables need triggers, not a flush.
      for (const row of rows) if (row.tbl === SCHEMA_TBL) image.schemaSeen.add(row.key);
      if (!options.readOnly) {
        image.trackTables(false);
        image.timer = setInterval(() => image.flushQuietly(), options.flushIntervalMs ?? IMAGE_FLUSH_INTERVAL_MS);
        image.timer.unref();
      }
      return image;
    } catch (err) {
      sqlite.release();
      throw err;
    }
  }

  stats(): CatalogImageStats {
    return { ...this.counters };
  }

  /** Rows changed and not yet in PostgreSQL. */
  get pending(): number {
    if (this.sqlite.readOnly) return 0;
    this.trackTables(true);
    return this.sqlite.db.prepare<[], number>('SELECT count(*) FROM image_dirty').pluck().get() ?? 0;
  }

  /**
   * Write every change made to the image so far to PostgreSQL, in one
   * transaction; resolves when it has committed. Rejects with EIO (the
   * server gone) or the server's errno; the changes are kept and the next
   * flush writes them.
   */
  flush(): Promise<void> {
    if (this.sqlite.readOnly) return Promise.resolve();
    this.queued++;
    const run = this.tail.then(() => this.flushOnce()).finally(() => this.queued--);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Stop the timer, flush, and let go of the image (also when the flush fails: it rejects then). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.flush();
    } finally {
      this.sqlite.release();
    }
  }

  private flushQuietly(): void {
    if (this.queued > 0 || this.pending === 0) return;
    this.flush().then(
      () => {
        if (this.failing) this.log(`catalog changes written to ${this.connection.uri} again`);
        this.failing = false;
      },
      (err: unknown) => {
        if (!this.failing) this.log(`writing catalog changes to ${this.connection.uri}: ${err instanceof Error ? err.message : String(err)}; kept, tried again every second and at fsync`);
        this.failing = true;
      },
    );
  }

  private async flushOnce(): Promise<void> {
    // The group's changes are all made (each one whole) between turns of the event loop; commit them in the image.
    this.sqlite.sync();
    this.trackTables(true);
    const upto = this.maxSeq.get();
    if (typeof upto !== 'number') return;
    const rows: CatalogRow[] = [];
    const gone: { tbl: string; key: string }[] = [];
    for (const { tbl, key } of this.selectDirty.all(upto)) {
      const row = this.rowOf(tbl, key);
      if (row === undefined) gone.push({ tbl, key });
      else rows.push({ tbl, key, row });
    }
    try {
      await this.connection.writeCatalogRows(rows, gone);
    } catch (err) {
      this.counters.failures++;
      throw err;
    }
    this.counters.flushes++;
    this.counters.rows += rows.length + gone.length;
    this.onFlushed?.([...rows.map(({ tbl, key }) => ({ tbl, key })), ...gone]);
    // Outside the catalog's journal: a replayed group would only mark the rows again (harmless).
    const forget = (): void => void this.forget.run(upto);
    if (this.sqlite.group) this.sqlite.group.change(forget, { journal: false });
    else forget();
  }

  /**
   * Rows another mount wrote (coherence): each key of `keys` takes the row
   * `rows` has for it, or goes when `rows` has none. Not marked changed
   * (they are in PostgreSQL already); table definitions, and rows changed
   * here and not yet flushed, are left alone.
   * Returns the keys whose rows changed here.
   */
  applyRemote(rows: readonly CatalogRow[], keys: readonly { tbl: string; key: string }[]): { tbl: string; key: string }[] {
    if (this.sqlite.readOnly) return [];
    this.trackTables(true);
    const byKey = new Map(rows.map((r) => [`${r.tbl}\0${r.key}`, r.row]));
    const db = this.sqlite.db;
    const changed: { tbl: string; key: string }[] = [];
    const pendingHere = db.prepare<[string, string], number>('SELECT 1 FROM image_dirty WHERE tbl = ? AND key = ? LIMIT 1').pluck();
    const apply = (): void => {
      const before = this.maxSeq.get() ?? 0;
      for (const { tbl, key } of keys) {
        const table = this.tables.get(tbl);
        // A row changed here and not yet flushed keeps this mount's version: its flush comes after (the last flush wins).
        if (tbl === SCHEMA_TBL || !table || pendingHere.get(tbl, key) !== undefined) continue;
        const stored = byKey.get(`${tbl}\0${key}`);
        if (stored === this.rowOf(tbl, key)) continue;
        const where = table.key.map((c) => `${quote(c)} = ?`).join(' AND ');
        db.prepare(`DELETE FROM ${quote(tbl)} WHERE ${where}`).run(...(JSON.parse(key) as unknown[]));
        if (stored !== undefined) {
          const row = JSON.parse(stored) as Record<string, unknown>;
          const columns = Object.keys(row);
          db.prepare(`INSERT INTO ${quote(tbl)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...columns.map((c) => decode(row[c])));
        }
        changed.push({ tbl, key });
      }
      db.prepare('DELETE FROM image_dirty WHERE seq > ?').run(before);
    };
    if (this.sqlite.group) this.sqlite.group.change(apply, { journal: false });
    else db.transaction(apply)();
    return changed;
  }

  /** Every key of every row of the image (to reconcile with the database as a whole). */
  allKeys(): { tbl: string; key: string }[] {
    this.trackTables(true);
    const keys: { tbl: string; key: string }[] = [];
    for (const table of this.tables.values()) {
      const literal = `'${table.name.replaceAll("'", "''")}'`;
      keys.push(...this.sqlite.db.prepare<[], { tbl: string; key: string }>(`SELECT ${literal} AS tbl, ${keyOf(table.key)} AS key FROM ${quote(table.name)}`).all());
    }
    return keys;
  }

  /** The stored form of the row `key` names now, or undefined when it is gone. */
  private rowOf(tbl: string, key: string): string | undefined {
    if (tbl === SCHEMA_TBL) {
      const name = JSON.parse(key) as string;
      const def = this.sqlite.db.prepare<[string], { type: string; sql: string }>('SELECT type, sql FROM sqlite_master WHERE name = ?').get(name);
      return def && JSON.stringify(def);
    }
    const table = this.tables.get(tbl);
    if (!table) return undefined;
    const values = JSON.parse(key) as unknown[];
    const row = table.select.get(...values) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    const out: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row)) out[column] = encode(value);
    return JSON.stringify(out);
  }

  /**
   * Triggers on every table of the image not yet tracked; with `markAll`,
   * its definition and every row it has are marked changed (a table made
   * since the load: its rows are in no flush yet).
   */
  private trackTables(markAll: boolean): void {
    const db = this.sqlite.db;
    const defs = db
      .prepare<[], { type: string; name: string; tbl_name: string; sql: string | null }>(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name",
      )
      .all();
    for (const def of defs) {
      if (NOT_MIRRORED.has(def.tbl_name) || def.sql === null) continue;
      if (!this.schemaSeen.has(JSON.stringify(def.name))) {
        this.schemaSeen.add(JSON.stringify(def.name));
        db.prepare('INSERT INTO image_dirty (tbl, key) VALUES (?, ?)').run(SCHEMA_TBL, JSON.stringify(def.name));
      }
      if (def.type !== 'table' || this.tables.has(def.name)) continue;
      const table = this.track(def.name);
      if (markAll) db.exec(`INSERT INTO image_dirty (tbl, key) SELECT '${def.name.replaceAll("'", "''")}', ${keyOf(table.key)} FROM ${quote(def.name)}`);
    }
  }

  private track(name: string): TableInfo {
    const db = this.sqlite.db;
    const info = db.prepare<[string], { name: string; pk: number }>('SELECT name, pk FROM pragma_table_info(?) ORDER BY pk, cid').all(name);
    const pk = info.filter((c) => c.pk > 0).map((c) => c.name);
    const key = pk.length > 0 ? pk : ['rowid'];
    const columns = info.map((c) => c.name);
    const select = db.prepare<unknown[]>(`SELECT ${pk.length > 0 ? '' : 'rowid, '}* FROM ${quote(name)} WHERE ${key.map((c) => `${quote(c)} = ?`).join(' AND ')}`);
    const literal = `'${name.replaceAll("'", "''")}'`;
    const mark = (row: 'NEW' | 'OLD'): string => `INSERT INTO image_dirty (tbl, key) VALUES (${literal}, ${keyOf(key, row)});`;
    const trigger = (what: string): string => quote(`image_${what}_${name}`);
    db.exec(`
      CREATE TRIGGER ${trigger('insert')} AFTER INSERT ON ${quote(name)} BEGIN ${mark('NEW')} END;
      CREATE TRIGGER ${trigger('update')} AFTER UPDATE ON ${quote(name)} BEGIN ${mark('OLD')} ${mark('NEW')} END;
      CREATE TRIGGER ${trigger('delete')} AFTER DELETE ON ${quote(name)} BEGIN ${mark('OLD')} END;
    `);
    const table = { name, key, columns, select };
    this.tables.set(name, table);
    return table;
  }
}

/** The SQL of a row's key as a JSON array (json_array: the same text from a trigger and from a scan). */
function keyOf(key: readonly string[], row?: 'NEW' | 'OLD'): string {
  return `json_array(${key.map((c) => (row ? `${row}.${quote(c)}` : quote(c))).join(', ')})`;
}

/** Rebuild the tables and rows of `rows` in a new image (tables before their indexes, then the rows). */
function fill(db: Db, rows: readonly CatalogRow[]): void {
  const defs = rows
    .filter((r) => r.tbl === SCHEMA_TBL)
    .map((r) => JSON.parse(r.row) as { type: string; sql: string })
    .sort((a, b) => (a.type === b.type ? 0 : a.type === 'table' ? -1 : 1));
  db.transaction(() => {
    for (const def of defs) db.exec(def.sql);
    const inserts = new Map<string, { run(...values: unknown[]): unknown }>();
    for (const r of rows) {
      if (r.tbl === SCHEMA_TBL) continue;
      const row = JSON.parse(r.row) as Record<string, unknown>;
      const columns = Object.keys(row);
      const sig = `${r.tbl}\0${columns.join('\0')}`;
      let insert = inserts.get(sig);
      if (!insert) {
        insert = db.prepare<unknown[]>(`INSERT INTO ${quote(r.tbl)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
        inserts.set(sig, insert);
      }
      try {
        insert.run(...columns.map((c) => decode(row[c])));
      } catch (err) {
        throw new StoreError('EIO', `the catalog row ${r.tbl} ${r.key} cannot be loaded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
  })();
}
