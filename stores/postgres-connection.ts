/**
 * One pool of PostgreSQL connections per database, shared by every store in
 * it and by the filesystem's catalog image (postgres-catalog-image.ts): a
 * registry keyed by the connection URI, reference-counted, ended when the
 * last user lets go.
 *
 * A database is a machpager store when machpager_meta names a format we
 * know. A database that holds other tables and no machpager_meta is refused
 * with one line and nothing is written to it; an empty one gets the schema
 * only with `create`.
 *
 * Durability: every write is one statement (or one transaction) committed
 * before it resolves; with PostgreSQL's default synchronous_commit=on a
 * commit is on the server's disk when it returns, so sync() has nothing
 * more to do than wait for the writes it follows.
 *
 * Connection loss: the pool drops a broken connection and makes a new one
 * for the next query, so an operation that finds the server gone fails with
 * EIO and the next one after the server is back succeeds; nothing here is
 * retried behind the caller's back (the pager holds and retries page
 * writes, the catalog image keeps its changes until a flush commits them).
 *
 * The SQL is kept to what PostgreSQL-compatible distributed engines
 * (CockroachDB, YugabyteDB) also speak: BIGINT/BYTEA/TEXT, INSERT ... ON
 * CONFLICT, unnest() of arrays, information_schema. Nothing here needs
 * PostgreSQL itself; the coherence layer planned for several mounts
 * (LISTEN/NOTIFY) will.
 */
import pg from 'pg';
import { crc32, DAMAGED_CRC } from './crc32.js';
import { isAllZero } from './bytes.js';
import { DataError, StoreError, type OpenOptions } from './store.js';
import type { ErrnoCode } from './errno.js';

/** The layout of the tables below; a database with a newer one is refused. */
export const POSTGRES_FORMAT_VERSION = 1;
export const POSTGRES_FORMAT = 'machpager-store';
/** How long a new connection may take before the access that needs it fails (EIO). */
export const POSTGRES_CONNECT_TIMEOUT_MS = 5000;
/** How long one statement may take before its access fails (EIO): no fault waits for ever on the network. */
export const POSTGRES_QUERY_TIMEOUT_MS = 20000;

/** The tables, one statement each (engines that take one statement per query need no splitting). */
const SCHEMA = [
  'CREATE TABLE machpager_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  'CREATE TABLE store_space (space BIGINT PRIMARY KEY, block_size BIGINT NOT NULL, size BIGINT NOT NULL)',
  // crc is the CRC-32 of data (checked at every read); -1 marks a block fsck found damaged.
  'CREATE TABLE store_block (space BIGINT NOT NULL, block BIGINT NOT NULL, crc BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (space, block))',
  // The filesystem catalog's rows (postgres-catalog-image.ts): table, primary key and row as JSON text.
  'CREATE TABLE catalog_row (tbl TEXT NOT NULL, key TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (tbl, key))',
];

export interface PostgresSpaceRecord {
  space: number;
  blockSize: number;
  size: number;
}

/** One row of the catalog image as stored: its table, its primary key (JSON) and its values (JSON). */
export interface CatalogRow {
  tbl: string;
  key: string;
  row: string;
}

export interface PostgresConnectionStats {
  /** Statements and transactions sent. */
  queries: number;
  /** Of those, failed. */
  failures: number;
}

// BIGINT (int8) comes back as a string by default; every value here is below 2^53.
const INT8_OID = 20;
const parseInt8 = (v: string): number => Number(v);
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

const connections = new Map<string, PostgresConnection>();
const opening = new Map<string, Promise<PostgresConnection>>();

/**
 * The shared connection to the machpager database at `uri` (libpq URI
 * syntax: postgres://user@host/db, postgres:///db?host=/run/sock&user=NAME),
 * checking it (and with `create`, making its tables) on first use. Every
 * acquire needs one release().
 */
export async function acquirePostgresConnection(uri: string, options: Pick<OpenOptions, 'create'> & { readOnly?: boolean } = {}): Promise<PostgresConnection> {
  const open = connections.get(uri);
  if (open) return open.retain();
  const pending = opening.get(uri);
  if (pending) return (await pending).retain();
  const made = PostgresConnection.open(uri, !(options.readOnly ?? false) && (options.create ?? false), options.readOnly ?? false);
  opening.set(uri, made);
  try {
    const connection = await made;
    connections.set(uri, connection);
    return connection;
  } finally {
    opening.delete(uri);
  }
}

