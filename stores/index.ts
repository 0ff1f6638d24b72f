/**
 * libstore-style stores: what the rest of machpager may use. Open a store
 * from its typed name with openStore(); the pager needs only the Store
 * interface.
 */
import type { OpenOptions, Store } from './store.js';
import { openTypedStore } from './typed-name.js';

export * from './store.js';
export { errnoNumber, isErrnoCode, type ErrnoCode } from './errno.js';
export { BaseStore, type StoreInit } from './base.js';
export { childOptions, type OpenContext, type StoreClass } from './store-class.js';
export { registerStoreClass, storeClasses, findStoreClass, parseTypedName, checkOpenOptions, type ParsedName } from './typed-name.js';
export { parseSize, formatSize, unboundedSize } from './size.js';
export { MemoryStore, MEMORY_BLOCK_SIZE, type MemoryStoreOptions } from './memory.js';
export { ZeroStore, ZERO_BLOCK_SIZE } from './zero.js';
export { FileStore, FILE_BLOCK_SIZE, type FileStoreOptions } from './file.js';
export { SqliteStore, SQLITE_BLOCK_SIZE, sqliteName, parseSqliteName, type SqliteStoreOptions } from './sqlite.js';
export {
  acquireSqliteConnection,
  openSqliteDatabases,
  openSqliteImage,
  SqliteConnection,
  MACHPAGER_APPLICATION_ID,
  STORE_FORMAT_VERSION,
  SQLITE_BUSY_TIMEOUT_MS,
  sqliteError,
  type SpaceRecord,
  type SqliteConnectionStats,
} from './sqlite-connection.js';
export { SqliteCommitGroup, COMMIT_INTERVAL_MS, type CommitGroupStats, type CommitGroupOptions, type GroupDatabase } from './sqlite-commit-group.js';
export { PostgresStore, POSTGRES_BLOCK_SIZE, postgresName, parsePostgresName, type PostgresStoreOptions } from './postgres.js';
export {
  acquirePostgresConnection,
  PostgresConnection,
  POSTGRES_FORMAT_VERSION,
  postgresError,
  type CatalogRow,
  type PostgresSpaceRecord,
  type PostgresConnectionStats,
} from './postgres-connection.js';
export { PostgresCatalogImage, IMAGE_FLUSH_INTERVAL_MS, type CatalogImageStats } from './postgres-catalog-image.js';
export { WalSync } from './sqlite-wal-sync.js';
export { SqliteReader, READER_MIN_BYTES, type SqliteReaderOptions } from './sqlite-reader.js';
export { crc32, DAMAGED_CRC } from './crc32.js';
export { ChecksumStore, type ChecksumTable } from './checksum.js';
export { SqlitePageChecksums, dropPageChecksums, markPageDamaged, checksummedPages, checksummedFiles, lastChecksummedPage } from './sqlite-checksums.js';
export { CompositeStore, type Segment } from './composite.js';
export { ConcatStore } from './concat.js';
export { InterleaveStore } from './ileave.js';
export { RemapStore, parseRuns, parseRunSpecs, resolveRuns, formatRuns, HOLE_RUN, type Run, type RunSpec } from './remap.js';
export { CopyStore } from './copy.js';
export {
  FaultStore,
  FaultInjector,
  formatFaultRule,
  FS_FAULT_OPS,
  parseFaultSpec,
  type FaultOp,
  type FsFaultOp,
  type LatencyDist,
  type FaultedOp,
  type FaultOptions,
  type FaultRule,
  type FaultRuleSpec,
  type FaultStats,
  type FaultEvent,
} from './fault.js';
export { splitChildren, joinChildren } from './children.js';
export {
  parseFsStoreName,
  fsStoreName,
  fsStoreLayout,
  fileStoreLayout,
  fsStoreDataFile,
  sqliteFiles,
  FILE_STORE_CATALOG,
  FILE_STORE_DATA,
  type FsStoreKind,
  type FsStoreName,
  type FsStoreLayout,
  type FileStoreLayout,
} from './fs-store.js';

/** Open the store named by a typed name ('sqlite:/a.db#3', 'copy:file:/x', 'memory:64M', ...). */
export function openStore(name: string, options?: OpenOptions): Promise<Store> {
  return openTypedStore(name, options);
}
export { PostgresPeers, PEER_SLOTS, PEER_CHANNEL, type PeersOptions } from './postgres-peers.js';
export { claimPostgres, type ClaimMode, type DatabaseClaim } from './postgres-claim.js';
