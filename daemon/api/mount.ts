/**
 * A live mount for a test: the machpager CLI mounts in a child process (so
 * the caller's own process never blocks on its own mount), and every
 * action goes to the daemon's control socket (control/client.ts), each
 * one recorded with its outcome (ActionRecord) so that a failing test can
 * say what it did and what it dropped or failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlClient, ControlError, innerPath, type MachpagerMount } from '../control/client.js';
import type { ControlMethods, CrashParams } from '../control/protocol.js';
import { checkResult } from '../control/stats-record.js';
import { findMount, fusermount } from '../fs/fuse/mount-table.js';
import type { ActionRecord, CrashOptions, CrashResult, FileRecord, InjectChange, InjectResult, Mount, MountOptions, StatsRecord } from './types.js';

/** The CLI: next to this file in the build, or the build's when this runs from the sources (vitest). */
function cliPath(): string {
  const here = import.meta.dirname;
  const built = path.resolve(here, '../cli/main.js');
  return existsSync(built) ? built : path.resolve(here, '../../dist/daemon/cli/main.js');
}

const STOP_TIMEOUT_MS = 45_000;

class LiveMount implements Mount {
  readonly actions: ActionRecord[] = [];
  private output = '';
  private exitCode: number | undefined;
  private readonly exited: Promise<number>;
  private client: ControlClient | undefined;
  private unmounted: Promise<void> | undefined;

