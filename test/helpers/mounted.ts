/**
 * Real mounts of machpager for integration tests: the CLI in a child process
 * (`node dist/daemon/cli/main.js mount ...`, built before the tests run),
 * workloads as programs in child processes (bash -c), never a synchronous
 * call on the mount from this process. Waits are bounded polls. Every mount
 * made here is unmounted by cleanupMounts() (call it in afterEach/afterAll),
 * also when a test failed: SIGTERM first (the daemon syncs and unmounts),
 * then fusermount -uz.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findMount, fusermount, readMountinfo } from '../../daemon/fs/fuse/mount-table.js';
import { withTimeout } from '../../daemon/timeout.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const MACHPAGER = path.join(REPO, 'dist/daemon/cli/main.js');

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ShOptions {
  /** Run as this uid/gid (setpriv, no supplementary groups). */
  as?: { uid: number; gid: number };
  cwd?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** bash -c `script` in a child process; resolves with its status and output (never rejects on a non-zero status). */
export function sh(script: string, options: ShOptions = {}): Promise<ShResult> {
  const argv = options.as
    ? ['setpriv', `--reuid=${options.as.uid}`, `--regid=${options.as.gid}`, '--clear-groups', 'bash', '-c', script]
    : ['bash', '-c', script];
  return new Promise((resolve) => {
    execFile(
      argv[0],
      argv.slice(1),
      { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The machpager CLI (the build) in a child process: this process never touches a mount. */
export function machpager(args: string[], options: Pick<ShOptions, 'as' | 'env' | 'timeoutMs'> = {}): Promise<ShResult> {
  const argv = options.as
    ? ['setpriv', `--reuid=${options.as.uid}`, `--regid=${options.as.gid}`, '--clear-groups', process.execPath, MACHPAGER, ...args]
    : [process.execPath, MACHPAGER, ...args];
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout: options.timeoutMs ?? 60_000, encoding: 'utf8', env: options.env ?? process.env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** `machpager ARGS --json`, parsed; throws with the error output if it failed. */
export async function machpagerJson<T>(args: string[]): Promise<T> {
  const r = await machpager([...args, '--json']);
  if (r.code !== 0) throw new Error(`machpager ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** sh, and throw with the output if it failed. Returns stdout. */
export async function shOk(script: string, options: ShOptions = {}): Promise<string> {
  const r = await sh(script, options);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

export interface MountOptions {
  store: string;
  mnt: string;
  cacheSize?: string;
  pageSize?: string;
  policy?: string;
  cacheMode?: 'direct' | 'kernel';
  /** -o options; default allow_other,default_permissions. */
  options?: string[];
  /** More mount arguments (--inject SPEC ...). */
  args?: readonly string[];
  /** Variables added to the daemon's environment. */
  env?: Readonly<Record<string, string>>;
  /** A command the daemon runs under (e.g. ['ip', 'netns', 'exec', 'NS']: it must exec the daemon, keeping its pid). */
  wrap?: readonly string[];
  /** The daemon does not say "mounted" (--log-level warn): wait for the mount table and a stat alone (a new mountpoint only). */
  silent?: boolean;
}

export class Mounted {
  private output = '';
  private exited: Promise<number>;
  private exitCode: number | undefined;

  constructor(
    readonly opts: MountOptions,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((this.exitCode = code ?? (signal ? 128 : 1)))));
  }

  get mnt(): string {
    return this.opts.mnt;
  }

  /** What the daemon printed so far. */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Run `script` with the mount as working directory. */
  sh(script: string, options: ShOptions = {}): Promise<ShResult> {
    return sh(script, { cwd: this.mnt, ...options });
  }

  shOk(script: string, options: ShOptions = {}): Promise<string> {
    return shOk(script, { cwd: this.mnt, ...options });
  }

  /**
   * SIGTERM: the daemon syncs, unmounts and exits. Resolves with its exit
   * code. A daemon still there after `timeoutMs` gets a second SIGTERM (it
   * then says which phase it is stuck in) and the error carries its log.
   */
  async stop(timeoutMs = 45_000): Promise<number> {
    if (this.running) this.child.kill('SIGTERM');
    try {
      const code = await withTimeout(this.exited, timeoutMs, () => new Error(`the daemon for ${this.mnt} did not exit ${timeoutMs / 1000} s after SIGTERM`));
      forget(this);
      return code;
    } catch (err) {
      if (this.running) this.child.kill('SIGTERM');
      await sleep(1000);
      throw new Error(`${(err as Error).message}; its log:\n${this.log}`, { cause: err });
    }
  }

  /** SIGKILL: no sync, the mount is left stale. */
  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await withTimeout(this.exited, 10_000, () => new Error('the daemon did not die'));
    forget(this);
  }

  /** Resolves when the daemon exits on its own (e.g. after an external unmount). */
  waitExit(timeoutMs = 30_000): Promise<number> {
    return withTimeout(this.exited, timeoutMs, () => new Error(`the daemon for ${this.mnt} did not exit`));
  }
}

const live = new Set<Mounted>();

function forget(m: Mounted): void {
  live.delete(m);
}

/** Mount a store with the CLI in the foreground in a child process; resolves once the mount answers. */
export async function mount(opts: MountOptions): Promise<Mounted> {
  // A stale mount (a killed daemon) makes mkdir fail with ENOTCONN: the directory is there.
  await mkdir(opts.mnt, { recursive: true }).catch((err: unknown) => {
    if ((err as { code?: string }).code !== 'ENOTCONN') throw err;
  });
  const args = [MACHPAGER, 'mount', opts.store, opts.mnt, '--cache-size', opts.cacheSize ?? '2M'];
  if (opts.pageSize) args.push('--page-size', opts.pageSize);
  if (opts.policy) args.push('--policy', opts.policy);
  if (opts.cacheMode) args.push('--cache-mode', opts.cacheMode);
  args.push('-o', (opts.options ?? ['allow_other', 'default_permissions']).join(','), ...(opts.args ?? []));
  const [file, ...argv] = [...(opts.wrap ?? []), process.execPath, ...args];
  const child = spawn(file ?? process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
  const m = new Mounted(opts, child);
  live.add(m);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!m.running) throw new Error(`machpager mount exited before mounting:\n${m.log}`);
    // The daemon says it has mounted (a text line, or a JSON one with --log-format json; a stale mount left by a killed daemon can still be
    // listed, or be gone with the bare directory answering stat): then the mount answers.
    const said = opts.silent === true || m.log.includes('machpager: mounted ') || m.log.includes('"msg":"mounted ');
    const entry = said ? await findMount(opts.mnt) : undefined;
    if (entry && entry.fstype.startsWith('fuse') && (await sh(`stat -c %i ${JSON.stringify(opts.mnt)}`, { timeoutMs: 10_000 })).code === 0) return m;
    if (Date.now() > deadline) throw new Error(`no mount on ${opts.mnt} after 30 s:\n${m.log}`);
    await sleep(50);
  }
}

/**
 * Unmount and stop everything mounted by this file's tests, all at once and
 * within the hook timeout. A daemon that does not stop is killed and its
 * mount detached, and then this throws with its log: a hang is a failure.
 */
export async function cleanupMounts(): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    [...live].map(async (m) => {
      try {
        await m.stop();
      } catch (err) {
        failures.push((err as Error).message);
        m.child.kill('SIGKILL');
        forget(m);
      }
      // The daemon may finish its own unmount between the look and fusermount: only a mount still there is a failure.
      if (await findMount(m.mnt))
        await fusermount(m.mnt, { lazy: true }).catch(async (err: unknown) => {
          if (await findMount(m.mnt)) failures.push(`fusermount -uz ${m.mnt}: ${String(err)}`);
        });
    }),
  );
  if (failures.length > 0) throw new Error(failures.join('\n\n'));
}

/** A fresh temporary directory (removed by the caller's cleanup). */
export function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `machpager-${label}-`));
}

/** Remove a test's directory, unmounting (lazily) anything still mounted inside it first. */
export async function removeDir(dir: string): Promise<void> {
  for (const entry of await readMountinfo()) {
    if (entry.mountPoint === dir || entry.mountPoint.startsWith(`${dir}/`)) await fusermount(entry.mountPoint, { lazy: true });
  }
  await rm(dir, { recursive: true, force: true });
}

/** The two data stores every integration test runs against. */
export const STORE_KINDS = [
  { kind: 'sqlite', store: (dir: string) => `sqlite:${path.join(dir, 'fs.db')}` },
  { kind: 'raw files', store: (dir: string) => `file:${path.join(dir, 'data')}` },
] as const;
