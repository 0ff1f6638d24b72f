/**
 * A live mount for a test: the machpager CLI mounts in a child process (so
 * the caller's own process never blocks on its own mount); its actions go
 * to the daemon's control socket (controlled-mount.ts), each recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlError } from '../control/client.js';
import { findMount, fusermount } from '../fs/fuse/mount-table.js';
import { ControlledMount, describeAction } from './controlled-mount.js';
import type { ActionRecord, Mount, MountOptions } from './types.js';

/** The CLI: next to this file in the build, or the build's when this runs from the sources (vitest). */
function cliPath(): string {
  const here = import.meta.dirname;
  const built = path.resolve(here, '../cli/main.js');
  return existsSync(built) ? built : path.resolve(here, '../../dist/daemon/cli/main.js');
}

const STOP_TIMEOUT_MS = 45_000;

class LiveMount extends ControlledMount implements Mount {
  private output = '';
  private exitCode: number | undefined;
  private readonly exited: Promise<number>;
  private unmounted: Promise<void> | undefined;

  constructor(
    mountpoint: string,
    store: string,
    private readonly child: ChildProcess,
    /** Temporary directories this mount made, removed at unmount. */
    private readonly madeDirs: readonly string[],
    sink: ((a: ActionRecord) => void) | undefined,
  ) {
    super(mountpoint, store, sink);
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

export { describeAction };

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
  if (options.liveMrc !== undefined) args.push('--live-mrc', options.liveMrc ? 'on' : 'off');
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
