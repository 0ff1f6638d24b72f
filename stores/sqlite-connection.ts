/**
 * One SQLite connection per database file, shared by every store in it (and,
 * later, by the filesystem's catalog): a registry keyed by the resolved path,
 * reference-counted, closed when the last user lets go.
 *
 * A database is a machpager store when its header carries our
 * application_id and machpager_meta names a format we know. Anything else is
 * refused before SQLite writes a byte to it: the header is read with plain
 * file I/O, so a foreign database never even gets a -wal or -shm file.
 *
 * Durability: WAL with synchronous=NORMAL, so a commit survives a crash of
 * the process at once and costs no fsync; sync() commits the group and then
 * fdatasyncs the -wal file (sqlite-wal-sync.ts), which puts every commit
 * before it on the disk, so they survive power loss too.
 *
 * Changes (the catalog's, and the queued page writes below) are grouped
 * into one transaction (sqlite-commit-group.ts), committed when queued
 * writes run, at sync, at the last release and on a 1 s timer.
 *
 * Checksums (format 2): every block row carries the CRC-32 of its data,
 * checked at every read; a mismatch, a short or mistyped value, or SQLite's
 * own SQLITE_CORRUPT is a DataError (EIO), never wrong bytes. A row with no
 * CRC (written by format 1) is trusted; DAMAGED_CRC marks a block fsck found
 * bad. Format 1 databases gain the column on their first writable open.
 * page_crc holds the CRCs of data kept outside the database (the raw files
 * of a file: filesystem store; see sqlite-checksums.ts).
 *
 * Writes are queued and run together in the group's transaction on the next
 * turn of the event loop (setImmediate), which then commits: writes started
 * in the same tick share a commit. Each queued job runs in its own
 * savepoint, so one failing job does not undo the others. A read first runs
 * whatever is queued, so it sees every write started before it.
 */
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { isAllZero } from './bytes.js';
import { crc32, DAMAGED_CRC } from './crc32.js';
import { DataError, StoreError, type OpenOptions } from './store.js';
import { SqliteCommitGroup } from './sqlite-commit-group.js';
import { WalSync } from './sqlite-wal-sync.js';
import { MACHPAGER_APPLICATION_ID, registryKey } from './sqlite-file.js';
import { initialise, openDatabase, SQLITE_BUSY_TIMEOUT_MS, sqliteError, STORE_FORMAT_VERSION } from './sqlite-schema.js';

export { MACHPAGER_APPLICATION_ID, SQLITE_BUSY_TIMEOUT_MS, sqliteError, STORE_FORMAT_VERSION };
import { readBlockRows, type BlockDamage } from './sqlite-block-rows.js';
import { READER_MIN_BYTES, readerEnabled, SqliteReader } from './sqlite-reader.js';

const requireHere = createRequire(import.meta.url);

export interface SpaceRecord {
  space: number;
  blockSize: number;
  size: number;
}

export interface SqliteConnectionStats {
  /** Commits of queued writes (each may carry many jobs). */
  transactions: number;
  /** Jobs (store writes, resizes, catalog changes) those commits carried. */
  jobs: number;
  /** Syncs that put commits on the disk (an fdatasync of the -wal file each). */
  syncs: number;
}

