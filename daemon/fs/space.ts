/**
 * The space account of a filesystem's disk: the PageRoom every file's pager
 * promises room from when a page is first written (its data_unlock), so
 * that a full disk is ENOSPC at write() time, as the Hurd's ext2fs
 * allocates blocks in unlock_page, and not a lost write-back later.
 *
 * room = free bytes on the disk (statfs bavail) + bytes free inside the
 *        store (SQLite's freelist: a deleted row's pages are reused by later
 *        writes, the database file does not shrink)
 *      - what the store's bookkeeping may still grow by (the WAL up to its
 *        usual size)
 *      - the part of the reserve (reserve.ts) not held in its file now
 *      - bytes promised to pages not yet written
 *      - bytes written since the last statfs
 *
 * statfs is cheap but not free: the figures are refreshed at most every
 * REFRESH_MS, or after a quarter of the room has been used, and always
 * before a claim is refused (refusals are made on fresh figures only).
 */
import { statfs as statfsDisk } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { PagerError, type PageRoom } from '../pager/index.js';
import type { Reserve } from './reserve.js';

/** Refresh the disk's figures at least this often while pages are being claimed. */
export const REFRESH_MS = 1000;
/** A refusal waits for figures at most this old. */
const FRESH_MS = 20;
/** Refresh after this much was claimed or written, at the least. */
const MIN_REFRESH_BYTES = 256 * 1024;

export interface DiskFigures {
  /** Bytes of the disk. */
  total: number;
  /** Bytes free (for root). */
  free: number;
  /** Bytes free for anyone (statfs bavail). */
  available: number;
  /** The disk's block size. */
  blockSize: number;
}

export interface SpaceAccountOptions {
  /** A directory on the disk that holds the store. */
  dir: string;
  reserve: Reserve;
  /** Bytes of the disk a stored page takes (a SQLite row takes more than its data). Default 1. */
  costFactor?: number;
  /** Bytes free inside the store that writes reuse before growing it (SQLite's freelist). */
  inside?: () => number;
  /** Bytes the store's bookkeeping may still take from the disk (a WAL growing to its usual size). */
  overhead?: () => Promise<number>;
  /** The disk's figures (tests give their own). Default: statfs(2) of `dir`. */
  statfs?: (dir: string) => Promise<DiskFigures>;
  /** Milliseconds, monotonic (tests give their own). */
  now?: () => number;
  log?: (line: string) => void;
}

export interface SpaceFigures extends DiskFigures {
  /** What writes may still use (room); never below 0. */
  room: number;
  /** Bytes promised to pages not yet written. */
  promised: number;
  /** Bytes free inside the store (SQLite's freelist). */
  inside: number;
}

export class SpaceAccount implements PageRoom {
  private disk: DiskFigures = { total: 0, free: 0, available: 0, blockSize: 4096 };
  /** available + inside - overhead, at the last refresh. */
  private base = 0;
  private promisedBytes = 0;
  /** Bytes written (promises settled as stored) since the last refresh. */
  private written = 0;
  /** Bytes claimed or written since the last refresh. */
  private moved = 0;
  private refreshedAt = -Infinity;
  private inside = 0;
  private refreshing: Promise<void> | undefined;
  private readonly costFactor: number;
  private readonly now: () => number;
  private readonly statfs: (dir: string) => Promise<DiskFigures>;
  /** Claims refused (for statistics and tests). */
  refused = 0;
  /** Room being freed (files' data removed after their unlink): a claim waits for it before it is refused. */
  settling: (() => Promise<void> | undefined) | undefined;

  constructor(private readonly options: SpaceAccountOptions) {
    this.costFactor = options.costFactor ?? 1;
    this.now = options.now ?? (() => performance.now());
    this.statfs = options.statfs ?? diskFigures;
  }

  get promised(): number {
    return this.promisedBytes;
  }

  /** What writes may still use, by the figures at hand. */
  get room(): number {
    return this.base - this.written - this.promisedBytes - this.options.reserve.missing;
  }

  claim(bytes: number): Promise<void> | void {
    const cost = Math.ceil(bytes * this.costFactor);
    if (this.stale() || this.room < cost) return this.claimFresh(cost);
    this.take(cost);
  }

  release(bytes: number, stored: boolean): void {
    const cost = Math.ceil(bytes * this.costFactor);
    this.promisedBytes = Math.max(0, this.promisedBytes - cost);
    if (stored) {
      this.written += cost;
      this.moved += cost;
    }
  }

  /** Fresh figures for statfs(2) of the mount: what is available is the room, as ext4 leaves its reserved blocks out of bavail. */
  async figures(): Promise<SpaceFigures> {
    if (this.now() - this.refreshedAt > FRESH_MS) await this.refresh();
    return { ...this.disk, room: Math.max(0, this.room), promised: this.promisedBytes, inside: this.inside };
  }

  /** Read the disk's figures again (and make the reserve again if room has come back). One refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshNow().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshNow(): Promise<void> {
    const reserve = this.options.reserve;
    if (reserve.missing > 0) {
      await reserve.fill().catch((err: unknown) => this.options.log?.(`making the reserve ${reserve.path}: ${String(err)}`));
    }
    const disk = await this.statfs(this.options.dir);
    const overhead = (await this.options.overhead?.()) ?? 0;
    this.disk = disk;
    this.inside = this.options.inside?.() ?? 0;
    this.base = disk.available + this.inside - overhead;
    this.written = 0;
    this.moved = 0;
    this.refreshedAt = this.now();
  }

  private stale(): boolean {
    return this.now() - this.refreshedAt > REFRESH_MS || this.moved > Math.max(MIN_REFRESH_BYTES, this.base / 4);
  }

  private async claimFresh(cost: number): Promise<void> {
    if (this.stale() || this.now() - this.refreshedAt > FRESH_MS) await this.refresh();
    const settling = this.room < cost ? this.settling?.() : undefined;
    if (settling) {
      await settling;
      await this.refresh();
    }
    if (this.room < cost) {
      this.refused++;
      throw new PagerError('ENOSPC', `no room on the disk of ${this.options.dir} for ${cost} more bytes (${Math.max(0, this.room)} left)`);
    }
    this.take(cost);
  }

  private take(cost: number): void {
    this.promisedBytes += cost;
    this.moved += cost;
  }
}

async function diskFigures(dir: string): Promise<DiskFigures> {
  const s = await statfsDisk(dir);
  return { total: s.blocks * s.bsize, free: s.bfree * s.bsize, available: s.bavail * s.bsize, blockSize: s.bsize };
}
