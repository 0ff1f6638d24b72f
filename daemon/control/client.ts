/**
 * The client side of a mount's control socket (protocol.ts): find the mount
 * a path belongs to, connect to its daemon, send requests, match answers.
 *
 * Finding the mount. Machpager mounts are the lines of /proc/self/mountinfo
 * with fstype fuse.machpager. A command names its mount by a MOUNTPOINT (any
 * path inside the mount will do), else it is the mount containing the
 * current directory, else the only machpager mount there is; several, or
 * none, is an error that lists them. A path given to `files`, `sync` or
 * `evict` is resolved to its real path (fs/promises realpath: this process
 * does not serve the mount, so going through FUSE is fine) and then to the
 * path inside its mount ('/dir/file'), which is what the daemon takes.
 *
 * Connecting. The socket's place comes from the mountpoint
 * (socket-path.ts): the caller's own runtime directory first, then root's
 * (/run/machpager), then, when mountinfo says the mount belongs to another
 * user, that user's (so that root can inspect anybody's mount, and anybody
 * else gets "permission denied" rather than "not mounted"). ENOENT or
 * ECONNREFUSED on every candidate: no daemon serves it; EACCES on one: the
 * mount belongs to another user.
 *
 * Calling. One request at a time or several in flight: answers come in
 * order and carry the request's id. Every call has a timeout. A line that is
 * not the protocol (not JSON, an unknown id, neither result nor error)
 * fails every pending call with EPROTO and closes the connection.
 */
import net from 'node:net';
import { realpath as fsRealpath } from 'node:fs/promises';
import path from 'node:path';
import { type MountEntry, readMountinfo } from '../fs/fuse/mount-table.js';
import { ControlError, malformed } from './control-error.js';
import { LineBuffer } from './lines.js';
import type { ControlMethods, ControlResponse } from './protocol.js';
import { socketCandidates, type RuntimeEnv } from './socket-path.js';

export { ControlError } from './control-error.js';

/** The fstype of a machpager mount in /proc/self/mountinfo. */
export const MACHPAGER_FSTYPE = 'fuse.machpager';
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** The longest answer line taken (a `files` answer for a big tree is large, but not this large). */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Where the mounts are

export interface LocateEnv {
  readonly cwd: string;
  readonly uid: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The mount table (default: /proc/self/mountinfo). */
  readonly mountinfo?: () => Promise<MountEntry[]>;
  /** Real paths (default: fs/promises realpath). */
  readonly realpath?: (p: string) => Promise<string>;
}

export interface MachpagerMount {
  /** The mountpoint's real, absolute path (what the daemon hashes into its socket name). */
  readonly mountpoint: string;
  /** The mount's source (the store's name, from fsname=). */
  readonly source: string;
  /** The uid the mount belongs to (user_id= in mountinfo), when known. */
  readonly owner: number | undefined;
  /** Not in the mount table: a path given by the user, tried as a mountpoint in case its daemon answers. */
  readonly unlisted?: boolean;
}

/** A local path, resolved, and where it is inside its mount. */
export interface LocatedPath {
  readonly mount: MachpagerMount;
  /** The path inside the mount: '/' for the mountpoint, '/dir/file'. */
  readonly inner: string;
  /** The local path as the user typed it. */
  readonly given: string;
}

function ownerOf(entry: MountEntry): number | undefined {
  const m = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(entry.superOptions);
  return m ? Number(m[1]) : undefined;
}

/** The machpager mounts, in mount order (topmost last). */
export async function machpagerMounts(env: Pick<LocateEnv, 'mountinfo'>): Promise<MachpagerMount[]> {
  const entries = await (env.mountinfo ?? readMountinfo)();
  return entries.filter((e) => e.fstype === MACHPAGER_FSTYPE).map((e) => ({ mountpoint: e.mountPoint, source: e.source, owner: ownerOf(e) }));
}

function contains(mountpoint: string, p: string): boolean {
  return p === mountpoint || p.startsWith(mountpoint === '/' ? '/' : `${mountpoint}/`);
}

/** The innermost (longest, and among equals the topmost) mount containing the absolute path `p`. */
export function mountContaining(mounts: readonly MachpagerMount[], p: string): MachpagerMount | undefined {
  let best: MachpagerMount | undefined;
  for (const m of mounts) {
    if (contains(m.mountpoint, p) && (best === undefined || m.mountpoint.length >= best.mountpoint.length)) best = m;
  }
  return best;
}

