/**
 * Where file contents live, chosen by the filesystem's typed store name:
 * - `sqlite:PATH`: in the SQLite database itself, one store space per inode
 *   (space number = inode number), sharing the catalog's connection;
 * - `file:DIR`: one sparse raw file per inode (DIR/data/<ino>) through the
 *   `file` store class, the catalog beside them in DIR/catalog.db;
 * - `postgres://...`: in a PostgreSQL database, one store space per inode
 *   (the `postgres` store class); the catalog is an image in memory of the
 *   database's catalog rows, loaded at open and written back asynchronously,
 *   durable at syncCatalog (stores/postgres-catalog-image.ts).
 *
 * Checksums: SQLite block rows carry their own CRC (the SQLite store checks
 * it); a raw file has no room for one, so its store is wrapped in a
 * ChecksumStore that keeps each page's CRC in the catalog (page_crc, keyed
 * by inode and page). Either way a page-in of damaged data fails with EIO.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import {
  acquireSqliteConnection,
  acquirePostgresConnection,
  PostgresCatalogImage,
  PostgresStore,
  type PostgresConnection,
  fileStoreLayout,
  fsStoreDataFile,
  parseFsStoreName,
  fsStoreName,
  type FsStoreName,
  ChecksumStore,
  checksummedFiles,
  checksummedPages,
  lastChecksummedPage,
  dropPageChecksums,
  FileStore,
  markPageDamaged,
  SqlitePageChecksums,
  MAX_STORE_SIZE,
  SqliteStore,
  STORE_READONLY,
  ZeroStore,
  StoreError,
  type SqliteConnection,
  type Store,
} from '../../stores/index.js';

export type DataStoreKind = 'sqlite' | 'file' | 'postgres';

export interface DataStore {
  readonly kind: DataStoreKind;
  /** The typed name of the whole filesystem store. */
  readonly name: string;
  /** The connection the catalog uses. */
  readonly catalog: SqliteConnection;
  /** Whether `open` must grow a raw file as data is written past its end. */
  readonly grows: boolean;
  /** The store for one inode's data (made if missing; with readOnly, read-only and never made: a missing one reads as zeros). */
  open(ino: number, options?: { readOnly?: boolean }): Promise<Store>;
  /** Remove one inode's data for good (the store must be closed). */
  destroy(ino: number): Promise<void>;
  /** Inode numbers that have data (or page checksums) in the store (for consistency checks). */
  inodesWithData(): Promise<number[]>;
  /** Byte offsets of the pages of `ino` that hold stored data or a checksum, in order (fsck reads them all). */
  storedPages(ino: number): Promise<number[]>;
  /**
   * One past the last byte of `ino`'s stored data or checksums, a whole
   * number of pages (0: none): what mount recovery compares with the
   * file's size. An index lookup, never a scan of the pages.
   */
  storedEnd(ino: number): Promise<number>;
  /** Mark the page of `ino` at `offset` damaged: its reads give EIO until it is written again (fsck --repair). */
  markDamaged(ino: number, offset: number): Promise<void>;
  /** The file that holds `ino`'s page data (the database, or its raw file): where a stuck store read waits. */
  dataPath(ino: number): string;
  /** Make the catalog durable (stores sync themselves): at once for SQLite, over the network for PostgreSQL. */
  syncCatalog(): Promise<void>;
  /** Let go of the catalog (a postgres: store writes its last catalog changes first: rejects if it cannot). */
  close(): Promise<void>;
  /** A catalog other mounts share (postgres:): how their changes reach this one (coherence). */
  readonly shared?: SharedCatalog;
}

/** Key of one catalog row (its table and the JSON of its primary key). */
export interface CatalogKey {
  tbl: string;
  key: string;
}

export interface SharedCatalog {
  /** The database's URI (where the mounts meet). */
  readonly uri: string;
  /** Called with the keys of each flush of this mount's changes, once committed. */
  onFlushed(handler: (keys: CatalogKey[]) => void): void;
  /** Read the rows of `keys` (undefined: every row) from the database into the catalog; returns the keys that changed here. */
  refresh(keys: readonly CatalogKey[] | undefined): Promise<CatalogKey[]>;
}

/** Read-only: a file that never had data has no store; it reads as zeros (`size` of them: default, as many as can be). */
async function orZeros(opening: Promise<Store>, size = MAX_STORE_SIZE - (MAX_STORE_SIZE % 4096)): Promise<Store> {
  try {
    return await opening;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    return new ZeroStore({ size, blockSize: 512, flags: STORE_READONLY });
  }
}