interface WriteJob {
  run: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const connections = new Map<string, SqliteConnection>();
/** The open connections by the names they were acquired with (as given, not resolved). */
const byName = new Map<string, SqliteConnection>();

/**
 * The shared connection to the machpager database at `path`, opening it (and
 * with `create`, creating and initialising it) on first use. Every acquire
 * needs one release().
 */
export function acquireSqliteConnection(path: string, options: Pick<OpenOptions, 'create'> & { readOnly?: boolean } = {}): SqliteConnection {
  // Every file's store acquires the database by the same name: while it is open, that name
  // finds it without a realpath (an lstat per path component, at every create and open).
  // Only absolute names: a relative one means another file after a chdir.
  const named = isAbsolute(path) ? byName.get(path) : undefined;
  if (named) return named.retain();
  const key = registryKey(path);
  const open = connections.get(key);
  if (open) {
    if (isAbsolute(path)) {
      open.names.add(path);
      byName.set(path, open);
    }
    return open.retain();
  }
  const readOnly = options.readOnly ?? false;
  const connection = new SqliteConnection(key, openDatabase(key, !readOnly && (options.create ?? false), readOnly), readOnly);
  connections.set(key, connection);
  if (isAbsolute(path)) {
    connection.names.add(path);
    byName.set(path, connection);
  }
  return connection;
}

/**
 * A SQLite database in memory with the store's tables, not in the registry:
 * the image of a catalog kept elsewhere (postgres-catalog-image.ts loads it
 * from PostgreSQL and writes its changes back). The connection is writable
 * while `load` fills it; with `readOnly` it is read-only after (no group,
 * sync does nothing).
 */
export function openSqliteImage(label: string, load: (db: Database.Database) => void, readOnly = false): SqliteConnection {
  const db = new Database(':memory:');
  try {
    initialise(db);
    load(db);
    return new SqliteConnection(label, db, readOnly);
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Paths of the databases open now (for tests and diagnostics). */
export function openSqliteDatabases(): string[] {
  return [...connections.keys()];
}

export class SqliteConnection {
  private refs = 1;
  /** The names it was acquired by (acquireSqliteConnection's byName). */
  readonly names = new Set<string>();
  private pending: WriteJob[] = [];
  private scheduled = false;
  private changesAtSync = -1;
  private readonly walSync: WalSync;
  /** Changes grouped into one transaction; undefined when read-only. */
  readonly group: SqliteCommitGroup | undefined;
  private readonly counters: SqliteConnectionStats = { transactions: 0, jobs: 0, syncs: 0 };

  private readonly selectSpace;
  private readonly selectSpaces;
  private readonly insertSpace;
  private readonly updateSpaceSize;
  private readonly deleteSpace;
  private readonly selectBlocks;
  private readonly selectBlockNumbers;
  private readonly selectLastBlock;
  private readonly markBlock;
  private readonly selectAnyBlock;
  private readonly upsertBlock;
  private readonly deleteBlock;
  private readonly deleteBlocksFrom;
  private readonly commitJobs;
  private readonly totalChanges;
  private readonly inSavepoint;
  /** The reader worker for large reads: made at the first one; null when this database cannot have one. */
  private reader: SqliteReader | null | undefined;

  /** Block rows carry a crc column (format 2; a format-1 database opened read-only has none). */
  readonly hasBlockCrc: boolean;
  /** The page_crc table exists (format 2). */
  readonly hasPageCrc: boolean;

  constructor(
    readonly path: string,
    /** The connection itself, for the catalog; page data goes through the methods below. */
    readonly db: Database.Database,
    /** Opened read-only: nothing is ever written, sync has nothing to do. */
    readonly readOnly = false,
  ) {
    type SpaceRow = { space: number; block_size: number; size: number };
    const columns = db.prepare<[], string>("SELECT name FROM pragma_table_info('store_block')").pluck().all();
    this.hasBlockCrc = columns.includes('crc');
    this.hasPageCrc = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'page_crc'").get() !== undefined;
    const crc = this.hasBlockCrc ? 'crc' : 'NULL AS crc';
    this.selectSpace = db.prepare<[number], SpaceRow>('SELECT space, block_size, size FROM store_space WHERE space = ?');
    this.selectSpaces = db.prepare<[], SpaceRow>('SELECT space, block_size, size FROM store_space ORDER BY space');
    this.insertSpace = db.prepare<[number, number, number]>('INSERT INTO store_space (space, block_size, size) VALUES (?, ?, ?)');
    this.updateSpaceSize = db.prepare<[number, number]>('UPDATE store_space SET size = ? WHERE space = ?');
    this.deleteSpace = db.prepare<[number]>('DELETE FROM store_space WHERE space = ?');
    // Raw rows [block, crc, data] (sqlite-block-rows.ts): no object per row.
    this.selectBlocks = db
      .prepare<[number, number, number], unknown[]>(`SELECT block, ${crc}, data FROM store_block WHERE space = ? AND block >= ? AND block < ? ORDER BY block`)
      .raw();
    this.selectBlockNumbers = db.prepare<[number], number>('SELECT block FROM store_block WHERE space = ? ORDER BY block').pluck();
    // max() over one space is answered from the primary key's index: one descent, no scan.
    this.selectLastBlock = db.prepare<[number], number | null>('SELECT max(block) FROM store_block WHERE space = ?').pluck();
    this.markBlock = this.hasBlockCrc ? db.prepare<[number, number, number]>('UPDATE store_block SET crc = ? WHERE space = ? AND block = ?') : undefined;
    this.selectAnyBlock = db.prepare<[number, number, number]>(
      'SELECT 1 FROM store_block WHERE space = ? AND block >= ? AND block < ? LIMIT 1',
    );
    this.upsertBlock = this.hasBlockCrc
      ? db.prepare<[number, number, Buffer, number]>('INSERT OR REPLACE INTO store_block (space, block, data, crc) VALUES (?, ?, ?, ?)')
      : undefined;
    this.deleteBlock = db.prepare<[number, number]>('DELETE FROM store_block WHERE space = ? AND block = ?');
    this.deleteBlocksFrom = db.prepare<[number, number]>('DELETE FROM store_block WHERE space = ? AND block >= ?');
    this.inSavepoint = db.transaction((run: () => void) => run());
    this.commitJobs = db.transaction((jobs: WriteJob[]) => this.runJobs(jobs));
    this.totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
    this.walSync = new WalSync(path);
    this.group = readOnly ? undefined : new SqliteCommitGroup(db);
  }

  /** One more reference (EBADF once the connection has closed). */
  retain(): this {
    if (this.refs <= 0) throw new StoreError('EBADF', `connection to ${this.path} is closed`);
    this.refs++;
    return this;
  }

  /** Drop one reference; the last one runs queued writes and closes the database. Extra releases do nothing. */
  release(): void {
    if (this.refs <= 0 || --this.refs > 0) return;
    if (connections.get(this.path) === this) connections.delete(this.path);
    for (const name of this.names) if (byName.get(name) === this) byName.delete(name);
    try {
      this.flush();
      this.group?.close();
    } finally {
      this.reader?.close();
      this.group?.stop();
      this.walSync.close();
      this.db.close();
    }
  }

  stats(): SqliteConnectionStats {
    return { ...this.counters };
  }

  /** The reader worker's counters; undefined while no read has needed it (or the database cannot have one). */
  readerStats(): SqliteReader['counters'] | undefined {
    return this.reader ? { ...this.reader.counters } : undefined;
  }

  /** @internal For tests: the reader worker (undefined while none was needed). */
  get readerForTest(): SqliteReader | undefined {
    return this.reader ?? undefined;
  }
  getSpace(space: number): SpaceRecord | undefined {
    this.flush();
    const row = this.selectSpace.get(space);
    return row && { space, blockSize: row.block_size, size: row.size };
  }

  listSpaces(): SpaceRecord[] {
    this.flush();
    return this.selectSpaces.all().map((r) => ({ space: r.space, blockSize: r.block_size, size: r.size }));
  }

  createSpace(record: SpaceRecord): void {
    this.flush();
    const insert = (): void => void this.insertSpace.run(record.space, record.blockSize, record.size);
    this.guard(`create space ${record.space}`, () => (this.group ? this.group.change(insert) : insert()));
  }

  /**
   * Fill `into` from the blocks of `space` starting at block `first`; missing
   * blocks (holes) read as zeros. A block whose data does not match its CRC,
   * is not a whole block, or that SQLite reports corrupt is a DataError
   * (the first such block's offset); nothing wrong is handed out.
   */
  readBlocks(space: number, first: number, blockSize: number, into: Buffer): void {
    this.flush();
    let damage: BlockDamage | undefined;
    try {
      damage = readBlockRows(this.selectBlocks, crc32, DAMAGED_CRC, space, first, blockSize, into);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      // The B-tree itself is damaged: which block is unknown, so the whole range is.
      if (isCorrupt(err)) throw new DataError('corrupt', first * blockSize, `${this.blockPlace(space, first, blockSize)} and on: ${errText(err)}`, { cause: err });
      throw sqliteError(err, 'read');
    }
    if (damage) throw new DataError(damage.kind, damage.block * blockSize, `${this.blockPlace(space, damage.block, blockSize)}: ${damage.detail}`);
  }

  /**
   * readBlocks, off the event loop when it is worth it (sqlite-reader.ts):
   * large reads go to the reader worker once queued writes are committed
   * (it sees commits only); small ones, and a database not in WAL, read here.
   */
  readBlocksAsync(space: number, first: number, blockSize: number, into: Buffer): Promise<void> {
    const reader = into.length >= READER_MIN_BYTES ? this.blockReader() : undefined;
    if (!reader) {
      this.readBlocks(space, first, blockSize, into);
      return Promise.resolve();
    }
    this.flush();
    return reader.read(space, first, blockSize, into);
  }

  private blockReader(): SqliteReader | undefined {
    if (this.reader === null) return undefined;
    if (this.reader) return this.reader;
    const wal = String(this.db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (!wal || !readerEnabled()) {
      this.reader = null;
      return undefined;
    }
    this.reader = new SqliteReader({
      path: this.path,
      sqliteModule: requireHere.resolve('better-sqlite3'),
      hasBlockCrc: this.hasBlockCrc,
      busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS,
      damagedCrc: DAMAGED_CRC,
    });
    return this.reader;
  }

  private blockPlace(space: number, block: number, blockSize: number): string {
    return `space ${space} of ${this.path}, block ${block} (offset ${block * blockSize})`;
  }

  /** The numbers of the blocks of `space` that hold data (not holes), in order (fsck reads them all). */
  blockNumbers(space: number): number[] {
    this.flush();
    return this.guard('read', () => this.selectBlockNumbers.all(space));
  }

  /** The number of the last block of `space` that holds data; undefined when none does. */
  lastBlock(space: number): number | undefined {
    this.flush();
    const last = this.guard('read', () => this.selectLastBlock.get(space));
    return typeof last === 'number' ? last : undefined;
  }

  /** Queue marking one block damaged: its reads give EIO until it is written again (fsck --repair). */
  markBlockDamaged(space: number, block: number): Promise<void> {
    return this.queueWrite(() => {
      if (!this.markBlock) throw new StoreError('EROFS', `${this.path} has no checksums to mark (format 1, read-only)`);
      this.markBlock.run(DAMAGED_CRC, space, block);
    });
  }

  /** Whether any block of `space` in [first, end) holds data. */
  hasBlocks(space: number, first: number, end: number): boolean {
    this.flush();
    return this.guard('read', () => this.selectAnyBlock.get(space, first, end) !== undefined);
  }

  /** Queue a write of whole blocks; an all-zero block deletes its row, so it stays a hole. */
  writeBlocks(space: number, first: number, blockSize: number, data: Buffer): Promise<void> {
    return this.queueWrite(() => {
      for (let pos = 0, block = first; pos < data.length; pos += blockSize, block++) {
        const chunk = data.subarray(pos, pos + blockSize);
        if (isAllZero(chunk)) this.deleteBlock.run(space, block);
        else if (this.upsertBlock) this.upsertBlock.run(space, block, chunk, crc32(chunk));
        else throw new StoreError('EROFS', `${this.path} is open read-only`);
      }
    });
  }

  /** A size change: rows past the new end go (a change of the commit group, after the writes queued before it). */
  resizeSpace(space: number, size: number, blockSize: number): Promise<void> {
    return this.grouped(`resize space ${space}`, () => {
      this.deleteBlocksFrom.run(space, Math.ceil(size / blockSize));
      this.updateSpaceSize.run(size, space);
    });
  }

  /** The removal of a space and all its blocks (as resizeSpace). */
  dropSpace(space: number): Promise<void> {
    return this.grouped(`drop space ${space}`, () => {
      this.deleteBlocksFrom.run(space, 0);
      this.deleteSpace.run(space);
    });
  }

  /**
   * A change that removes data, made in the commit group as a catalog change is (committed
   * with it at fsync, sync, write-back or the timer), not as a queued write that commits the
   * group on the next turn of the event loop: an unlink or a truncate is not a write-back whose
   * pages wait for their commit, and a crash before the commit loses it with the catalog's own
   * change (the same transaction). Writes queued before it run first, so none lands after it.
   * Without a group (read-only), queued as before.
   */
  private grouped(what: string, run: () => void): Promise<void> {
    const group = this.group;
    if (!group) return this.queueWrite(run);
    try {
      this.flush();
      this.guard(what, () => group.change(run));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Run `run` (synchronous SQLite work) in the next shared transaction, in its
   * own savepoint. Resolves once that transaction has committed.
   */
  queueWrite(run: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ run, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /**
   * Run every queued write now in the group's transaction and commit it
   * (with every grouped catalog change). Nothing queued: nothing to do (the
   * group commits at sync and on its timer).
   */
  flush(): void {
    const jobs = this.pending;
    if (jobs.length === 0) return;
    this.pending = [];
    let failures: Map<WriteJob, unknown>;
    try {
      if (this.group) {
        // Not journalled: on a failed commit the jobs are rejected and their writers (the pagers) write again.
        // The group's savepoint is the jobs' transaction; one job needs no savepoint of its own inside it.
        const group = this.group;
        const only = jobs.length === 1 ? jobs[0] : undefined;
        failures = only ? this.runAlone(only, () => group.change(only.run, { journal: false })) : group.change(() => this.runJobs(jobs), { journal: false });
        this.group.commit();
      } else {
        failures = this.commitJobs.immediate(jobs);
      }
    } catch (err) {
      const error = sqliteError(err, `commit to ${this.path}`);
      for (const job of jobs) job.reject(error);
      return;
    }
    this.counters.transactions++;
    this.counters.jobs += jobs.length;
    for (const job of jobs) {
      const failure = failures.get(job);
      if (failure === undefined) job.resolve();
      else job.reject(sqliteError(failure, `write to ${this.path}`));
    }
  }

  /** Each job in its own savepoint: one that fails is undone alone. */
  private runJobs(jobs: readonly WriteJob[]): Map<WriteJob, unknown> {
    const failures = new Map<WriteJob, unknown>();
    for (const job of jobs) {
      try {
        this.inSavepoint(job.run);
      } catch (err) {
        failures.set(job, err);
      }
    }
    return failures;
  }

  /** One job run by `run` (which undoes it if it throws): its failure, if any, as runJobs reports it. */
  private runAlone(job: WriteJob, run: () => void): Map<WriteJob, unknown> {
    try {
      run();
      return new Map();
    } catch (err) {
      return new Map([[job, err]]);
    }
  }

  /**
   * Make everything changed so far durable against power loss: commit the
   * group, then one fdatasync of the -wal file. Nothing to do when nothing
   * was committed since the last sync. Throws the errno of a failed commit
   * or sync (the changes are kept: see sqlite-commit-group.ts).
   */
  sync(): void {
    if (this.readOnly) return;
    this.flush();
    this.guard(`sync ${this.path}`, () => {
      this.group?.commit();
      const changes = this.totalChanges.get() ?? 0;
      if (changes === this.changesAtSync) return;
      // An image in memory has no file to sync: its owner makes it durable elsewhere.
      if (!this.db.memory) this.walSync.sync();
      this.changesAtSync = changes;
      this.counters.syncs++;
    });
  }

  private guard<T>(what: string, work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw sqliteError(err, what);
    }
  }
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'));
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
