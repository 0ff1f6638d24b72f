/**
 * Checks made before anything is opened or created: the mountpoint, the
 * store, FUSE itself. Each failure is one CliError with its exit code; none
 * of them changes anything stored. The one thing a preflight does change is
 * a stale mount at the mountpoint (left by a daemon that was killed), which
 * it cleans (fusermount -uz), as the next mount of any FUSE tool does; a
 * dry run only reports it.
 *
 * All file access here is asynchronous and bounded: a hung FUSE mount at
 * the mountpoint must not hang the check.
 */
import { constants } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { cleanStaleMount, findMount, readMountinfo, userAllowOther } from '../fs/fuse/mount-table.js';
import { withTimeout } from '../timeout.js';
import { CliError, errorCode, errorMessage } from '../cli/cli-error.js';
import type { CliDeps } from '../cli/deps.js';
import { EXIT } from '../cli/exit-codes.js';
import type { MountPlan } from '../cli/mount-plan.js';
import type { StoreLocation } from '../cli/store-location.js';
import { FILE_STORE_CATALOG, FILE_STORE_DATA, fileStoreLayout, sqliteFiles } from '../../stores/fs-store.js';

export interface Preflight {
  /** The mountpoint, absolute with its parent's symlinks resolved (what /proc/self/mountinfo shows). */
  readonly mountpoint: string;
  /** The store has data already (a file or catalog of more than 0 bytes). */
  readonly storeExists: boolean;
  /** What to pass as FilesystemConfig.create. */
  readonly create: boolean;
  /** For a new store: the paths that do not exist yet and that opening it may create, removed again if the mount fails. Empty for a store that exists (never delete beside one: a -wal file holds data). */
  readonly mayCreate: readonly string[];
  /** A stale mount was there (cleaned, or in a dry run: would be). */
  readonly staleMount: boolean;
}

const PROBE_MS = 5000;

function code(err: unknown): string {
  return errorCode(err) ?? 'EIO';
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if (code(err) === 'ENOENT') return false;
    throw err;
  }
}

// ---------------------------------------------------------------------------
// FUSE