export async function openDataStore(name: string, options: { create: boolean; pageSize: number; readOnly: boolean; catalogFlushMs?: number }): Promise<DataStore> {
  const parsed = parseFsStoreName(name);
  if (parsed.kind === 'postgres') return PostgresDataStore.open(parsed.path, options);
  if (parsed.kind === 'sqlite') {
    const catalog = acquireSqliteConnection(parsed.path, { create: options.create, readOnly: options.readOnly });
    return new SqliteDataStore(parsed.path, catalog, options.pageSize, options.readOnly);
  }
  const dir = parsed.path;
  const layout = fileStoreLayout(dir);
  const info = await stat(dir).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'ENOENT' && options.create) return undefined;
    throw err;
  });
  if (info && !info.isDirectory()) throw new StoreError('ENOTDIR', `${dir} is not a directory (file:DIR keeps raw files in a directory)`);
  if (!info) await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!options.readOnly) await mkdir(layout.data, { recursive: true, mode: 0o700 });
  const catalog = acquireSqliteConnection(layout.catalog, { create: options.create, readOnly: options.readOnly });
  return new FileDataStore(dir, layout.data, catalog, options.pageSize, options.readOnly);
}

/** What both kinds share: the typed name, and the catalog's connection (synced and released here). */
abstract class CatalogDataStore {
  readonly name: string;

  protected constructor(
    store: FsStoreName,
    readonly catalog: SqliteConnection,
    protected readonly pageSize: number,
    protected readonly readOnly: boolean,
  ) {
    this.name = fsStoreName(store);
  }

  syncCatalog(): Promise<void> {
    this.catalog.sync();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.catalog.release();
    return Promise.resolve();
  }
}

class SqliteDataStore extends CatalogDataStore implements DataStore {
  readonly kind = 'sqlite';
  readonly grows = false;

  constructor(
    readonly path: string,
    catalog: SqliteConnection,
    pageSize: number,
    readOnly: boolean,
  ) {
    super({ kind: 'sqlite', path }, catalog, pageSize, readOnly);
  }

  dataPath(): string {
    return this.path;
  }

  open(ino: number, options: { readOnly?: boolean } = {}): Promise<Store> {
    if (this.readOnly || options.readOnly === true) {
      return orZeros(SqliteStore.open({ path: this.path, space: ino, flags: STORE_READONLY }));
    }
    return SqliteStore.open({ path: this.path, space: ino, create: true, blockSize: this.pageSize });
  }

  async destroy(ino: number): Promise<void> {
    await this.catalog.dropSpace(ino);
  }

  inodesWithData(): Promise<number[]> {
    return Promise.resolve(this.catalog.listSpaces().map((s) => s.space));
  }

  storedPages(ino: number): Promise<number[]> {
    const space = this.catalog.getSpace(ino);
    if (!space) return Promise.resolve([]);
    return Promise.resolve(this.catalog.blockNumbers(ino).map((block) => block * space.blockSize));
  }

  storedEnd(ino: number): Promise<number> {
    const space = this.catalog.getSpace(ino);
    const last = space ? this.catalog.lastBlock(ino) : undefined;
    return Promise.resolve(space && last !== undefined ? (last + 1) * space.blockSize : 0);
  }

  async markDamaged(ino: number, offset: number): Promise<void> {
    const space = this.catalog.getSpace(ino);
    if (!space) throw new StoreError('ENOENT', `no data for inode ${ino} in ${this.name}`);
    await this.catalog.markBlockDamaged(ino, Math.floor(offset / space.blockSize));
  }
}

class FileDataStore extends CatalogDataStore implements DataStore {
  readonly kind = 'file';
  readonly grows = true;

  constructor(
    readonly dir: string,
    /** DIR/data: the raw files, one per inode. */
    private readonly data: string,
    catalog: SqliteConnection,
    pageSize: number,
    readOnly: boolean,
  ) {
    super({ kind: 'file', path: dir }, catalog, pageSize, readOnly);
  }

  private pathOf(ino: number): string {
    return fsStoreDataFile(this.data, ino);
  }

  dataPath(ino: number): string {
    return this.pathOf(ino);
  }

  async open(ino: number, options: { readOnly?: boolean } = {}): Promise<Store> {
    // Read-only, a missing data file is an empty one: pages with a recorded CRC are then missing (EIO), the rest zeros.
    const raw = this.readOnly || options.readOnly === true
      ? await orZeros(FileStore.open({ path: this.pathOf(ino), blockSize: 512, flags: STORE_READONLY }), 0)
      : await FileStore.open({ path: this.pathOf(ino), create: true, size: 0, blockSize: 512 });
    try {
      return new ChecksumStore(raw, new SqlitePageChecksums(this.catalog, ino), this.pageSize);
    } catch (err) {
      await raw.close();
      throw err;
    }
  }

  async destroy(ino: number): Promise<void> {
    await dropPageChecksums(this.catalog, ino);
    await rm(this.pathOf(ino), { force: true });
  }

