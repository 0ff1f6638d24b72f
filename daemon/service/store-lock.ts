/**
 * One process serves a store at a time. Two daemons on one store would
 * each cache pages and write them back over the other's; the likeliest way
 * to get there is `fusermount -u mnt && machpager mount ... mnt`, where the
 * first daemon is still syncing when the second opens the store.
 *
 * The serving process holds a lock file beside the store's catalog
 * (`PATH.lock` for sqlite:PATH, `DIR/catalog.db.lock` for file:DIR),
 * created exclusively (O_EXCL), holding "PID STARTTIME" (the start time from
 * /proc/PID/stat tells a live holder from a reused pid). A lock whose holder
 * is gone (SIGKILL) is stale and taken over. A live holder is waited for,
 * bounded (it is usually finishing its sync), then the mount fails as busy.
 */
import { open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { CliError, errorCode, errorMessage } from '../cli/cli-error.js';
import { EXIT } from '../cli/exit-codes.js';
import type { StoreLocation } from '../cli/store-location.js';
import { reservePath, takeFromReserve } from '../fs/reserve.js';
import { fsStoreLayout } from '../../stores/fs-store.js';

export const LOCK_WAIT_MS = 15_000;

/** The lock file of a store. */
export function lockPath(store: StoreLocation): string {
  return fsStoreLayout(store).lock;
}

/** The lock's first page, taken from the reserve when the disk is full. */
const RESERVE_LOCK_BYTES = 64 * 1024;

/**
 * Write who holds the lock. On a full disk the store's reserve gives a
 * little back, so that the store can still be mounted and emptied.
 */
async function writeHolder(handle: FileHandle, me: string, store: StoreLocation): Promise<void> {
  try {
    await handle.writeFile(me);
  } catch (err) {
    if (errorCode(err) !== 'ENOSPC' || !(await takeFromReserve(reservePath(fsStoreLayout(store).catalog), RESERVE_LOCK_BYTES))) throw err;
    await handle.write(me, 0);
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined when there is no such process. */
async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 counted from 1; fields here start at field 3
  } catch {
    return undefined;
  }
}

interface Holder {
  readonly pid: number;
  readonly alive: boolean;
}

async function holder(file: string): Promise<Holder | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const [pidText, start] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, alive: false };
  const now = await startTime(pid);
  return { pid, alive: now !== undefined && (start === undefined || now === start) };
}

export interface StoreLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Take the store's lock for this process, waiting up to `waitMs` for a live
 * holder to let go. `log` hears about waiting and about stale locks.
 * Resolves undefined (no lock) for a read-only mount where the lock cannot
 * be created (a read-only directory): a read-only mount writes nothing.
 */
export async function lockStore(store: StoreLocation, options: { readOnly: boolean; waitMs?: number; log: (line: string) => void }): Promise<StoreLock | undefined> {
  const file = lockPath(store);
  const me = `${process.pid} ${(await startTime(process.pid)) ?? ''}\n`;
  const deadline = Date.now() + (options.waitMs ?? LOCK_WAIT_MS);
  let told = false;
  for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
    try {
      const handle = await open(file, 'wx', 0o644);
      try {
        await writeHolder(handle, me, store);
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        path: file,
        release: async () => {
          if (released) return;
          released = true;
          await unlink(file).catch((err: unknown) => {
            if (errorCode(err) !== 'ENOENT') options.log(`removing the lock ${file}: ${errorMessage(err)}`);
          });
        },
      };
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'EEXIST') {
        if (options.readOnly && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')) return undefined;
        throw new CliError(`store ${store.name}`, `cannot create its lock ${file} (${errorMessage(err)})`, code === 'EACCES' || code === 'EPERM' ? EXIT.NOPERM : EXIT.CANTCREAT);
      }
    }
    const h = await holder(file);
    if (h === undefined) continue; // let go just now
    if (!h.alive) {
      options.log(`taking over the lock of ${store.name} from pid ${h.pid}, which is gone`);
      await unlink(file).catch((err: unknown) => {
        if (errorCode(err) !== 'ENOENT') throw new CliError(`store ${store.name}`, `cannot remove the stale lock ${file} (${errorMessage(err)})`, EXIT.CANTCREAT);
      });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CliError(`store ${store.name}`, `in use by process ${h.pid} (if no machpager runs as pid ${h.pid}, remove ${file})`, EXIT.TEMPFAIL);
    }
    if (!told) {
      options.log(`waiting for process ${h.pid} to let go of ${store.name} (still syncing?)`);
      told = true;
    }
    await delay(wait);
  }
}

/**
 * `local` (if any) and the claim of a postgres: store's database
 * (stores/postgres-claim.ts: the lock file sees only this machine and this
 * spelling of the URI), let go of together; a refused claim lets go of
 * `local` and is EXIT.TEMPFAIL, busy. pg is loaded only here, for postgres:.
 */
export async function withDatabaseClaim(local: StoreLock | undefined, store: StoreLocation, mode: 'alone' | 'shared', log: (line: string) => void): Promise<StoreLock> {
  const { claimPostgres } = await import('../../stores/postgres-claim.js');
  let claim: Awaited<ReturnType<typeof claimPostgres>>;
  try {
    claim = await claimPostgres(store.path, mode, log);
  } catch (err) {
    await local?.release();
    throw new CliError(`store ${store.name}`, errorMessage(err), errorCode(err) === 'EBUSY' ? EXIT.TEMPFAIL : EXIT.UNAVAILABLE, { cause: err });
  }
  return {
    path: local?.path ?? store.path,
    release: async () => {
      await claim.release();
      await local?.release();
    },
  };
}