/** The path inside the mount for an absolute path in it: '/' or '/a/b'. */
export function innerPath(mountpoint: string, p: string): string {
  const rel = path.relative(mountpoint, p);
  return rel === '' ? '/' : `/${rel.split(path.sep).join('/')}`;
}

/**
 * The real path of `p` (relative to cwd). A path that does not exist (yet,
 * or any more) is its parent's real path and its name; a mount whose daemon
 * died (ENOTCONN) is left as it is.
 */
export async function resolveLocal(p: string, env: Pick<LocateEnv, 'cwd' | 'realpath'>): Promise<string> {
  const abs = path.resolve(env.cwd, p);
  const real = env.realpath ?? fsRealpath;
  try {
    return await real(abs);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' && path.dirname(abs) !== abs) {
      const parent = await real(path.dirname(abs)).catch(() => path.dirname(abs));
      return path.join(parent, path.basename(abs));
    }
    return abs;
  }
}

/** Why no mount could be chosen: ENOENT (there is none) or EINVAL (several, and nothing says which). */
export class NoMountError extends ControlError {
  constructor(
    code: 'ENOENT' | 'EINVAL',
    message: string,
    readonly mounts: readonly MachpagerMount[],
  ) {
    super(code, message);
    this.name = 'NoMountError';
  }
}

/**
 * The mount a command talks to: the machpager mount containing `given` (a
 * mountpoint or any path in a mount; a path in no machpager mount is taken
 * as a mountpoint as it is, and its socket decides), else the one containing
 * the current directory, else the only one.
 */
export async function resolveMount(given: string | undefined, env: LocateEnv): Promise<MachpagerMount> {
  const mounts = await machpagerMounts(env);
  if (given !== undefined) {
    const real = await resolveLocal(given, env);
    return mountContaining(mounts, real) ?? { mountpoint: real, source: '', owner: undefined, unlisted: true };
  }
  const here = mountContaining(mounts, await resolveLocal('.', env));
  if (here) return here;
  if (mounts.length === 1 && mounts[0]) return mounts[0];
  if (mounts.length === 0) throw new NoMountError('ENOENT', 'no machpager mount (mount one with: machpager mount STORE MOUNTPOINT)', mounts);
  throw new NoMountError('EINVAL', `${mounts.length} machpager mounts and the current directory is in none; name one: ${mounts.map((m) => m.mountpoint).join(', ')}`, mounts);
}