  async inodesWithData(): Promise<number[]> {
    const names = await readdir(this.data).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'ENOENT') return [] as string[];
      throw err;
    });
    const inos = new Set(names.filter((n) => /^\d+$/.test(n)).map(Number));
    for (const ino of checksummedFiles(this.catalog)) inos.add(ino);
    return [...inos].sort((a, b) => a - b);
  }

  /** The length of `ino`'s data file (0 when it has none). */
  private async fileLength(ino: number): Promise<number> {
    try {
      return (await stat(this.pathOf(ino))).size;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return 0;
      throw err;
    }
  }

  async storedPages(ino: number): Promise<number[]> {
    const size = await this.fileLength(ino);
    const pages = new Set<number>();
    for (let page = 0; page * this.pageSize < size; page++) pages.add(page);
    for (const page of checksummedPages(this.catalog, ino)) pages.add(page);
    return [...pages].sort((a, b) => a - b).map((page) => page * this.pageSize);
  }

  async storedEnd(ino: number): Promise<number> {
    const last = lastChecksummedPage(this.catalog, ino);
    const pages = Math.max(Math.ceil((await this.fileLength(ino)) / this.pageSize), last === undefined ? 0 : last + 1);
    return pages * this.pageSize;
  }

  async markDamaged(ino: number, offset: number): Promise<void> {
    await markPageDamaged(this.catalog, ino, Math.floor(offset / this.pageSize));
  }
}

/**
 * postgres://...: page data in the database's store_block (space = inode),
 * the catalog an image in memory (its SQLite connection is `catalog`) whose
 * changes syncCatalog() writes to the database and waits for.
 */
class PostgresDataStore implements DataStore {
  readonly kind = 'postgres';
  readonly grows = false;

  private constructor(
    readonly name: string,
    private readonly connection: PostgresConnection,
    private readonly image: PostgresCatalogImage,
    private readonly pageSize: number,
    private readonly readOnly: boolean,
  ) {}

  static async open(uri: string, options: { create: boolean; pageSize: number; readOnly: boolean; catalogFlushMs?: number }): Promise<PostgresDataStore> {
    const connection = await acquirePostgresConnection(uri, { create: options.create, readOnly: options.readOnly });
    try {
      const image = await PostgresCatalogImage.load(connection, {
        readOnly: options.readOnly,
        ...(options.catalogFlushMs === undefined ? {} : { flushIntervalMs: options.catalogFlushMs }),
      });
      return new PostgresDataStore(uri, connection, image, options.pageSize, options.readOnly);
    } catch (err) {
      await connection.release();
      throw err;
    }
  }

  get catalog(): SqliteConnection {
    return this.image.sqlite;
  }

  get shared(): SharedCatalog {
    const image = this.image;
    const connection = this.connection;
    return {
      uri: this.name,
      onFlushed: (handler) => {
        image.onFlushed = handler;
      },
      refresh: async (keys) => {
        const rows = keys ? await connection.catalogRowsOf(keys) : await connection.catalogRows();
        const all = keys ?? [...new Map([...image.allKeys(), ...rows].map((k) => [`${k.tbl}\0${k.key}`, { tbl: k.tbl, key: k.key }])).values()];
        return image.applyRemote(rows, all);
      },
    };
  }

  dataPath(): string {
    return this.name;
  }

  open(ino: number, options: { readOnly?: boolean } = {}): Promise<Store> {
    if (this.readOnly || options.readOnly === true) return orZeros(PostgresStore.open({ uri: this.name, space: ino, flags: STORE_READONLY }));
    return PostgresStore.open({ uri: this.name, space: ino, create: true, blockSize: this.pageSize });
  }

  /**
   * The catalog first: its image no longer names the inode, and once that is
   * in the database a crash cannot bring the inode back without its data.
   */
  async destroy(ino: number): Promise<void> {
    if (!this.readOnly) await this.image.flush();
    await this.connection.dropSpace(ino);
  }

  async inodesWithData(): Promise<number[]> {
    return (await this.connection.listSpaces()).map((s) => s.space);
  }

  async storedPages(ino: number): Promise<number[]> {
    const space = await this.connection.getSpace(ino);
    if (!space) return [];
    return (await this.connection.blockNumbers(ino)).map((block) => block * space.blockSize);
  }

  async storedEnd(ino: number): Promise<number> {
    const space = await this.connection.getSpace(ino);
    const last = space ? await this.connection.lastBlock(ino) : undefined;
    return space && last !== undefined ? (last + 1) * space.blockSize : 0;
  }

  async markDamaged(ino: number, offset: number): Promise<void> {
    const space = await this.connection.getSpace(ino);
    if (!space) throw new StoreError('ENOENT', `no data for inode ${ino} in ${this.name}`);
    await this.connection.markBlockDamaged(ino, Math.floor(offset / space.blockSize));
  }

  syncCatalog(): Promise<void> {
    return this.image.flush();
  }

  async close(): Promise<void> {
    try {
      await this.image.close();
    } finally {
      await this.connection.release();
    }
  }
}
