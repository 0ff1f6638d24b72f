/**
 * The mount table: which mounts exist (/proc/self/mountinfo), unmounting
 * with fusermount, cleaning a stale FUSE mount, and whether
 * /etc/fuse.conf lets a user other than root use allow_other. Loads no FUSE
 * binding: the CLI, the control client and the bench use these without
 * mounting anything.
 *
 * Every wait here is bounded: a hung FUSE mount must not hang the caller.
 */
import { execFile } from 'node:child_process';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { withTimeout } from '../../timeout.js';
import { FsError } from '../errors.js';

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  readonly mountPoint: string;
  readonly options: string;
  readonly fstype: string;
  readonly source: string;
  readonly superOptions: string;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse /proc/self/mountinfo text. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: unescapeMountinfo(fields[4] ?? ''),
      options: fields[5] ?? '',
      fstype: fields[dash + 1] ?? '',
      source: unescapeMountinfo(fields[dash + 2] ?? ''),
      superOptions: fields[dash + 3] ?? '',
    });
  }
  return entries;
}

export async function readMountinfo(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The topmost mount at `mountpoint` (an absolute, resolved path), if any. */
export async function findMount(mountpoint: string): Promise<MountEntry | undefined> {
  const entries = await readMountinfo();
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e?.mountPoint === mountpoint) return e;
  }
  return undefined;
}

/** Whether `e` is a FUSE mount (fuse, fuse.<subtype>, fuseblk). */
export function isFuse(e: MountEntry): boolean {
  return e.fstype === 'fuse' || e.fstype.startsWith('fuse.') || e.fstype === 'fuseblk';
}

/** A command that failed: `code` is the spawn error's code (ENOENT: not installed) or the exit status. */
class CommandError extends Error {
  readonly code: string | number | undefined;

  constructor(command: string, err: NodeJS.ErrnoException | { code?: unknown }, stderr: string) {
    super(`${command}: ${stderr.trim() || (err instanceof Error ? err.message : 'failed')}`, { cause: err });
    this.name = 'CommandError';
    this.code = typeof err.code === 'string' || typeof err.code === 'number' ? err.code : undefined;
  }
}

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new CommandError(`${file} ${args.join(' ')}`, err, stderr));
      else resolve();
    });
  });
}

/**
 * `fusermount -u MOUNTPOINT` (`-uz` when lazy), or fusermount3 where only
 * fuse3 is installed. Runs in a child process: the unmount may need this
 * process to answer a request. With `timeoutMs`, rejects with ETIMEDOUT
 * once that passed: the child's own kill timeout is not enough, since a
 * child stuck in umount2 does not die on a signal.
 */
export async function fusermount(mountpoint: string, options: { lazy?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const flag = options.lazy ? '-uz' : '-u';
  const args = [flag, '--', mountpoint];
  const unmount = async (): Promise<void> => {
    try {
      await run('fusermount', args);
    } catch (err) {
      if (!(err instanceof CommandError) || err.code !== 'ENOENT') throw err;
      await run('fusermount3', args);
    }
  };
  const ms = options.timeoutMs;
  if (ms === undefined) return unmount();
  return withTimeout(unmount(), ms, () => new FsError('ETIMEDOUT', `fusermount ${flag} ${mountpoint} did not finish in ${ms} ms`));
}

/** Poll `check` until it returns true, at most `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new FsError('ETIMEDOUT', `${what} (waited ${timeoutMs} ms)`);
    await delay(wait);
  }
}

export type Probe = { readonly kind: 'ok'; readonly isDirectory: boolean } | { readonly kind: 'error'; readonly code: string } | { readonly kind: 'hung' };

/** stat() the mountpoint from the libuv thread pool, bounded (a hung FUSE daemon never answers). */
export async function probe(mountpoint: string, timeoutMs: number): Promise<Probe> {
  const result = stat(mountpoint).then(
    (st): Probe => ({ kind: 'ok', isDirectory: st.isDirectory() }),
    (err: NodeJS.ErrnoException): Probe => ({ kind: 'error', code: err.code ?? 'EIO' }),
  );
  return withTimeout(result, timeoutMs, () => new Error('hung')).catch((): Probe => ({ kind: 'hung' }));
}

/**
 * Clean a stale FUSE mount at `mountpoint` (absolute, resolved): one whose
 * daemon died, so that every access fails with "Transport endpoint is not
 * connected" (ENOTCONN). Unmounts it lazily (`fusermount -uz`) and returns
 * true; returns false when there was nothing to clean. A live FUSE mount
 * there, or one that does not answer, is an EBUSY error: someone is using
 * it, and it is not ours to remove.
 */
export async function cleanStaleMount(mountpoint: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const mounted = await findMount(mountpoint);
  const p = await probe(mountpoint, timeoutMs);
  const stale = p.kind === 'error' && (p.code === 'ENOTCONN' || p.code === 'ECONNABORTED');
  if (stale) {
    await fusermount(mountpoint, { lazy: true });
    await pollUntil(async () => (await findMount(mountpoint))?.id !== mounted?.id, timeoutMs, `stale mount at ${mountpoint} still there after fusermount -uz`);
    return true;
  }
  if (mounted && isFuse(mounted)) {
    const how = p.kind === 'hung' ? 'does not answer (unmount it with: fusermount -uz)' : 'is in use';
    throw new FsError('EBUSY', `${mountpoint} is already a FUSE mount (${mounted.fstype} from ${mounted.source}) that ${how}`);
  }
  return false;
}

/**
 * Whether the FUSE configuration at `confPath` lets users other than root
 * mount with allow_other or allow_root: a line `user_allow_other`. A file
 * that cannot be read says no.
 */
export async function userAllowOther(confPath = '/etc/fuse.conf'): Promise<boolean> {
  try {
    const conf = await readFile(confPath, 'utf8');
    return conf.split('\n').some((line) => line.trim() === 'user_allow_other');
  } catch {
    return false;
  }
}

/** The absolute path of `mountpoint` with symlinks in its parent resolved (the mountpoint itself may be a stale mount that cannot be resolved). */
export async function resolveMountpoint(mountpoint: string): Promise<string> {
  const abs = path.resolve(mountpoint);
  const parent = path.dirname(abs);
  if (parent === abs) return abs;
  try {
    return path.join(await realpath(parent), path.basename(abs));
  } catch {
    return abs;
  }
}

/** Whether this process may mount with allow_other: root, or user_allow_other in /etc/fuse.conf. */
export async function allowOtherPermitted(): Promise<boolean> {
  return process.getuid?.() === 0 || (await userAllowOther());
}
