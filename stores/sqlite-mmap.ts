/**
 * SQLite's memory-mapped reads (PRAGMA mmap_size) for a store's database.
 *
 * A 4 KiB block in a 4 KiB database page is a leaf cell and an overflow
 * page: two 4 KiB pread calls per block, each a system call and a copy into
 * SQLite's page cache. Mapped, SQLite reads both pages in place: a cold
 * sequential read of 256 MiB went from about 150 to 220 MB/s
 * (docs/performance.md, "Cold sequential reads: mapped database pages").
 * Only reads are mapped (this build has no SQLITE_MMAP_READWRITE): writes,
 * the WAL and checkpoints use write() as before.
 *
 * The cost: the mapped pages a read touched count in the daemon's RSS (file
 * pages the OS can drop, not anonymous memory), at most the mapping's size;
 * and a disk error while reading mapped pages is SIGBUS (the daemon dies,
 * the WAL keeps what was committed) where pread gave SQLITE_IOERR (EIO to
 * the reader). That second cost breaks the failure contract (a failing disk
 * is EIO to the program that reads, and everything else on the mount goes
 * on, unsynced pages of other files included), so mapping is opt-in:
 * MACHPAGER_SQLITE_MMAP=BYTES maps that much; unset or 0, none.
 */
import { StoreError } from './store.js';

/** The default mapping: none (opt-in, see above). 1 GiB is what the figures were measured with. */
export const DEFAULT_MMAP_BYTES = 0;

/** The mapping size MACHPAGER_SQLITE_MMAP asks for (bytes, 0: none), or the default. */
export function mmapBytes(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.MACHPAGER_SQLITE_MMAP?.trim();
  if (value === undefined || value === '') return DEFAULT_MMAP_BYTES;
  const bytes = Number(value);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new StoreError('EINVAL', `MACHPAGER_SQLITE_MMAP: not a size in bytes: ${value}`);
  return bytes;
}

/** What this needs of a connection (better-sqlite3's Database; only sqlite-schema.ts imports the driver). */
interface PragmaConnection {
  pragma(source: string): unknown;
}

/** Map up to `bytes` of `db`'s file for reads. */
export function mapDatabase(db: PragmaConnection, bytes: number = mmapBytes()): void {
  db.pragma(`mmap_size = ${bytes}`);
}
