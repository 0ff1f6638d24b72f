/**
 * The disk under a store: the reserve and space account made at mount, and
 * the statfs(2) figures a mount reports from them.
 */
import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DataStore } from './data-store.js';
import { toFsError } from './errors.js';
import { Reserve, reserveSize } from './reserve.js';
import { SpaceAccount } from './space.js';

export interface StatfsFigures {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
}

/**
 * statfs(2): the disk's figures, with what the account keeps back (the
 * reserve, pages promised and not yet written) left out of what is
 * available, and SQLite's free pages (a removed file's) counted as free.
 */
export async function storeStatfs(data: DataStore, pageSize: number, inodes: number, account: SpaceAccount | undefined): Promise<StatfsFigures> {
  if (data.kind === 'postgres') return remoteStatfs(pageSize, inodes);
  const host = await statfs(storeDir(data)).catch((err: unknown) => {
    throw toFsError(err);
  });
  const figures = account ? await account.figures() : undefined;
  const bavail = figures ? Math.min(host.blocks, Math.floor(figures.room / host.bsize)) : host.bavail;
  const inside = figures ? Math.floor(figures.inside / host.bsize) : 0;
  return {
    bsize: host.bsize,
    blocks: host.blocks,
    bfree: Math.min(host.blocks, Math.max(host.bfree + inside, bavail)),
    bavail,
    files: inodes + host.ffree,
    ffree: host.ffree,
  };
}

/**
 * statfs of a store on a server, whose disk this machine cannot see (as an
 * NFS client without the server's figures would): a large, fixed space,
 * all of it free; the inodes used are the catalog's.
 */
function remoteStatfs(pageSize: number, inodes: number): StatfsFigures {
  // libfuse 2 hands the figures to the kernel as 32-bit values in places: stay below 2^31.
  const blocks = Math.min(2 ** 31 - 1, Math.floor(2 ** 50 / pageSize));
  const files = 2 ** 31 - 1;
  return { bsize: pageSize, blocks, bfree: blocks, bavail: blocks, files, ffree: Math.max(0, files - inodes) };
}

/** The directory on the disk that holds the store: the SQLite file's, or the raw files' own. */
function storeDir(data: DataStore): string {
  return dirname(data.catalog.path);
}

/** SQLite checkpoints its WAL back into the database every 1000 pages (wal_autocheckpoint). */
const WAL_AUTOCHECKPOINT_PAGES = 1000;
/** A SQLite row of a page takes more than the page: its leaf cell and its key in the index. */
const SQLITE_ROW_COST = 1.15;

/**
 * The reserve (made now, as far as the disk has room) and the space account
 * of the disk that holds `data`. The reserve file lies beside the database
 * (DB-reserve). The account keeps back what the WAL may still grow by: up
 * to its checkpoint size, plus (page data in SQLite) one write-back of the
 * whole cache in one transaction.
 */
export async function openSpace(
  data: DataStore,
  cacheSize: number,
  log: ((line: string) => void) | undefined,
): Promise<{ reserve: Reserve; account: SpaceAccount }> {
  const say = log ?? ((line: string) => process.stderr.write(`machpager: ${line}\n`));
  const dir = storeDir(data);
  const disk = await statfs(dir);
  const reserve = new Reserve(`${data.catalog.path}-reserve`, reserveSize(disk.blocks * disk.bsize), say);
  await reserve.fill();
  const db = data.catalog.db;
  const dbPageSize = Number(db.pragma('page_size', { simple: true }));
  const walAllowance = WAL_AUTOCHECKPOINT_PAGES * dbPageSize + (data.kind === 'sqlite' ? cacheSize : 0);
  const wal = `${data.catalog.path}-wal`;
  const account = new SpaceAccount({
    dir,
    reserve,
    costFactor: data.kind === 'sqlite' ? SQLITE_ROW_COST : 1,
    inside: data.kind === 'sqlite' ? () => Number(db.pragma('freelist_count', { simple: true })) * dbPageSize : undefined,
    overhead: async () => Math.max(0, walAllowance - (await fileSize(wal))),
    log: say,
  });
  await account.refresh();
  return { reserve, account };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return 0;
    throw err;
  }
}
