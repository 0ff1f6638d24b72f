/**
 * Running the CLI for tests: in this process (runCli with injected
 * surroundings, for everything that stops before a mount) and in child
 * processes (`node dist/daemon/cli/main.js`, or the same CLI with the
 * filesystem double, test/cli/fixtures/double-cli.js), for real mounts.
 * This process never touches a mount itself: programs in child processes
 * do (stat, cat, sh). Waits are bounded polls, never fixed sleeps.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../daemon/cli/cli.js';
import type { CliDeps, FilesystemConfig, FilesystemFactory } from '../../daemon/cli/deps.js';
import { findMount, fusermount, readMountinfo } from '../../daemon/fs/fuse/mount-table.js';
import { terminate, within } from '../helpers/child-exit.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const MAIN = path.join(REPO, 'dist/daemon/cli/main.js');
export const HELPER = path.join(REPO, 'dist/daemon/cli/mount-helper.js');
export const DOUBLE_CLI = path.join(REPO, 'test/cli/fixtures/double-cli.js');
export const DOUBLE_HELPER = path.join(REPO, 'test/cli/fixtures/double-mount-helper.js');
export const WAIT_MS = 20_000;

// ---------------------------------------------------------------------------
// In this process

export interface InProcess {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The stderr lines. */
  readonly lines: string[];
  /** The configs the filesystem factory was called with. */
  readonly opened: FilesystemConfig[];
}

/** A factory that records its calls and fails (or does what `impl` does). */
export function recordingFactory(opened: FilesystemConfig[], impl?: FilesystemFactory): FilesystemFactory {
  return (config) => {
    opened.push(config);
    if (impl) return impl(config);
    return Promise.reject(Object.assign(new Error('EIO: the test factory opens nothing'), { code: 'EIO' }));
  };
}

/** runCli in this process, with `env` as the whole environment (plus PATH). */
export async function runInProcess(
  argv: readonly string[],
  options: { env?: Record<string, string>; cwd: string; uid?: number; fuseConfPath?: string; impl?: FilesystemFactory; progressStream?: CliDeps['progressStream'] },
): Promise<InProcess> {
  let stdout = '';
  let stderr = '';
  const opened: FilesystemConfig[] = [];
  const deps: CliDeps = {
    openFilesystem: recordingFactory(opened, options.impl),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(options.env ?? {}) },
    cwd: options.cwd,
    uid: options.uid ?? 0,
    homedir: path.join(options.cwd, 'home'),
    fuseConfPath: options.fuseConfPath ?? '/etc/fuse.conf',
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    self: { command: process.execPath, args: [DOUBLE_CLI] },
    ...(options.progressStream ? { progressStream: options.progressStream } : {}),
  };
  const code = await runCli(argv, deps);
  return { code, stdout, stderr, lines: stderr.split('\n').filter((l) => l !== ''), opened };
}

// ---------------------------------------------------------------------------
// Child processes

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a program in a child process (never synchronously), bounded. */
export function run(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: options.timeoutMs ?? WAIT_MS, encoding: 'utf8', env: options.env ?? process.env, cwd: options.cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment for a CLI child: ours without MACHPAGER_* settings, plus `extra`. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MACHPAGER_')) env[k] = v;
  return { ...env, ...extra };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until true, at most `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(wait);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A CLI in a child process whose stderr we watch (a foreground mount). */
export class CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  stdout = '';

  constructor(entry: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string) {
    this.child = spawn(process.execPath, [entry, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.child.stdout?.on('data', (c: Buffer) => {
      this.stdout += c.toString();
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Wait until stderr has a line matching `re` (fails early if the process ends). */
  async waitFor(re: RegExp, timeoutMs = WAIT_MS): Promise<void> {
    await until(() => {
      if (re.test(this.stderr)) return true;
      if (!this.alive && !re.test(this.stderr)) throw new Error(`the CLI ended before ${String(re)}; stderr: ${this.stderr}`);
      return false;
    }, `${String(re)} on stderr (so far: ${JSON.stringify(this.stderr)})`, timeoutMs);
  }

  /** The exit, bounded. */
  async exit(timeoutMs = WAIT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return within(this.exited, timeoutMs, () => `the CLI did not exit within ${timeoutMs} ms; stderr: ${this.stderr}`);
  }

  /** SIGTERM, then SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    await terminate(this.child, this.exited, 10_000);
  }
}

/** The daemon pid a --daemon mount printed ("daemon pid N"). */
export function daemonPid(stderr: string): number {
  const m = /daemon pid (\d+)/.exec(stderr);
  if (!m) throw new Error(`no daemon pid in: ${stderr}`);
  return Number(m[1]);
}

export async function mounted(mnt: string): Promise<boolean> {
  return (await findMount(mnt)) !== undefined;
}

/** Unmount everything under `dir` (fusermount -u, then -uz). */
export async function unmountAllUnder(dir: string): Promise<void> {
  const under = async (): Promise<string[]> =>
    (await readMountinfo()).filter((e) => e.mountPoint === dir || e.mountPoint.startsWith(`${dir}/`)).map((e) => e.mountPoint).reverse();
  for (let i = 0; i < 3; i++) {
    const left = await under();
    if (left.length === 0) return;
    for (const mnt of left) await fusermount(mnt, { lazy: i > 0 }).catch(() => undefined);
  }
}

/** A temporary directory (no dots in its path: mount -t fuse.PATH needs that). */
export async function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `machpager-${label}-`));
}

export async function removeTemp(dir: string): Promise<void> {
  const left = (await readMountinfo()).filter((e) => e.mountPoint === dir || e.mountPoint.startsWith(`${dir}/`));
  if (left.length === 0) await rm(dir, { recursive: true, force: true });
}