function onPath(env: CliDeps['env'], names: readonly string[]): Promise<boolean> {
  const dirs = (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((d) => d !== '');
  const candidates = dirs.flatMap((d) => names.map((n) => path.join(d, n)));
  return Promise.all(candidates.map((c) => access(c, constants.X_OK).then(() => true, () => false))).then((found) => found.some(Boolean));
}

export async function checkFuse(deps: CliDeps): Promise<void> {
  try {
    await access('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch (err) {
    const why = code(err) === 'ENOENT' ? 'does not exist (load the module: modprobe fuse)' : `cannot be opened (${code(err)}; is this user allowed to use FUSE?)`;
    throw new CliError('FUSE: /dev/fuse', why, EXIT.UNAVAILABLE);
  }
  // Loaded here, when a mount is about to need it, not by importing this module.
  const { fuseBindingAvailable } = await import('../fs/fuse/binding.js');
  if (!fuseBindingAvailable()) throw new CliError('FUSE', 'the FUSE binding is not built (run: npm run build:fuse)', EXIT.UNAVAILABLE);
  if (!(await onPath(deps.env, ['fusermount', 'fusermount3']))) {
    throw new CliError('FUSE', 'fusermount is not installed (Debian: apt install fuse)', EXIT.UNAVAILABLE);
  }
}

// ---------------------------------------------------------------------------
// The mountpoint

/** The absolute mountpoint with its parent's symlinks resolved (the mountpoint itself may be a stale mount that cannot be resolved). */
async function resolveMountpoint(mountpoint: string): Promise<string> {
  const parent = path.dirname(mountpoint);
  if (parent === mountpoint) return mountpoint;
  try {
    return path.join(await realpath(parent), path.basename(mountpoint));
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw new CliError(mountpoint, `the mountpoint does not exist (make it with: mkdir -p ${mountpoint})`, EXIT.NOINPUT);
    throw new CliError(mountpoint, `cannot reach the mountpoint (${errorMessage(err)})`, EXIT.NOPERM);
  }
}

/** A live FUSE mount there is EBUSY; a stale one is cleaned (or, in a dry run, reported). */
async function checkExistingMount(mnt: string, dryRun: boolean): Promise<boolean> {
  if (!dryRun) {
    try {
      return await cleanStaleMount(mnt, { timeoutMs: PROBE_MS });
    } catch (err) {
      if (code(err) === 'EBUSY') throw new CliError(mnt, `the mountpoint is busy: ${errorMessage(err).replace(`${mnt} is `, '')}`, EXIT.TEMPFAIL);
      throw new CliError(mnt, `cannot clean the stale mount there (${errorMessage(err)}; try: fusermount -uz ${mnt})`, EXIT.TEMPFAIL);
    }
  }
  const entry = await findMount(mnt);
  if (!entry || !(entry.fstype === 'fuse' || entry.fstype.startsWith('fuse.') || entry.fstype === 'fuseblk')) return false;
  const probe = await withTimeout(
    stat(mnt).then(
      () => 'ok',
      (err: unknown) => code(err),
    ),
    PROBE_MS,
    () => new Error('hung'),
  ).catch(() => 'hung');
  if (probe === 'ENOTCONN' || probe === 'ECONNABORTED') return true;
  throw new CliError(mnt, `the mountpoint is busy: already a FUSE mount (${entry.fstype} from ${entry.source})`, EXIT.TEMPFAIL);
}

async function checkMountpoint(plan: MountPlan, deps: CliDeps): Promise<{ mountpoint: string; staleMount: boolean }> {
  const mnt = await resolveMountpoint(plan.mountpoint);
  const staleMount = await checkExistingMount(mnt, plan.dryRun);
  const probe = await withTimeout(
    stat(mnt).then(
      (st) => ({ st, err: undefined }),
      (err: unknown) => ({ st: undefined, err }),
    ),
    PROBE_MS,
    () => Object.assign(new Error('does not answer'), { code: 'ETIMEDOUT' }),
  ).catch((err: unknown) => ({ st: undefined, err }));
  const info = probe.st;
  if (probe.err !== undefined) {
    const c = code(probe.err);
    if (c === 'ENOENT') throw new CliError(mnt, `the mountpoint does not exist (make it with: mkdir -p ${mnt})`, EXIT.NOINPUT);
    if (c === 'EACCES') throw new CliError(mnt, 'permission denied on the mountpoint', EXIT.NOPERM);
    // A stale mount in a dry run cannot be looked into: it is reported, not cleaned.
    if (!(staleMount && plan.dryRun)) throw new CliError(mnt, `cannot use the mountpoint (${errorMessage(probe.err)})`, EXIT.UNAVAILABLE);
  }
  if (info !== undefined) {
    if (!info.isDirectory()) throw new CliError(mnt, 'the mountpoint is not a directory', EXIT.NOINPUT);
    if (!plan.nonempty) {
      let names: string[];
      try {
        names = await readdir(mnt);
      } catch (err) {
        throw new CliError(mnt, `cannot read the mountpoint (${errorMessage(err)})`, code(err) === 'EACCES' ? EXIT.NOPERM : EXIT.IOERR);
      }
      if (names.length > 0) throw new CliError(mnt, 'the mountpoint is not empty (use an empty directory, or -o nonempty to hide what is there)', EXIT.CANTCREAT);
    }
  }
  if (deps.uid !== 0) {
    try {
      await access(mnt, constants.W_OK);
    } catch {
      throw new CliError(mnt, 'no write permission on the mountpoint (fusermount needs it)', EXIT.NOPERM);
    }
    if (plan.fuse.allowOther && !(await userAllowOther(deps.fuseConfPath))) {
      throw new CliError('-o allow_other', `needs 'user_allow_other' in ${deps.fuseConfPath} for a user other than root (add that line as root, or mount without allow_other)`, EXIT.CONFIG);
    }
    if (plan.fuse.allowRoot && !(await userAllowOther(deps.fuseConfPath))) {
      throw new CliError('-o allow_root', `needs 'user_allow_other' in ${deps.fuseConfPath} for a user other than root (add that line as root, or mount without allow_root)`, EXIT.CONFIG);
    }
  }
  return { mountpoint: mnt, staleMount };
}

// ---------------------------------------------------------------------------
// The store

async function checkAccess(p: string, mode: number, what: string): Promise<void> {
  try {
    await access(p, mode);
  } catch {
    throw new CliError(what, `permission denied (${mode & constants.W_OK ? 'it must be readable and writable' : 'it must be readable'}: ${p})`, EXIT.NOPERM);
  }
}

/** A store that does not exist yet: can it be created? */
async function checkCreatable(store: StoreLocation, readOnly: boolean): Promise<void> {
  const what = `store ${store.name}`;
  if (readOnly) throw new CliError(what, 'does not exist (a read-only mount creates nothing)', EXIT.NOINPUT);
  if (store.isDefault) return; // its directory is made (mkdir -p) when the mount starts
  const parent = path.dirname(store.path);
  let info;
  try {
    info = await stat(parent);
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw new CliError(what, `the directory ${parent} does not exist`, EXIT.NOINPUT);
    throw new CliError(what, `cannot reach ${parent} (${errorMessage(err)})`, EXIT.NOPERM);
  }
  if (!info.isDirectory()) throw new CliError(what, `${parent} is not a directory`, EXIT.NOINPUT);
  try {
    await access(parent, constants.W_OK);
  } catch {
    throw new CliError(what, `cannot create it: no write permission in ${parent}`, EXIT.CANTCREAT);
  }
}

async function checkStore(plan: MountPlan): Promise<Pick<Preflight, 'storeExists' | 'create' | 'mayCreate'>> {
  const { store, readOnly } = plan;
  const what = `store ${store.name}`;
  const mode = readOnly ? constants.R_OK : constants.R_OK | constants.W_OK;
  const missing = async (paths: readonly string[]): Promise<string[]> => {
    const there = await Promise.all(paths.map(exists));
    return paths.filter((_, i) => !there[i]);
  };

  // The database is checked when the daemon opens it (a foreign one refused then, with nothing written); an empty one becomes a store.
  if (store.kind === 'postgres') return { storeExists: true, create: !readOnly, mayCreate: [] };

  let info;
  try {
    info = await stat(store.path);
  } catch (err) {
    if (code(err) === 'EACCES') throw new CliError(what, `permission denied on ${path.dirname(store.path)}`, EXIT.NOPERM);
    if (code(err) === 'ENOTDIR') throw new CliError(what, `a component of ${store.path} is not a directory`, EXIT.NOINPUT);
    if (code(err) !== 'ENOENT') throw new CliError(what, errorMessage(err), EXIT.IOERR);
  }

  if (store.kind === 'sqlite') {
    if (info === undefined) {
      await checkCreatable(store, readOnly);
      return { storeExists: false, create: true, mayCreate: await missing(sqliteFiles(store.path)) };
    }
    if (info.isDirectory()) throw new CliError(what, `${store.path} is a directory, not a SQLite file (a directory store is written file:${store.path})`, EXIT.DATAERR);
    if (!info.isFile()) throw new CliError(what, `${store.path} is not a regular file`, EXIT.DATAERR);
    await checkAccess(store.path, mode, what);
    if (info.size === 0 && !readOnly) {
      // An empty file (touch x.db) becomes a new store.
      await checkAccess(path.dirname(store.path), constants.W_OK, what);
      return { storeExists: false, create: true, mayCreate: await missing(sqliteFiles(store.path)) };
    }
    return { storeExists: true, create: false, mayCreate: [] };
  }

  // file:DIR
  const layout = fileStoreLayout(store.path);
  const catalog = layout.catalog;
  if (info === undefined) {
    await checkCreatable(store, readOnly);
    return { storeExists: false, create: true, mayCreate: [store.path] };
  }
  if (!info.isDirectory()) throw new CliError(what, `${store.path} is not a directory (a file:DIR store is a directory; a SQLite file is written sqlite:PATH)`, EXIT.DATAERR);
  await checkAccess(store.path, mode | constants.X_OK, what);
  const catalogInfo = await stat(catalog).catch(() => undefined);
  if (catalogInfo !== undefined && catalogInfo.size > 0) {
    await checkAccess(catalog, mode, what);
    return { storeExists: true, create: false, mayCreate: [] };
  }
  const names = await readdir(store.path);
  const own = [...sqliteFiles(FILE_STORE_CATALOG), FILE_STORE_DATA, path.basename(layout.lock)];
  const foreign = names.filter((n) => !own.includes(n));
  if (foreign.length > 0 || names.includes(FILE_STORE_DATA)) {
    throw new CliError(what, `${store.path} is a directory with other files and no machpager catalog (catalog.db); use a new or empty directory`, EXIT.DATAERR);
  }
  if (readOnly) throw new CliError(what, `${store.path} holds no store yet (a read-only mount creates nothing)`, EXIT.NOINPUT);
  return { storeExists: false, create: true, mayCreate: await missing([...sqliteFiles(catalog), layout.data]) };
}

/** The store is not already mounted somewhere (its name is the mount's source: fsname). */
async function checkNotMounted(store: StoreLocation, mountpoint: string): Promise<void> {
  const entries = await readMountinfo().catch(() => []);
  const mounted = entries.find((e) => (e.fstype === 'fuse.machpager' || e.fstype === 'fuse') && e.source === store.name && e.mountPoint !== mountpoint);
  if (mounted) throw new CliError(`store ${store.name}`, `in use: already mounted on ${mounted.mountPoint}`, EXIT.TEMPFAIL);
}

/**
 * The store does not lie under its own mountpoint: the mount would hide it, and the daemon's
 * calls on the store (synchronous ones among them) would come back to the daemon through FUSE.
 */
function checkNotUnder(store: StoreLocation, mountpoint: string): void {
  if (store.kind === 'postgres') return;
  const inside = path.relative(mountpoint, path.resolve(store.path));
  if (inside === '' || (!inside.startsWith('..') && !path.isAbsolute(inside)))
    throw new CliError(`store ${store.name}`, `lies under the mountpoint ${mountpoint}: the mount would hide it (put the store outside it)`, EXIT.USAGE);
}

/** Every check, in order: mountpoint, store, FUSE. */
export async function preflight(plan: MountPlan, deps: CliDeps): Promise<Preflight> {
  const { mountpoint, staleMount } = await checkMountpoint(plan, deps);
  checkNotUnder(plan.store, mountpoint);
  // Coherent mounts share their store by design (the database keeps the table of them).
  if (!plan.coherent) await checkNotMounted(plan.store, mountpoint);
  const store = await checkStore(plan);
  await checkFuse(deps);
  return { mountpoint, staleMount, ...store };
}