/** Local paths to their mounts and paths inside them. A path in no machpager mount is an ENOENT ControlError. */
export async function locatePaths(given: readonly string[], env: LocateEnv): Promise<LocatedPath[]> {
  const mounts = await machpagerMounts(env);
  const out: LocatedPath[] = [];
  for (const g of given) {
    const real = await resolveLocal(g, env);
    const mount = mountContaining(mounts, real);
    if (!mount) throw new ControlError('ENOENT', `${g}: not in a machpager mount${mounts.length > 0 ? ` (mounts: ${mounts.map((m) => m.mountpoint).join(', ')})` : ''}`);
    out.push({ mount, inner: innerPath(mount.mountpoint, real), given: g });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Connecting

export interface ConnectOptions {
  /** Whose runtime directory to look in first (the caller's). */
  readonly runtime: RuntimeEnv;
  readonly connectTimeoutMs?: number;
  /** The default per-call timeout (0: none). */
  readonly timeoutMs?: number;
}

/** Where the mount's socket may be, in order, without repeats. */
export function candidatesFor(mount: MachpagerMount, runtime: RuntimeEnv): string[] {
  const list = socketCandidates(mount.mountpoint, runtime);
  if (mount.owner !== undefined && mount.owner !== runtime.uid) {
    list.push(...socketCandidates(mount.mountpoint, { uid: mount.owner, env: { XDG_RUNTIME_DIR: `/run/user/${mount.owner}` } }));
    list.push(...socketCandidates(mount.mountpoint, { uid: mount.owner, env: {} }));
  }
  return [...new Set(list)];
}

function connectOnce(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      reject(Object.assign(new Error(`connect ${socketPath}: no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      settled = true;
      clearTimeout(timer);
      resolve(socket);
    });
    // Stays attached (doing nothing once connected): the client adds its own.
    socket.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

interface Pending {
  readonly id: number;
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** One connection to a mount's daemon. */
export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lines = new LineBuffer();
  private failure: ControlError | undefined;
  /** Resolves when the connection is closed, by either side (a daemon that stops closes it). */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    /** The mountpoint it talks about. */
    readonly mountpoint: string,
    /** The socket it is connected to. */
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8');
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ControlError(err.code ?? 'EIO', `the connection to the daemon failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new ControlError('ECONNRESET', 'the daemon closed the connection before answering')));
  }

  /**
   * Connect to the daemon serving `mount`: each candidate socket in turn.
   * Rejects with a ControlError: ECONNREFUSED (no daemon serving it), EACCES
   * (the mount belongs to another user) or ETIMEDOUT.
   */
  static async connect(mount: MachpagerMount, options: ConnectOptions): Promise<ControlClient> {
    const candidates = candidatesFor(mount, options.runtime);
    let denied: unknown;
    let other: NodeJS.ErrnoException | undefined;
    for (const socketPath of candidates) {
      try {
        const socket = await connectOnce(socketPath, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
        return new ControlClient(socket, mount.mountpoint, socketPath, options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTDIR') continue;
        if (code === 'EACCES' || code === 'EPERM') {
          denied ??= err;
          continue;
        }
        other ??= err as NodeJS.ErrnoException;
      }
    }
    if (denied !== undefined) {
      const owner = mount.owner !== undefined && mount.owner !== options.runtime.uid ? ` (uid ${mount.owner})` : '';
      throw new ControlError('EACCES', `permission denied: the mount belongs to another user${owner}`, { cause: denied });
    }
    if (other !== undefined) {
      if (other.code === 'ETIMEDOUT') throw new ControlError('ETIMEDOUT', 'its daemon does not accept connections (timed out)', { cause: other });
      throw new ControlError(other.code ?? 'EIO', `cannot reach its daemon: ${other.message}`, { cause: other });
    }
    if (mount.owner !== undefined && mount.owner !== options.runtime.uid && options.runtime.uid !== 0) {
      throw new ControlError('EACCES', `permission denied: the mount belongs to another user (uid ${mount.owner})`);
    }
    if (mount.unlisted === true) {
      // Not in the mount table and no daemon: the path is simply not on a machpager mount.
      const missing = !(await fsRealpath(mount.mountpoint).then(() => true, () => false));
      throw new ControlError('ENOENT', missing ? 'no such file or directory' : 'not in a machpager mount');
    }
    throw new ControlError('ECONNREFUSED', 'no machpager daemon serving it (is it mounted?)');
  }

  /**
   * Call `method`; resolves with its result, or rejects with a ControlError:
   * the daemon's error answer (its code and message), or ETIMEDOUT,
   * ECONNRESET, EPROTO. `timeoutMs` 0: no timeout. The result is what the
   * daemon sent, unchecked: callers check it (stats-record.ts) before use.
   */
  call<M extends keyof ControlMethods>(method: M, params: ControlMethods[M]['params'], options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = { id, method, resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.fail(new ControlError('ETIMEDOUT', `no answer to ${method} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.socket.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  /** Close the connection (pending calls fail with ECONNRESET). */
  close(): void {
    this.fail(new ControlError('ECONNRESET', 'the connection was closed'));
  }

  private onData(chunk: string): void {
    for (const line of this.lines.push(chunk)) {
      this.onLine(line);
      if (this.failure) return;
    }
    if (this.lines.pendingLength > MAX_ANSWER_BYTES) this.fail(malformed(`an answer longer than ${MAX_ANSWER_BYTES} bytes`));
  }

  private onLine(line: string): void {
    let answer: unknown;
    try {
      answer = JSON.parse(line);
    } catch {
      this.fail(malformed(`not JSON: ${line.length > 80 ? `${line.slice(0, 77)}...` : line}`));
      return;
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer) || !('id' in answer)) {
      this.fail(malformed('an answer without an id'));
      return;
    }
    const response = answer as ControlResponse;
    let p: Pending | undefined;
    if (response.id === null) {
      // The daemon could not read a request of ours: it is the oldest one waiting.
      p = this.pending.values().next().value;
    } else if (typeof response.id === 'number') {
      p = this.pending.get(response.id);
    }
    if (!p) {
      this.fail(malformed(`an answer to no request (id ${JSON.stringify(response.id)})`));
      return;
    }
    this.pending.delete(p.id);
    clearTimeout(p.timer);
    if ('error' in response) {
      const e: unknown = response.error;
      const code = typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'EPROTO';
      const message = typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : 'error';
      p.reject(new ControlError(code, message));
    } else if ('result' in response) {
      p.resolve(response.result);
    } else {
      p.reject(malformed(`the answer to ${p.method} has neither a result nor an error`));
    }
  }

  /** Fail every pending call with `err` and close; later calls fail with it too. */
  private fail(err: ControlError): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.socket.destroy();
  }
}
