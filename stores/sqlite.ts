/**
 * sqlite:PATH[#SPACE] — blocks as rows of a SQLite database (see
 * sqlite-connection.ts for the schema, the shared connection and
 * durability). A database holds many independent spaces, numbered from 0;
 * each has its own block size and size, kept in store_space so that the name
 * alone reopens it. A block never written, or written with zeros, has no row:
 * it is a hole.
 */
import { BaseStore } from './base.js';
import { checkBlockSize, checkStoreSize, unboundedSize } from './size.js';
import { StoreError, toStoreError, type OpenOptions } from './store.js';
import { diskClass } from './store-class.js';
import { acquireSqliteConnection, type SqliteConnection } from './sqlite-connection.js';

export const SQLITE_BLOCK_SIZE = 4096;

export interface SqliteStoreOptions extends OpenOptions {
  path: string;
  /** Default 0. */
  space?: number;
}

export class SqliteStore extends BaseStore {
  private constructor(
    /** Shared with every other store (and the catalog) in the same database. */
    readonly connection: SqliteConnection,
    readonly space: number,
    blockSize: number,
    size: number,
    flags: number,
  ) {
    super({ className: 'sqlite', name: sqliteName(connection.path, space), blockSize, size, flags });
  }

  /**
   * Open SPACE of the database at PATH. Without `create`, a missing database
   * or space is ENOENT. With it, a missing space is made with
   * options.blockSize (default 4096) and options.size (default: unbounded,
   * 2^53 rounded down to the block size). An existing space keeps its own
   * size and block size (a different options.blockSize is EINVAL).
   */
  static open(options: SqliteStoreOptions): Promise<SqliteStore> {
    try {
      return Promise.resolve(SqliteStore.openNow(options));
    } catch (err) {
      return Promise.reject(toStoreError(err));
    }
  }

  private static openNow(options: SqliteStoreOptions): SqliteStore {
    const space = options.space ?? 0;
    if (!Number.isSafeInteger(space) || space < 0) throw new StoreError('EINVAL', `space ${space} is not a non-negative integer`);
    const connection = acquireSqliteConnection(options.path, options);
    try {
      let record = connection.getSpace(space);
      if (record && options.blockSize !== undefined && options.blockSize !== record.blockSize) {
        const { blockSize } = record;
        throw new StoreError('EINVAL', `space ${space} of ${connection.path} has block size ${blockSize}, not ${options.blockSize}`);
      }
      if (!record) {
        if (!options.create) throw new StoreError('ENOENT', `no space ${space} in ${connection.path}`);
        const blockSize = checkBlockSize(options.blockSize ?? SQLITE_BLOCK_SIZE);
        record = { space, blockSize, size: checkStoreSize(options.size ?? unboundedSize(blockSize), blockSize) };
        connection.createSpace(record);
      }
      return new SqliteStore(connection, space, record.blockSize, record.size, options.flags ?? 0);
    } catch (err) {
      connection.release();
      throw err;
    }
  }

  /** Remove this space and all its blocks from the database, then close the store. */
  async destroy(): Promise<void> {
    if (this.isClosed) throw new StoreError('EBADF', `destroy of closed store ${this.name}`);
    const connection = this.connection.retain();
    try {
      await this.close();
      await connection.dropSpace(this.space);
    } finally {
      connection.release();
    }
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    await this.connection.readBlocksAsync(this.space, offset / this.blockSize, this.blockSize, into);
    return into.length;
  }

  protected override async backendWrite(offset: number, data: Buffer): Promise<number> {
    await this.connection.writeBlocks(this.space, offset / this.blockSize, this.blockSize, data);
    return data.length;
  }

  protected override backendSetSize(size: number): Promise<void> {
    return this.connection.resizeSpace(this.space, size, this.blockSize);
  }

  protected override backendSync(): Promise<void> {
    this.connection.sync();
    return Promise.resolve();
  }

  protected override backendIsHole(offset: number, length: number): Promise<boolean> {
    const first = offset / this.blockSize;
    return Promise.resolve(!this.connection.hasBlocks(this.space, first, first + length / this.blockSize));
  }

  protected override backendClose(): Promise<void> {
    this.connection.release();
    return Promise.resolve();
  }
}

/** The canonical name: the space is always written, so a path ending in "#5" stays unambiguous. */
export function sqliteName(path: string, space: number): string {
  return `sqlite:${path}#${space}`;
}

/** PATH[#SPACE]: the space is the digits after the last '#', if there are only digits there. */
export function parseSqliteName(rest: string): { path: string; space: number } {
  const m = /^(.*)#(\d+)$/s.exec(rest);
  const path = m ? m[1] : rest;
  const space = m ? Number(m[2]) : 0;
  if (path === '') throw new StoreError('EINVAL', 'sqlite: needs a database path');
  if (!Number.isSafeInteger(space)) throw new StoreError('EINVAL', `space ${m?.[2]} is too large`);
  return { path, space };
}

export const sqliteClass = diskClass({
  name: 'sqlite',
  syntax: 'sqlite:PATH[#SPACE]',
  summary: 'blocks as rows of a SQLite database; many spaces per database',
  open(rest, options) {
    return SqliteStore.open({ ...options, ...parseSqliteName(rest) });
  },
});
