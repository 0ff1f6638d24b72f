/**
 * postgres://USER@HOST/DB[#SPACE], postgres:///DB?host=/run/sock&user=NAME[#SPACE]
 * — blocks as rows of a PostgreSQL database (libpq's URI syntax with its
 * query parameters; see postgres-connection.ts for the schema, the shared
 * pool and durability). Like sqlite:, a database holds many independent
 * spaces, numbered from 0, each with its own block size and size; a block
 * never written, or written with zeros, has no row: it is a hole. Every
 * operation is asynchronous: nothing waits on the network with the event
 * loop held.
 */
import { BaseStore } from './base.js';
import { checkBlockSize, checkStoreSize, unboundedSize } from './size.js';
import { StoreError, toStoreError, type OpenOptions } from './store.js';
import { diskClass } from './store-class.js';
import { acquirePostgresConnection, type PostgresConnection } from './postgres-connection.js';

export const POSTGRES_BLOCK_SIZE = 4096;

export interface PostgresStoreOptions extends OpenOptions {
  /** The connection URI, 'postgres:' and all, without '#SPACE'. */
  uri: string;
  /** Default 0. */
  space?: number;
}

export class PostgresStore extends BaseStore {
  private constructor(
    /** Shared with every other store (and the catalog image) in the same database. */
    readonly connection: PostgresConnection,
    readonly space: number,
    blockSize: number,
    size: number,
    flags: number,
  ) {
    super({ className: 'postgres', name: postgresName(connection.uri, space), blockSize, size, flags });
  }

  /**
   * Open SPACE of the database at URI. Without `create`, a missing store or
   * space is ENOENT. With it, a missing space is made with
   * options.blockSize (default 4096) and options.size (default: unbounded).
   * An existing space keeps its own size and block size (a different
   * options.blockSize is EINVAL).
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const space = options.space ?? 0;
    if (!Number.isSafeInteger(space) || space < 0) throw new StoreError('EINVAL', `space ${space} is not a non-negative integer`);
    const connection = await acquirePostgresConnection(options.uri, options);
    try {
      let record = await connection.getSpace(space);
      if (record && options.blockSize !== undefined && options.blockSize !== record.blockSize) {
        throw new StoreError('EINVAL', `space ${space} of ${connection.uri} has block size ${record.blockSize}, not ${options.blockSize}`);
      }
      if (!record) {
        if (!options.create) throw new StoreError('ENOENT', `no space ${space} in ${connection.uri}`);
        const blockSize = checkBlockSize(options.blockSize ?? POSTGRES_BLOCK_SIZE);
        await connection.createSpace({ space, blockSize, size: checkStoreSize(options.size ?? unboundedSize(blockSize), blockSize) });
        // Another opener may have made it first, with its own figures: those hold.
        record = await connection.getSpace(space);
        if (!record) throw new StoreError('EIO', `space ${space} of ${connection.uri} vanished as it was made`);
      }
      return new PostgresStore(connection, space, record.blockSize, record.size, options.flags ?? 0);
    } catch (err) {
      await connection.release();
      throw toStoreError(err);
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
      await connection.release();
    }
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    await this.connection.readBlocks(this.space, offset / this.blockSize, this.blockSize, into);
    return into.length;
  }

  protected override async backendWrite(offset: number, data: Buffer): Promise<number> {
    await this.connection.writeBlocks(this.space, offset / this.blockSize, this.blockSize, data);
    return data.length;
  }

  protected override backendSetSize(size: number): Promise<void> {
    return this.connection.resizeSpace(this.space, size, this.blockSize);
  }

  /** Each write committed before it resolved (synchronous_commit=on): nothing is left to make durable. */
  protected override backendSync(): Promise<void> {
    return Promise.resolve();
  }

  protected override async backendIsHole(offset: number, length: number): Promise<boolean> {
    const first = offset / this.blockSize;
    return !(await this.connection.hasBlocks(this.space, first, first + length / this.blockSize));
  }

  protected override backendClose(): Promise<void> {
    return this.connection.release();
  }
}

/** The canonical name: the space is always written. */
export function postgresName(uri: string, space: number): string {
  return `${uri}#${space}`;
}

/**
 * REST is what follows 'postgres:' (or 'postgresql:'): '//user@host/db?…'
 * with an optional '#SPACE' (digits only; libpq URIs have no fragment).
 * Returns the URI as the pool takes it ('postgres:' in front) and the space.
 */
export function parsePostgresName(rest: string): { uri: string; space: number } {
  const m = /^(.*)#(\d+)$/s.exec(rest);
  const body = m ? (m[1] ?? '') : rest;
  const space = m ? Number(m[2]) : 0;
  if (!body.startsWith('//')) throw new StoreError('EINVAL', `postgres: takes a libpq URI, postgres://USER@HOST/DB or postgres:///DB?host=/run/sock, not postgres:${rest}`);
  if (body.includes('#')) throw new StoreError('EINVAL', `a '#' in postgres:${rest} is not followed by a space number`);
  if (!Number.isSafeInteger(space)) throw new StoreError('EINVAL', `space ${m?.[2]} is too large`);
  const path = /^\/\/[^/?]*\/([^?]*)/.exec(body)?.[1] ?? '';
  if (path === '' && !/[?&]dbname=/.test(body)) throw new StoreError('EINVAL', `postgres:${rest} names no database`);
  return { uri: `postgres:${body}`, space };
}

export const postgresClass = diskClass({
  name: 'postgres',
  aliases: ['postgresql'],
  syntax: 'postgres://USER@HOST/DB[#SPACE] | postgres:///DB?host=SOCKETDIR&user=NAME[#SPACE]',
  summary: 'blocks as rows of a PostgreSQL database; many spaces per database',
  open(rest, options) {
    return PostgresStore.open({ ...options, ...parsePostgresName(rest) });
  },
});
