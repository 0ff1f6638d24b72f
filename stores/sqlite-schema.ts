/**
 * The tables of a SQLite store, and opening one: a foreign or newer database
 * is refused, an older one migrated (on a writable open), a new one made.
 */
import Database from 'better-sqlite3';
import { sqliteErrnoCode } from './errno.js';
import { StoreError } from './store.js';
import { inspect, MACHPAGER_APPLICATION_ID } from './sqlite-file.js';
import { mapDatabase } from './sqlite-mmap.js';

/**
 * The layout of the tables below; a database with a newer one is refused.
 * 1: no checksums. 2: store_block.crc and page_crc (migrated on a writable open).
 */
export const STORE_FORMAT_VERSION = 2;
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** CRCs of pages kept outside the database: file = the data file's number (an inode), page = its page. */
const PAGE_CRC_TABLE = `
  CREATE TABLE IF NOT EXISTS page_crc (
    file INTEGER NOT NULL,
    page INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (file, page)
  ) WITHOUT ROWID;
`;

// crc comes before data: a column after a 4 KiB blob lies at the end of its overflow chain, and
// reading it costs a second walk of the chain (measured: page-in from SQLite much slower with it last).
const SCHEMA = `
  CREATE TABLE machpager_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
  CREATE TABLE store_space (
    space INTEGER PRIMARY KEY,
    block_size INTEGER NOT NULL,
    size INTEGER NOT NULL
  );
  CREATE TABLE store_block (
    space INTEGER NOT NULL,
    block INTEGER NOT NULL,
    crc INTEGER,
    data BLOB NOT NULL,
    PRIMARY KEY (space, block)
  );
  ${PAGE_CRC_TABLE}
`;

export function openDatabase(path: string, create: boolean, readOnly: boolean): Database.Database {
  const state = inspect(path);
  if (state === 'missing' && !create) throw new StoreError('ENOENT', `no machpager store at ${path}`);
  if (state === 'empty' && !create) throw new StoreError('EINVAL', `${path} is not a machpager store (an empty file)`);
  if (readOnly) {
    return openChecked(path, { readonly: true, fileMustExist: true }, (db) => {
      checkFormat(db, path);
      mapDatabase(db);
    });
  }
  // Our marker, but is the rest ours? Look without the power to change anything.
  if (state === 'machpager') openChecked(path, { readonly: true, fileMustExist: true }, (db) => checkFormat(db, path)).close();
  return openChecked(path, { fileMustExist: state !== 'missing' }, (db) => {
    if (state !== 'machpager') initialise(db);
    else migrate(db);
    // Persistent in the file; a no-op once set.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Per connection: reads of block rows from the mapped file (sqlite-mmap.ts).
    mapDatabase(db);
  });
}

/**
 * Open `path` and run `work` on it; on failure close it again. SQLite's own
 * complaints at this stage mean the file is not a store we can use.
 */
function openChecked(path: string, options: Database.Options, work: (db: Database.Database) => void): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { ...options, timeout: SQLITE_BUSY_TIMEOUT_MS });
    work(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof StoreError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_BUSY') throw sqliteError(err, `open ${path}`);
    throw new StoreError('EINVAL', `${path} is not a machpager store (or is damaged): ${reason}`, { cause: err });
  }
}

/**
 * A new database gets the marker, the tables and the meta rows in one
 * transaction, still in rollback-journal mode so that the header with the
 * application_id is in the main file before WAL is turned on.
 */
export function initialise(db: Database.Database): void {
  db.transaction(() => {
    db.pragma(`application_id = ${MACHPAGER_APPLICATION_ID}`);
    db.exec(SCHEMA);
    const meta = db.prepare<[string, string | number]>('INSERT INTO machpager_meta (key, value) VALUES (?, ?)');
    meta.run('format', 'machpager-store');
    meta.run('version', STORE_FORMAT_VERSION);
    meta.run('syncs', 0);
  }).immediate();
}

/**
 * Bring an older store to STORE_FORMAT_VERSION, in one transaction (on a
 * writable open only: a read-only open reads the old format as it is).
 * 1 → 2: block rows gain a crc column (NULL for the rows there: trusted
 * until rewritten), and page_crc is made.
 */
function migrate(db: Database.Database): void {
  const version = db.prepare<[], unknown>("SELECT value FROM machpager_meta WHERE key = 'version'").pluck().get();
  if (typeof version !== 'number' || version >= STORE_FORMAT_VERSION) return;
  db.transaction(() => {
    if (version < 2) {
      db.exec('ALTER TABLE store_block ADD COLUMN crc INTEGER');
      db.exec(PAGE_CRC_TABLE);
    }
    db.prepare("UPDATE machpager_meta SET value = ? WHERE key = 'version'").run(STORE_FORMAT_VERSION);
  }).immediate();
}

function checkFormat(db: Database.Database, path: string): void {
  const version = db.prepare<[], unknown>("SELECT value FROM machpager_meta WHERE key = 'version'").pluck().get();
  if (typeof version !== 'number') throw new StoreError('EINVAL', `${path} is not a machpager store (no format version)`);
  if (version > STORE_FORMAT_VERSION) {
    throw new StoreError('EINVAL', `${path} has store format ${version}; this machpager knows up to ${STORE_FORMAT_VERSION}`);
  }
}

/** SQLite result codes as errno: what a pager can act on (ENOSPC) stays distinct. */
export function sqliteError(err: unknown, context: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = `${context}: ${err instanceof Error ? err.message : String(err)}`;
  return new StoreError((typeof code === 'string' ? sqliteErrnoCode(code) : undefined) ?? 'EIO', message, { cause: err });
}