  constructor(
    readonly mountpoint: string,
    readonly store: string,
    private readonly child: ChildProcess,
    /** Temporary directories this mount made, removed at unmount. */
    private readonly madeDirs: readonly string[],
    private readonly sink: ((a: ActionRecord) => void) | undefined,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((this.exitCode = code ?? (signal ? 128 : 1)))));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get daemonLog(): string {
    return this.output;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  path(inner: string): string {
    return path.join(this.mountpoint, inner);
  }

  /** A path as the daemon takes it: inside the mount, from its root ('/a/b'). */
  private inner(p: string): string {
    if (path.isAbsolute(p) && (p === this.mountpoint || p.startsWith(`${this.mountpoint}/`))) return innerPath(this.mountpoint, p);
    return path.posix.join('/', p);
  }

  inject(change: string | InjectChange = {}): Promise<InjectResult> {
    const params: InjectChange = typeof change === 'string' ? { spec: change } : { ...change };
    return this.act('inject', { ...params }, async (c) => checkResult<InjectResult>(await c.call('inject', params), 'inject', [], ['spec']));
  }

  freeze(): Promise<InjectResult> {
    return this.inject({ freeze: true });
  }

  thaw(): Promise<InjectResult> {
    return this.inject({ freeze: false });
  }

  crash(options: CrashOptions = {}): Promise<CrashResult> {
    const params: CrashParams = {
      action: options.action ?? (options.at === undefined ? 'crash' : 'arm'),
      dry_run: options.dryRun,
      keep: options.keep,
      torn: options.torn,
      seed: options.seed,
      at: options.at,
      nth: options.nth,
      unmount: options.unmount,
    };
    return this.act('crash', params, async (c) => checkResult<CrashResult>(await c.call('crash', params), 'crash', [], ['action']));
  }

  stats(): Promise<StatsRecord> {
    return this.act('stats', {}, async (c) => checkResult<StatsRecord>(await c.call('stats', {}), 'stats', ['pagesize']), { quiet: true });
  }

  files(paths?: readonly string[]): Promise<FileRecord[]> {
    const params = paths === undefined ? {} : { paths: paths.map((p) => this.inner(p)) };
    return this.act('files', params, async (c) => (await c.call('files', params)) as FileRecord[], { quiet: true });
  }

  sync(p?: string): Promise<{ synced: string }> {
    const params = p === undefined ? {} : { path: this.inner(p) };
    return this.act('sync', params, async (c) => checkResult<{ synced: string }>(await c.call('sync', params), 'sync', [], ['synced']));
  }

  evict(p?: string): Promise<{ evicted_pages: number; files: number; locked_files?: number }> {
    const params: ControlMethods['evict']['params'] = p === undefined ? { all: true } : { path: this.inner(p), recursive: true };
    return this.act('evict', params, async (c) => checkResult<{ evicted_pages: number; files: number }>(await c.call('evict', params), 'evict', ['evicted_pages', 'files']));
  }

  unmount(): Promise<void> {
    this.unmounted ??= this.stop();
    return this.unmounted;
  }

  /** Wait for the control socket to answer (the daemon says "mounted" just before it opens it). */
  async ready(deadline: number): Promise<void> {
    for (;;) {
      if (!this.running) throw new ControlError('EIO', `machpager mount exited (${this.exitCode}) before mounting:\n${this.output}`);
      const said = this.output.includes('mounted ');
      if (said && (await findMount(this.mountpoint))) {
        const answered = await this.connect().then(
          async (c) => ((await c.call('hello', {})) as { mountpoint?: string }).mountpoint === this.mountpoint,
          () => false,
        );
        if (answered) return;
      }
      if (Date.now() > deadline) throw new ControlError('ETIMEDOUT', `no mount on ${this.mountpoint} in time:\n${this.output}`);
      await sleep(50);
    }
  }

  private async connect(): Promise<ControlClient> {
    if (this.client) return this.client;
    const mount: MachpagerMount = { mountpoint: this.mountpoint, source: this.store, owner: process.getuid?.() };
    const client = await ControlClient.connect(mount, { runtime: { uid: process.getuid?.() ?? 0, env: process.env }, timeoutMs: 60_000 });
    // A connection that fails is dropped; the next action connects again.
    void client.closed.then(() => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }

  private async act<T>(action: string, params: Record<string, unknown>, work: (c: ControlClient) => Promise<T>, opts: { quiet?: boolean } = {}): Promise<T> {
    const startedAt = Date.now();
    try {
      const result = await work(await this.connect());
      this.record({ action, params, ok: true, ...(opts.quiet === true ? {} : { result }), startedAt, ms: Date.now() - startedAt });
      return result;
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'EIO';
      const message = err instanceof Error ? err.message : String(err);
      this.record({ action, params, ok: false, error: { code, message }, startedAt, ms: Date.now() - startedAt });
      throw err instanceof ControlError ? err : new ControlError(code, message, { cause: err });
    }
  }

  record(a: ActionRecord): void {
    this.actions.push(a);
    this.sink?.(a);
    if (process.env.MACHPAGER_API_LOG === '1') process.stderr.write(`machpager ${describeAction(a)}\n`);
  }

  private async stop(): Promise<void> {
    const startedAt = Date.now();
    this.client?.close();
    this.client = undefined;
    let error: { code: string; message: string } | undefined;
    if (this.running) this.child.kill('SIGTERM');
    // The bound's timer goes with the daemon: left running, it would keep a test runner's process
    // alive for STOP_TIMEOUT_MS after its last test (jest's "did not exit" warning).
    const bound = new AbortController();
    const code = await Promise.race([this.exited, sleep(STOP_TIMEOUT_MS, undefined, { signal: bound.signal }).then(() => undefined, () => undefined)]);
    bound.abort();
    if (code === undefined) {
      this.child.kill('SIGKILL');
      error = { code: 'ETIMEDOUT', message: `the daemon did not stop ${STOP_TIMEOUT_MS / 1000} s after SIGTERM: killed, the mount detached` };
    } else if (code !== 0) error = { code: 'EIO', message: `the daemon exited with ${code}` };
    // Whatever happened, no mount stays behind.
    if (await findMount(this.mountpoint)) await fusermount(this.mountpoint, { lazy: true }).catch(() => undefined);
    for (const dir of this.madeDirs) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    this.record({ action: 'unmount', params: {}, ok: error === undefined, ...(error ? { error } : { result: { exit: code } }), startedAt, ms: Date.now() - startedAt });
    if (error) throw new ControlError(error.code, `${error.message}; its log:\n${this.output}`);
  }
}

/** One line for a log: "crash {"keep":"random:1:0.5"} -> ok {...} (12 ms)". */
export function describeAction(a: ActionRecord): string {
  const outcome = a.ok ? `ok${a.result === undefined ? '' : ` ${JSON.stringify(a.result)}`}` : `failed ${a.error?.code}: ${a.error?.message}`;
  return `${a.action} ${JSON.stringify(a.params)} -> ${outcome} (${a.ms} ms)`;
}

/**
 * Mount a machpager filesystem for a test and wait until it answers. The
 * daemon is a child process; call `unmount()` when done (withMount does,
 * also when the test fails).
 */
export async function mount(options: MountOptions = {}): Promise<Mount> {
  const startedAt = Date.now();
  const made: string[] = [];
  let store = options.store;
  if (store === undefined) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-store-'));
    made.push(dir);
    store = `sqlite:${path.join(dir, 'fs.db')}`;
  }
  let mountpoint = options.mountpoint;
  if (mountpoint === undefined) {
    mountpoint = await mkdtemp(path.join(os.tmpdir(), 'machpager-mnt-'));
    made.push(mountpoint);
  } else await mkdir(mountpoint, { recursive: true });
  // The daemon names its control socket after the real path.
  mountpoint = await realpath(mountpoint);
  const args = [cliPath(), 'mount', store, mountpoint, '--cache-size', options.cacheSize ?? '16M', '--inject', options.inject ?? ''];
  if (options.pageSize !== undefined) args.push('--page-size', options.pageSize);
  if (options.policy !== undefined) args.push('--policy', options.policy);
  if (options.cacheMode !== undefined) args.push('--cache-mode', options.cacheMode);
  if (options.controlFifo !== undefined) args.push('--control-fifo', path.resolve(options.controlFifo));
  args.push('-o', (options.fuseOptions ?? ['default_permissions']).join(','), ...(options.args ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  const m = new LiveMount(mountpoint, store, child, made, options.log);
  try {
    await m.ready(Date.now() + (options.timeoutMs ?? 30_000));
  } catch (err) {
    await m.unmount().catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    m.record({ action: 'mount', params: { store, mountpoint }, ok: false, error: { code: 'EIO', message }, startedAt, ms: Date.now() - startedAt });
    throw err;
  }
  m.record({ action: 'mount', params: { store, mountpoint }, ok: true, result: { pid: m.pid }, startedAt, ms: Date.now() - startedAt });
  return m;
}
