/**
 * The daemon side of a mount's control socket (protocol.ts): a Unix socket
 * at the path socket-path.ts computes from the mountpoint, in a directory
 * only the mounting user may enter (0700; the socket itself 0600), so the
 * file system refuses every other user before a byte is read.
 *
 * Each connection's requests are answered one at a time, in order. A line
 * that is not a request, an unknown method or bad params gets an error
 * answer and the connection stays open; an error thrown by a handler
 * becomes an error answer with its errno name (EIO, logged, when it has
 * none). Nothing a client sends can throw out of here.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { ControlCaller } from './change.js';
import { ControlError } from './control-error.js';
import { LineBuffer } from './lines.js';
import type { ControlError as WireError, ControlMethods, ControlRequest, ControlResponse } from './protocol.js';

/**
 * The connection a request came on. What a request holds for as long as
 * its caller stays (vmtouch -l's wired pages) is let go when the
 * connection closes: the caller exited, was killed, or the daemon is
 * stopping.
 */
export interface ControlSession {
  /** Run `release` once when this connection closes (at once if it is closed already). */
  onClose(release: () => void): void;
}

/** A method's handler: params as they came (checked by the handler), who sent them and their connection; its result or a promise of it. */
export type ControlHandlers = {
  [M in keyof ControlMethods]: (params: Record<string, unknown>, caller: ControlCaller, session: ControlSession) => ControlMethods[M]['result'] | Promise<ControlMethods[M]['result']>;
};

/** A connection's peer credentials (SO_PEERCRED), where the platform gives them. */
export type PeerCredentials = (socket: net.Socket) => { readonly pid: number; readonly uid: number } | undefined;


/**
 * The daemon calling its own handlers (the web view of mount --web): caller
 * 0, and a session that lasts as long as the daemon (what it holds goes
 * when the filesystem closes).
 */
export const IN_PROCESS_CALLER: ControlCaller = { connection: 0 };
export const IN_PROCESS_SESSION: ControlSession = { onClose: () => undefined };

/** A connection's releases, run once when it closes. */
class Session implements ControlSession {
  private releases: (() => void)[] | undefined = [];

  constructor(private readonly log: (line: string) => void) {}

  onClose(release: () => void): void {
    if (this.releases) this.releases.push(release);
    else this.run(release);
  }

  close(): void {
    const releases = this.releases ?? [];
    this.releases = undefined;
    for (const release of releases.reverse()) this.run(release);
  }

  private run(release: () => void): void {
    try {
      release();
    } catch (err) {
      this.log(`control socket: releasing what a closed connection held: ${err instanceof Error && err.stack !== undefined ? err.stack : String(err)}`);
    }
  }
}

export interface ControlServerOptions {
  readonly socketPath: string;
  readonly handlers: ControlHandlers;
  /** Where handler failures without an errno (bugs) and socket trouble are reported. */
  readonly log: (line: string) => void;
  /** Who is at the other end of a connection (default: not known; Node's net does not say). */
  readonly peer?: PeerCredentials;
}

/** The longest request line taken; longer ones get an error and the connection is closed. */
export const MAX_REQUEST_BYTES = 1 << 20;

const ERRNO_NAME = /^E[A-Z0-9]+$/;

