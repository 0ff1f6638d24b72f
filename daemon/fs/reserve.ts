/**
 * The reserve: a file of zeros beside the store (as ext4's reserved blocks,
 * btrfs's global reserve), so that a full disk can always be emptied.
 * Removing data needs room too: SQLite writes to its WAL even to delete a
 * row. When a change that frees space (unlink, rmdir, rename over a file,
 * truncate) fails with ENOSPC, the reserve file is emptied and the change
 * tried once more; the reserve is made again when room comes back (at the
 * next refresh of the space account, space.ts). Data writes never count the
 * reserve as room, so it is there again before they get any.
 */
import { ftruncateSync, openSync, closeSync } from 'node:fs';
import { open, statfs } from 'node:fs/promises';

const MiB = 1024 * 1024;
/** Bounds of the reserve: 2% of the disk, at least 1 MiB, at most 64 MiB. */
export const RESERVE_MIN = MiB;
export const RESERVE_MAX = 64 * MiB;
const RESERVE_SHARE = 0.02;
const CHUNK = 256 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** The reserve for a disk of `totalBytes`. */
export function reserveSize(totalBytes: number): number {
  const size = Math.min(RESERVE_MAX, Math.max(RESERVE_MIN, Math.floor(totalBytes * RESERVE_SHARE)));
  return size - (size % CHUNK);
}

/** A full disk, whichever layer said so: ENOSPC (store, FsError, Node) or SQLITE_FULL (the catalog). */
export function isNoSpace(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  return code === 'ENOSPC' || (typeof code === 'string' && code.startsWith('SQLITE_FULL')) || errno === 28 || errno === -28;
}

export class Reserve {
  /** Bytes of zeros in the file now. */
  private heldBytes = 0;
  /** Bumped by every release: a fill running meanwhile stops. */
  private generation = 0;
  private filling: Promise<void> | undefined;
  /** Releases so far (for statistics and tests). */
  releases = 0;

  constructor(
    readonly path: string,
    /** Bytes the reserve should hold. */
    readonly target: number,
    private readonly log: (line: string) => void,
  ) {}

  get held(): number {
    return this.heldBytes;
  }

  /** Bytes the reserve lacks: room that data writes must leave free until it is made again. */
  get missing(): number {
    return this.target - this.heldBytes;
  }

  /**
   * Make the reserve up to its target (written and fsynced: a delayed
   * allocation would not hold the room). Stops quietly at ENOSPC: the rest
   * is made at a later call, when room has come back.
   */
  fill(): Promise<void> {
    this.filling ??= this.fillNow().finally(() => (this.filling = undefined));
    return this.filling;
  }

  private async fillNow(): Promise<void> {
    const generation = this.generation;
    const file = await open(this.path, 'a+');
    try {
      // What is there already (from an earlier mount) counts.
      const { size } = await file.stat();
      if (generation !== this.generation) return;
      if (size > this.target) await file.truncate(this.target);
      this.heldBytes = Math.min(size, this.target);
      if (this.missing === 0) return;
      // Made again only when the disk has room for what is missing twice over: refilling must not
      // make the disk full again (SQLite's deletes free pages inside the database, not on the disk).
      const disk = await statfs(this.path);
      if (disk.bavail * disk.bsize < 2 * this.missing) return;
      let at = this.heldBytes - (this.heldBytes % CHUNK);
      try {
        while (at < this.target && generation === this.generation) {
          await file.write(ZEROS, 0, Math.min(CHUNK, this.target - at), at);
          at += CHUNK;
          await file.datasync();
          if (generation === this.generation) this.heldBytes = Math.min(at, this.target);
        }
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        // Whatever did not reach the disk does not count.
        await file.truncate(this.heldBytes);
      }
      // Released while we wrote: the file must be empty again.
      if (generation !== this.generation) await file.truncate(0);
    } finally {
      await file.close();
    }
  }

  /** Empty the reserve now (synchronously: the catalog's changes are). Returns the bytes freed. */
  releaseNow(): number {
    this.generation++;
    const freed = this.heldBytes;
    const fd = openSync(this.path, 'r+');
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
    this.heldBytes = 0;
    this.releases++;
    this.log(`the disk is full: released the reserve (${freed} bytes) to free space`);
    return freed;
  }

  /**
   * Run a change that frees space; if it fails for want of space, release
   * the reserve and run it once more (a failed catalog change was rolled
   * back, so running it again is safe).
   */
  freeingSync<T>(change: () => T): T {
    try {
      return change();
    } catch (err) {
      if (!isNoSpace(err) || this.heldBytes === 0) throw err;
    }
    this.releaseNow();
    return change();
  }

  /** freeingSync for a change that runs asynchronously. */
  async freeing<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (!isNoSpace(err) || this.heldBytes === 0) throw err;
    }
    this.releaseNow();
    return change();
  }
}

/** The reserve file of the store whose catalog is the SQLite database `catalogPath`: beside it. */
export function reservePath(catalogPath: string): string {
  return `${catalogPath}-reserve`;
}

/**
 * Give `bytes` of the reserve at `path` back to the disk before the
 * filesystem is open (the store's lock file on a full disk). False when the
 * reserve has nothing left to give; the filesystem makes it again later.
 */
export async function takeFromReserve(path: string, bytes: number): Promise<boolean> {
  const file = await open(path, 'r+').catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  });
  if (!file) return false;
  try {
    const { size } = await file.stat();
    if (size === 0) return false;
    await file.truncate(Math.max(0, size - bytes));
    return true;
  } finally {
    await file.close();
  }
}