export class PostgresConnection {
  private refs = 1;
  private readonly counters: PostgresConnectionStats = { queries: 0, failures: 0 };
  /** Said once per outage: the pool's idle connections report a lost server here. */
  private lostSaid = false;

  private constructor(
    readonly uri: string,
    private readonly pool: pg.Pool,
    readonly readOnly: boolean,
  ) {}

  static async open(uri: string, create: boolean, readOnly: boolean): Promise<PostgresConnection> {
    const pool = new pg.Pool({
      connectionString: uri,
      max: 4,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
      query_timeout: POSTGRES_QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 10000,
      types,
    });
    const connection = new PostgresConnection(uri, pool, readOnly);
    // An idle connection whose server went away: the pool drops it; without a listener Node would exit.
    pool.on('error', (err) => connection.lost(err));
    try {
      await connection.checkSchema(create);
      return connection;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  retain(): this {
    if (this.refs <= 0) throw new StoreError('EBADF', `connection to ${this.uri} is closed`);
    this.refs++;
    return this;
  }

  /** Drop one reference; the last one ends the pool. Extra releases do nothing. */
  async release(): Promise<void> {
    if (this.refs <= 0 || --this.refs > 0) return;
    connections.delete(this.uri);
    await this.pool.end().catch(() => undefined);
  }

  stats(): PostgresConnectionStats {
    return { ...this.counters };
  }

  private lost(err: Error): void {
    if (this.lostSaid) return;
    this.lostSaid = true;
    process.stderr.write(`machpager: connection to ${this.uri} lost: ${err.message}; accesses that need the server fail with EIO until it is back\n`);
  }

  /** One statement; every failure a StoreError (EIO unless the server says why). */
  async query<R extends pg.QueryResultRow>(what: string, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.counters.queries++;
    try {
      const result = await this.pool.query<R>(text, values);
      this.lostSaid = false;
      return result;
    } catch (err) {
      this.counters.failures++;
      throw postgresError(err, `${what} (${this.uri})`);
    }
  }

  /** `work` in one transaction on one connection: committed whole when it resolves, rolled back when it throws. */
  async transaction<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.counters.queries++;
    let client: pg.PoolClient | undefined;
    let broken = false;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        this.lostSaid = false;
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } catch (err) {
      this.counters.failures++;
      broken = true;
      throw postgresError(err, `${what} (${this.uri})`);
    } finally {
      // A connection that failed may be in any state: the pool makes a new one.
      client?.release(broken);
    }
  }

  // ------------------------------------------------------------------ schema

  private async checkSchema(create: boolean): Promise<void> {
    const tables = (
      await this.query<{ table_name: string }>(
        'open',
        'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name',
      )
    ).rows.map((r) => r.table_name);
    if (tables.includes('machpager_meta')) {
      const meta = await this.query<{ key: string; value: string }>('open', 'SELECT key, value FROM machpager_meta');
      const values = new Map(meta.rows.map((r) => [r.key, r.value]));
      if (values.get('format') !== POSTGRES_FORMAT) throw new StoreError('EINVAL', `${this.uri} is not a machpager store (machpager_meta names no machpager format)`);
      const version = Number(values.get('version'));
      if (!Number.isInteger(version)) throw new StoreError('EINVAL', `${this.uri} is not a machpager store (no format version)`);
      if (version > POSTGRES_FORMAT_VERSION) {
        throw new StoreError('EINVAL', `${this.uri} has store format ${version}; this machpager knows up to ${POSTGRES_FORMAT_VERSION}`);
      }
      return;
    }
    if (tables.length > 0) {
      const shown = tables.slice(0, 3).join(', ') + (tables.length > 3 ? ', ...' : '');
      throw new StoreError('EINVAL', `${this.uri} is not a machpager store (a database with other tables: ${shown})`);
    }
    if (!create) throw new StoreError('ENOENT', `no machpager store in ${this.uri} (an empty database)`);
    await this.transaction('create the store tables', async (client) => {
      for (const statement of SCHEMA) await client.query(statement);
      await client.query('INSERT INTO machpager_meta (key, value) VALUES ($1, $2), ($3, $4)', ['format', POSTGRES_FORMAT, 'version', String(POSTGRES_FORMAT_VERSION)]);
    });
  }