export class ControlServer {
  private readonly connections = new Map<net.Socket, Session>();
  private closed = false;
  private accepted = 0;

  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
    private readonly options: ControlServerOptions,
  ) {
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (err) => options.log(`control socket ${socketPath}: ${err.message}`));
  }

  /** Listen on `options.socketPath` (its directory made 0700; a stale socket replaced). */
  static async start(options: ControlServerOptions): Promise<ControlServer> {
    const socketPath = options.socketPath;
    await privateDirectory(path.dirname(socketPath));
    await removeStale(socketPath);
    const server = net.createServer({ allowHalfOpen: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    // The daemon must exit when the mount ends, not stay up for an open socket.
    server.unref();
    return new ControlServer(server, socketPath, options);
  }

  /** Stop listening, drop every connection and remove the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // What connections hold (wired pages) goes now, before the filesystem it belongs to closes.
    for (const [socket, session] of this.connections) {
      socket.destroy();
      session.close();
    }
    await done;
    await unlink(this.socketPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.options.log(`removing ${this.socketPath}: ${err.message}`);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const session = new Session(this.options.log);
    this.connections.set(socket, session);
    const peer = this.options.peer?.(socket);
    const caller: ControlCaller = { connection: ++this.accepted, ...(peer ? { pid: peer.pid, uid: peer.uid } : {}) };
    socket.unref();
    socket.setEncoding('utf8');
    const lines = new LineBuffer();
    // Requests are answered in order: each waits for the one before.
    let queue: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        queue = queue.then(() => this.answer(socket, line, caller, session)).catch((err: unknown) => this.options.log(`control socket: ${String(err)}`));
      }
      if (lines.pendingLength > MAX_REQUEST_BYTES) {
        lines.clear();
        queue = queue.then(() => {
          write(socket, { id: null, error: { code: 'EMSGSIZE', message: `a request longer than ${MAX_REQUEST_BYTES} bytes` } });
          socket.end();
        });
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(socket);
      session.close();
    });
  }

  private async answer(socket: net.Socket, line: string, caller: ControlCaller, session: Session): Promise<void> {
    const parsed = parseRequest(line);
    if ('error' in parsed) {
      write(socket, parsed);
      return;
    }
    const { id, method, params } = parsed;
    try {
      const result = await this.call(method, params ?? {}, caller, session);
      write(socket, { id, result });
    } catch (err) {
      write(socket, { id, error: this.errorOf(method, err) });
    }
  }

  private call(method: string, params: Record<string, unknown>, caller: ControlCaller, session: Session): unknown {
    if (!Object.hasOwn(this.options.handlers, method)) {
      throw new ControlError('ENOSYS', `unknown method "${method}" (known: ${Object.keys(this.options.handlers).join(', ')})`);
    }
    return this.options.handlers[method as keyof ControlMethods](params, caller, session);
  }

  private errorOf(method: string, err: unknown): WireError {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (typeof code === 'string' && ERRNO_NAME.test(code)) return { code, message: message || code };
    this.options.log(`control ${method}: ${err instanceof Error && err.stack !== undefined ? err.stack : message}`);
    return { code: 'EIO', message: `${method} failed: ${message}` };
  }
}

function write(socket: net.Socket, response: ControlResponse): void {
  if (socket.destroyed || !socket.writable) return;
  socket.write(`${JSON.stringify(response)}\n`);
}

/** A request, or the error answer for a line that is not one. */
export function parseRequest(line: string): ControlRequest | { id: ControlRequest['id'] | null; error: WireError } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { id: null, error: { code: 'EPROTO', message: 'the request is not JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { id: null, error: { code: 'EPROTO', message: 'the request is not a JSON object' } };
  }
  const { id, method, params } = value as Record<string, unknown>;
  if (typeof id !== 'number' && typeof id !== 'string') {
    return { id: null, error: { code: 'EPROTO', message: 'the request has no id (a number or a string)' } };
  }
  if (typeof method !== 'string') return { id, error: { code: 'EPROTO', message: 'the request has no method (a string)' } };
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    return { id, error: { code: 'EPROTO', message: 'params is not a JSON object' } };
  }
  return params === undefined ? { id, method } : { id, method, params: params as Record<string, unknown> };
}

/** Make `dir` (and its parents) and make sure it is ours and closed to everyone else. */
async function privateDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.geteuid?.() ?? 0;
  if (!info.isDirectory()) throw new ControlError('ENOTDIR', `${dir} is not a directory`);
  if (info.uid !== uid) throw new ControlError('EPERM', `${dir} belongs to uid ${info.uid}, not to this user (${uid}): not putting a control socket there`);
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** A socket file nobody listens on is left by a daemon that died: remove it. One that answers is refused. */
async function removeStale(socketPath: string): Promise<void> {
  const info = await lstat(socketPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!info) return;
  if (!info.isSocket()) throw new ControlError('EEXIST', `${socketPath} exists and is not a socket`);
  const answers = await new Promise<boolean>((resolve) => {
    const probe = net.createConnection({ path: socketPath });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answers) throw new ControlError('EADDRINUSE', `another daemon answers on ${socketPath}`);
  await unlink(socketPath);
}
