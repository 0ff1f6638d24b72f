/**
 * --daemon: the command returns only once the mount answers, and the
 * mount lives on in a detached daemon.
 *
 * How readiness travels. The parent (the command the user ran) does every
 * check first (preflight), then starts this program again, detached (its
 * own session, cwd /, stdin from /dev/null, stdout and stderr to the log
 * file or /dev/null), with one more descriptor, fd 3: a pipe to the parent.
 * The child gets the checked plan as JSON in MACHPAGER_DAEMON_PLAN, opens
 * the store, mounts, stats the mountpoint through FUSE, and then writes one
 * JSON line on fd 3 — {"type":"ready","line":"mounted ..."} or
 * {"type":"error","line":"...","exitCode":N} — and closes it. The parent
 * prints the line and exits 0 (or with the child's code). If the child dies
 * without a word, or says nothing within --daemon-timeout (30 s), the parent
 * stops it and fails with exit 69. A Ctrl-C in the parent while it waits
 * stops the child too.
 */
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CliError, errorMessage } from '../cli/cli-error.js';
import type { CliDeps } from '../cli/deps.js';
import { EXIT } from '../cli/exit-codes.js';
import type { MountPlan } from '../cli/mount-plan.js';
import { createDaemonLog } from './log.js';
import type { Preflight } from './preflight.js';
import { serveMount } from './serve.js';

/** The environment variable that carries the plan to the daemon. */
export const DAEMON_PLAN_ENV = 'MACHPAGER_DAEMON_PLAN';
/** The daemon's end of the readiness pipe. */
export const READY_FD = 3;

interface DaemonPayload {
  readonly plan: MountPlan;
  readonly pre: Preflight;
}

type Report = { readonly type: 'ready'; readonly line: string; readonly pid: number } | { readonly type: 'error'; readonly line: string; readonly exitCode: number };

// ---------------------------------------------------------------------------
// The parent

/** Start the daemon for a checked plan and wait until it reports; resolves with the exit code. */
export async function startDaemon(plan: MountPlan, pre: Preflight, deps: CliDeps, log: (line: string) => void): Promise<number> {
  let logFile;
  if (plan.logFile !== undefined) {
    try {
      logFile = await open(plan.logFile, 'a', 0o640);
    } catch (err) {
      throw new CliError(`--log-file ${plan.logFile}`, `cannot open it (${errorMessage(err)})`, EXIT.CANTCREAT);
    }
  }
  const out = logFile?.fd ?? 'ignore';
  const payload: DaemonPayload = { plan, pre };
  let child;
  try {
    child = spawn(deps.self.command, [...deps.self.args, 'mount', '--daemon-child', '--', plan.store.name, pre.mountpoint], {
      detached: true,
      cwd: '/',
      stdio: ['ignore', out, out, 'pipe'],
      env: { ...deps.env, [DAEMON_PLAN_ENV]: JSON.stringify(payload) },
    });
  } finally {
    await logFile?.close();
  }
  const daemon = child;
  const pipe = daemon.stdio[READY_FD] as Readable;

  return new Promise<number>((resolve) => {
    let settled = false;
    let text = '';
    const settle = (code: number, line?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (line !== undefined) log(line);
      pipe.destroy();
      daemon.unref();
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      daemon.kill('SIGTERM');
      settle(EXIT.FAILURE, `${signal}: stopped the daemon (pid ${daemon.pid ?? '?'}) before its mount was ready`);
    };
    const timer = setTimeout(() => {
      daemon.kill('SIGTERM');
      settle(EXIT.UNAVAILABLE, `mount ${pre.mountpoint}: the daemon (pid ${daemon.pid ?? '?'}) was not ready within ${plan.daemonTimeoutMs / 1000} s; stopped it${whereLogs(plan)}`);
    }, plan.daemonTimeoutMs);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      let report: Report;
      try {
        report = JSON.parse(text.slice(0, nl)) as Report;
      } catch {
        settle(EXIT.FAILURE, `mount ${pre.mountpoint}: the daemon said something unexpected: ${text.slice(0, nl)}`);
        return;
      }
      if (report.type === 'ready') {
        log(report.line);
        const logs = plan.logFile === undefined ? 'its messages are discarded (add --log-file PATH to keep them)' : `it logs to ${plan.logFile}`;
        settle(EXIT.OK, `daemon pid ${report.pid}; ${logs}; unmount with: fusermount -u ${pre.mountpoint}`);
      } else {
        settle(report.exitCode, report.line);
      }
    });
    pipe.on('error', () => undefined);
    daemon.on('error', (err) => settle(EXIT.UNAVAILABLE, `cannot start the daemon: ${errorMessage(err)}`));
    // 'close' comes after the pipe's last data: an error line is read before this.
    daemon.on('close', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code ?? '?'}`;
      settle(EXIT.UNAVAILABLE, `mount ${pre.mountpoint}: the daemon ${how} before its mount was ready${whereLogs(plan)}`);
    });
  });
}

function whereLogs(plan: MountPlan): string {
  return plan.logFile === undefined ? ' (run in the foreground, or add --log-file PATH, to see why)' : ` (see ${plan.logFile})`;
}

// ---------------------------------------------------------------------------
// The daemon

function report(r: Report): void {
  try {
    writeSync(READY_FD, `${JSON.stringify(r)}\n`);
  } catch {
    // The parent is gone (it timed out, or was interrupted): nobody to tell.
  }
  try {
    closeSync(READY_FD);
  } catch {
    // already closed
  }
}

/**
 * The daemon side of --daemon (mount --daemon-child): serve the plan from
 * the environment, report on fd 3. Its log (stderr: the --log-file, or
 * nothing) has the time and the pid on every text line.
 */
export async function runDaemonChild(deps: CliDeps): Promise<number> {
  const json = deps.env[DAEMON_PLAN_ENV];
  delete process.env[DAEMON_PLAN_ENV];
  if (json === undefined) {
    throw new CliError('--daemon-child', `is internal to --daemon (no ${DAEMON_PLAN_ENV} in the environment)`, EXIT.USAGE);
  }
  const { plan, pre } = JSON.parse(json) as DaemonPayload;
  const log = createDaemonLog({ level: plan.logLevel, format: plan.logFormat, write: deps.stderr, text: 'stamped' });
  let reported = false;
  try {
    return await serveMount(plan, pre, deps, {
      log,
      ready: (line) => {
        log.info(line);
        reported = true;
        report({ type: 'ready', line, pid: process.pid });
      },
    });
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError('daemon', errorMessage(err), EXIT.FAILURE);
    log.error(e.line);
    if (!reported) report({ type: 'error', line: e.line, exitCode: e.exitCode });
    return e.exitCode;
  }
}