  // ------------------------------------------------------------------ spaces

  async getSpace(space: number): Promise<PostgresSpaceRecord | undefined> {
    const r = await this.query<{ block_size: number; size: number }>('read a space', 'SELECT block_size, size FROM store_space WHERE space = $1', [space]);
    const row = r.rows[0];
    return row && { space, blockSize: row.block_size, size: row.size };
  }

  async listSpaces(): Promise<PostgresSpaceRecord[]> {
    const r = await this.query<{ space: number; block_size: number; size: number }>('list spaces', 'SELECT space, block_size, size FROM store_space ORDER BY space');
    return r.rows.map((row) => ({ space: row.space, blockSize: row.block_size, size: row.size }));
  }

  /** Make the space unless it exists (two openers racing both find it made). */
  async createSpace(record: PostgresSpaceRecord): Promise<void> {
    await this.query(
      `create space ${record.space}`,
      'INSERT INTO store_space (space, block_size, size) VALUES ($1, $2, $3) ON CONFLICT (space) DO NOTHING',
      [record.space, record.blockSize, record.size],
    );
  }

  async resizeSpace(space: number, size: number, blockSize: number): Promise<void> {
    await this.transaction(`resize space ${space}`, async (client) => {
      await client.query('DELETE FROM store_block WHERE space = $1 AND block >= $2', [space, Math.ceil(size / blockSize)]);
      await client.query('UPDATE store_space SET size = $1 WHERE space = $2', [size, space]);
    });
  }

  async dropSpace(space: number): Promise<void> {
    await this.transaction(`drop space ${space}`, async (client) => {
      await client.query('DELETE FROM store_block WHERE space = $1', [space]);
      await client.query('DELETE FROM store_space WHERE space = $1', [space]);
    });
  }

  // ------------------------------------------------------------------ blocks

  /**
   * Fill `into` from the blocks of `space` from block `first`; holes read as
   * zeros. A block whose data does not match its CRC, is not a whole block,
   * or is marked damaged is a DataError: nothing wrong is handed out.
   */
  async readBlocks(space: number, first: number, blockSize: number, into: Buffer): Promise<void> {
    const end = first + into.length / blockSize;
    const r = await this.query<{ block: number; crc: number; data: Buffer }>(
      'read',
      'SELECT block, crc, data FROM store_block WHERE space = $1 AND block >= $2 AND block < $3 ORDER BY block',
      [space, first, end],
    );
    into.fill(0);
    const where = (block: number): string => `space ${space} of ${this.uri}, block ${block} (offset ${block * blockSize})`;
    for (const { block, crc, data } of r.rows) {
      if (!Buffer.isBuffer(data) || data.length !== blockSize) {
        throw new DataError('corrupt', block * blockSize, `${where(block)}: the stored value is not a ${blockSize}-byte block`);
      }
      if (crc === DAMAGED_CRC) throw new DataError('marked', block * blockSize, `${where(block)}: marked damaged by fsck`);
      if (crc32(data) !== crc) throw new DataError('checksum', block * blockSize, `${where(block)}: checksum mismatch`);
      data.copy(into, (block - first) * blockSize);
    }
  }

  /** Write whole blocks in one transaction; an all-zero block deletes its row, so it stays a hole. */
  async writeBlocks(space: number, first: number, blockSize: number, data: Buffer): Promise<void> {
    const blocks: number[] = [];
    const crcs: number[] = [];
    const datas: Buffer[] = [];
    const zeros: number[] = [];
    for (let pos = 0, block = first; pos < data.length; pos += blockSize, block++) {
      const chunk = data.subarray(pos, pos + blockSize);
      if (isAllZero(chunk)) {
        zeros.push(block);
      } else {
        blocks.push(block);
        crcs.push(crc32(chunk));
        // A copy: the caller may reuse its buffer once this resolves, and pg serialises later.
        datas.push(Buffer.from(chunk));
      }
    }
    const upsert =
      'INSERT INTO store_block (space, block, crc, data) SELECT $1, t.block, t.crc, t.data FROM unnest($2::BIGINT[], $3::BIGINT[], $4::BYTEA[]) AS t(block, crc, data) ' +
      'ON CONFLICT (space, block) DO UPDATE SET crc = excluded.crc, data = excluded.data';
    const remove = 'DELETE FROM store_block WHERE space = $1 AND block = ANY($2::BIGINT[])';
    if (zeros.length === 0) await this.query('write', upsert, [space, blocks, crcs, datas]);
    else if (blocks.length === 0) await this.query('write', remove, [space, zeros]);
    else
      await this.transaction('write', async (client) => {
        await client.query(upsert, [space, blocks, crcs, datas]);
        await client.query(remove, [space, zeros]);
      });
  }

  async hasBlocks(space: number, first: number, end: number): Promise<boolean> {
    const r = await this.query('read', 'SELECT 1 FROM store_block WHERE space = $1 AND block >= $2 AND block < $3 LIMIT 1', [space, first, end]);
    return r.rows.length > 0;
  }

  async blockNumbers(space: number): Promise<number[]> {
    const r = await this.query<{ block: number }>('read', 'SELECT block FROM store_block WHERE space = $1 ORDER BY block', [space]);
    return r.rows.map((row) => row.block);
  }

  async lastBlock(space: number): Promise<number | undefined> {
    const r = await this.query<{ block: number | null }>('read', 'SELECT max(block) AS block FROM store_block WHERE space = $1', [space]);
    const last = r.rows[0]?.block;
    return typeof last === 'number' ? last : undefined;
  }

  /** Mark one block damaged: its reads give EIO until it is written again (fsck --repair). */
  async markBlockDamaged(space: number, block: number): Promise<void> {
    await this.query('mark damaged', 'UPDATE store_block SET crc = $1 WHERE space = $2 AND block = $3', [DAMAGED_CRC, space, block]);
  }

  // ------------------------------------------------------------------ the catalog image's rows

  async catalogRows(): Promise<CatalogRow[]> {
    return (await this.query<CatalogRow>('load the catalog', 'SELECT tbl, key, row FROM catalog_row')).rows;
  }

  /** The catalog rows of `keys` (those that exist). */
  async catalogRowsOf(keys: readonly { tbl: string; key: string }[]): Promise<CatalogRow[]> {
    if (keys.length === 0) return [];
    const r = await this.query<CatalogRow>('read catalog rows', 'SELECT tbl, key, row FROM catalog_row WHERE (tbl, key) IN (SELECT * FROM unnest($1::TEXT[], $2::TEXT[]))', [
      keys.map((k) => k.tbl),
      keys.map((k) => k.key),
    ]);
    return r.rows;
  }

  /** Upsert `rows` and delete `gone` (table and key each) in one transaction. */
  async writeCatalogRows(rows: readonly CatalogRow[], gone: readonly { tbl: string; key: string }[]): Promise<void> {
    await this.transaction('write the catalog', async (client) => {
      if (gone.length > 0) {
        await client.query('DELETE FROM catalog_row WHERE (tbl, key) IN (SELECT * FROM unnest($1::TEXT[], $2::TEXT[]))', [
          gone.map((g) => g.tbl),
          gone.map((g) => g.key),
        ]);
      }
      if (rows.length > 0) {
        await client.query(
          'INSERT INTO catalog_row (tbl, key, row) SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[]) ' +
            'ON CONFLICT (tbl, key) DO UPDATE SET row = excluded.row',
          [rows.map((r) => r.tbl), rows.map((r) => r.key), rows.map((r) => r.row)],
        );
      }
    });
  }
}

/** SQLSTATE classes as errno: what a pager can act on stays distinct (a full disk is ENOSPC). */
const SQLSTATE_ERRNO: Readonly<Record<string, ErrnoCode>> = {
  '53100': 'ENOSPC', // disk_full
  '53200': 'ENOMEM', // out_of_memory
  '25006': 'EROFS', // read_only_sql_transaction
  '42501': 'EACCES', // insufficient_privilege
  '28000': 'EACCES', // invalid_authorization_specification
  '28P01': 'EACCES', // invalid_password
  '3D000': 'ENOENT', // invalid_catalog_name: no such database
};

/** Any error of the driver or the server as a StoreError. */
export function postgresError(err: unknown, context: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? SQLSTATE_ERRNO[code] : undefined;
  const message = `${context}: ${err instanceof Error ? err.message : String(err)}`;
  return new StoreError(errno ?? 'EIO', message, { cause: err });
}
