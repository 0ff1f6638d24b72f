/**
 * One mount's life, in the process that serves it (the foreground command,
 * or the daemon --daemon started):
 *
 *   open the filesystem → mount → stat the mountpoint (it answers)
 *   → control socket (and the metrics endpoint, if asked for) → ready
 *   → serve until one of:
 *     SIGINT / SIGTERM / SIGHUP    "syncing..." → sync → unmount → close → exit 0
 *       a second signal            "still syncing (N s)" (nothing else changes)
 *       a third signal             unmount lazily (fusermount -uz) at once, exit 1:
 *                                  whatever was not synced yet is lost
 *     an external unmount          (fusermount -u, umount: noticed within a second)
 *                                  → sync → close → exit 0
 *     an uncaught error            unmount lazily, close (bounded), exit 1
 *
 * A failure before ready is a CliError, and a store that did not exist
 * before is removed again (nothing is left behind by a mount that failed).
 *
 * This process serves the mount: it never makes a synchronous file-system
 * call on it (only fs/promises, which runs in the thread pool, and child
 * processes).
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { FuseMountOptions } from '../fs/fuse/options.js';
import { fusermount } from '../fs/fuse/mount-table.js';
import { FuseMount } from '../fs/fuse/mount.js';
import { startMetrics, type MetricsEndpoint } from '../control/metrics.js';
import { ControlServer, IN_PROCESS_CALLER, IN_PROCESS_SESSION } from '../control/server.js';
import { ControlError } from '../control/control-error.js';
import { ControlFifo } from '../control/control-fifo.js';
import type { WebView } from '../web/web-launcher.js';
import { webUrl } from '../web/web-address.js';
import { socketCandidates } from '../control/socket-path.js';
import { withTimeout } from '../timeout.js';
import { machpagerVersion } from '../version.js';
import { CliError, errorMessage, toCliError } from '../cli/cli-error.js';
import type { CliDeps, FilesystemConfig, MountableFilesystem } from '../cli/deps.js';
import { EXIT } from '../cli/exit-codes.js';
import { describePlan, type MountPlan } from '../cli/mount-plan.js';
import { describeCaller, type ControlChange } from '../control/change.js';
import type { DaemonLog } from './log.js';
import type { Preflight } from './preflight.js';
import { lockStore, withDatabaseClaim, type StoreLock } from './store-lock.js';

export interface ServeHooks {
  /** The daemon log (log.ts): every message of the serving mount. */
  readonly log: DaemonLog;
  /** The mount answers: `line` is "mounted STORE on MOUNTPOINT (...)". */
  readonly ready: (line: string) => void;
  /** Stopping has begun (a signal, an external unmount, a fatal error): `line` says what happens now. */
  readonly stopping?: (line: string) => void;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const FORCE_MS = 10_000;
/** How long a stop waits between syncs while the store refuses pages (held, not lost), at most. */
const HELD_RETRY_MAX_MS = 30_000;
const PROBE_MS = 10_000;

type Phase = 'starting' | 'serving' | 'syncing' | 'unmounting' | 'closing' | 'done';

/** A wait that ran out: `what` did not answer within `ms`. */
function noAnswer(what: string, ms: number): Error {
  return new Error(`${what}: no answer within ${ms / 1000} s`);
}

/** The filesystem's FUSE options with the user's applied over them (extra options of both kept). */
export function mergeFuseOptions(fsOptions: FuseMountOptions, user: FuseMountOptions): FuseMountOptions {
  const extra = [...(fsOptions.extraOptions ?? []), ...(user.extraOptions ?? [])];
  const merged: FuseMountOptions = { ...fsOptions, ...user };
  return extra.length > 0 ? { ...merged, extraOptions: extra } : merged;
}

/** Remove what opening a new store created (preflight listed those paths when they did not exist). */
async function removeCreated(paths: readonly string[], log: DaemonLog): Promise<void> {
  for (const p of paths) {
    await rm(p, { recursive: true, force: true }).catch((err: unknown) => log.warn(`could not remove ${p}: ${errorMessage(err)}`));
  }
}

/** One info line for a change a control request made: what, from what to what, who asked. */
export function logChange(log: DaemonLog, c: ControlChange): void {
  const who = describeCaller(c.caller);
  log.info(`${c.msg}${who === '' ? '' : ` (from ${who})`}`, {
    change: c.change,
    ...(c.old !== undefined ? { old: c.old } : {}),
    ...(c.new !== undefined ? { new: c.new } : {}),
    ...c.detail,
    ...(c.caller ? { from: { connection: c.caller.connection, ...(c.caller.pid !== undefined ? { pid: c.caller.pid } : {}), ...(c.caller.uid !== undefined ? { uid: c.caller.uid } : {}) } } : {}),
  });
}

/**
 * Mount `plan` and serve it until it is unmounted; resolves with the exit
 * code. Rejects with a CliError if the mount never came up.
 */
export async function serveMount(plan: MountPlan, pre: Preflight, deps: CliDeps, hooks: ServeHooks): Promise<number> {
  const { log } = hooks;
  const mnt = pre.mountpoint;
  let phase: Phase = 'starting';
  let fs: MountableFilesystem | undefined;
  let mount: FuseMount | undefined;
  let lock: StoreLock | undefined;
  let control: ControlServer | undefined;
  let metrics: MetricsEndpoint | undefined;
  let web: WebView | undefined;
  let fifo: ControlFifo | undefined;
  let stopRequested = false;
  let extraSignals = 0;
  let stopStarted = 0;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = (code) => {
      if (phase === 'done') return;
      phase = 'done';
      resolve(code);
    };
  });

  // ---- stopping

  /** The control socket and the metrics endpoint go first: nothing asks a closing filesystem. */
  const closeControl = async (): Promise<void> => {
    const [c, e, w, f] = [control, metrics, web, fifo];
    control = undefined;
    metrics = undefined;
    web = undefined;
    fifo = undefined;
    await f?.close().catch((err: unknown) => log.warn(`closing the control fifo: ${errorMessage(err)}`));
    await c?.close().catch((err: unknown) => log.warn(`closing the control socket: ${errorMessage(err)}`));
    await e?.close().catch((err: unknown) => log.warn(`closing the metrics endpoint: ${errorMessage(err)}`));
    await w?.close().catch((err: unknown) => log.warn(`closing the web view: ${errorMessage(err)}`));
  };

  const stop = async (external: boolean): Promise<number> => {
    let code: number = EXIT.OK;
    const filesystem = fs;
    const m = mount;
    if (!filesystem || !m) return EXIT.FAILURE;
    phase = 'syncing';
    // Pages the store refused are held, not lost: the mount stays up and the sync is tried
    // again until the store takes them (space freed, disk back). A third signal abandons them.
    for (let wait = 1000; ; wait = Math.min(wait * 2, HELD_RETRY_MAX_MS)) {
      try {
        await filesystem.sync();
        break;
      } catch (err) {
        const held = filesystem.heldPages?.() ?? 0;
        log.error(`sync failed: ${errorMessage(err)}${held > 0 ? `; ${held} page(s) held in memory, trying again in ${wait / 1000} s (free space on the store; a third signal abandons them)` : ''}`);
        if (held === 0) {
          code = EXIT.IOERR;
          break;
        }
        await sleep(wait);
      }
    }
    await closeControl();
    if (!external && m.mounted) {
      phase = 'unmounting';
      try {
        await m.unmount();
      } catch (err) {
        log.error(`unmount failed: ${errorMessage(err)}`);
        if (code === EXIT.OK) code = EXIT.FAILURE;
      }
    }
    phase = 'closing';
    try {
      await filesystem.close();
    } catch (err) {
      log.error(`closing the store failed: ${errorMessage(err)}`);
      if (code === EXIT.OK) code = EXIT.IOERR;
    }
    await lock?.release();
    const took = ((Date.now() - stopStarted) / 1000).toFixed(1);
    if (code === EXIT.OK) log.info(`unmounted ${mnt}; ${plan.store.name} synced and closed (${took} s)`);
    else log.error(`stopped with errors (exit ${code})`);
    return code;
  };

  const beginStop = (external: boolean): void => {
    stopStarted = Date.now();
    hooks.stopping?.(`syncing ${plan.store.name}${external ? '' : ` and unmounting ${mnt}`}`);
    stop(external).then(finish, (err: unknown) => {
      log.error(`stopping failed: ${errorMessage(err)}`);
      finish(EXIT.FAILURE);
    });
  };

  /** The third signal: detach the mount now and leave. */
  const force = (): void => {
    log.warn(`detaching ${mnt} lazily without finishing (data not synced yet is lost)`);
    phase = 'closing';
    withTimeout(fusermount(mnt, { lazy: true }), FORCE_MS, () => noAnswer('fusermount -uz', FORCE_MS)).then(
      () => finish(EXIT.FAILURE),
      (err: unknown) => {
        log.error(`lazy unmount failed: ${errorMessage(err)}`);
        finish(EXIT.FAILURE);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase === 'done') return;
    if (phase === 'serving') {
      log.info(`${signal}: syncing...`);
      beginStop(false);
      return;
    }
    if (phase === 'starting' && !stopRequested) {
      stopRequested = true;
      log.info(`${signal}: stopping as soon as the mount is up`);
      return;
    }
    extraSignals++;
    if (extraSignals === 1) {
      const secs = stopStarted === 0 ? '' : ` (${Math.round((Date.now() - stopStarted) / 1000)} s)`;
      log.info(`${signal}: still ${phase === 'starting' ? 'mounting' : phase}${secs}; one more signal detaches the mount at once and exits without finishing (data not synced yet is lost)`);
      for (const line of fs?.describeWaits?.() ?? []) log.info(`  waiting on ${line}`);
      return;
    }
    force();
  };

  const onFatal = (err: unknown): void => {
    if (phase === 'done' || phase === 'closing') return;
    log.error(`internal error: ${errorMessage(err)}`);
    hooks.stopping?.(`internal error: ${errorMessage(err)}; detaching ${mnt}`);
    if (err instanceof Error && err.stack !== undefined && (plan.debug || log.enabled('debug'))) log.error(err.stack.replace(/\n\s*/g, ' | '));
    phase = 'closing';
    const detach = mount?.mounted ? withTimeout(fusermount(mnt, { lazy: true }), FORCE_MS, () => noAnswer('fusermount -uz', FORCE_MS)) : Promise.resolve();
    const filesystem = fs;
    detach
      .catch((e: unknown) => log.error(`lazy unmount failed: ${errorMessage(e)}`))
      .then(closeControl)
      .then(() => (filesystem ? withTimeout(filesystem.close(), FORCE_MS, () => noAnswer('closing the store', FORCE_MS)) : undefined))
      .then(() => lock?.release())
      .catch((e: unknown) => log.error(`closing the store failed: ${errorMessage(e)}`))
      .finally(() => finish(EXIT.FAILURE))
      .catch(() => undefined);
  };

  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  const removeHandlers = (): void => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  };

  // ---- starting

  const created = [...pre.mayCreate];
  const start = async (): Promise<void> => {
    if (plan.store.isDefault) {
      const dir = path.dirname(plan.store.path);
      try {
        const first = await mkdir(dir, { recursive: true, mode: 0o700 });
        if (first !== undefined) created.unshift(first);
      } catch (err) {
        throw new CliError(`store ${plan.store.name}`, `cannot create ${dir} (${errorMessage(err)})`, EXIT.CANTCREAT);
      }
    }

    if (plan.store.kind === 'file' && !pre.storeExists) {
      // The lock lives in the directory: make it now (preflight checked its parent; it is in mayCreate).
      await mkdir(plan.store.path, { mode: 0o700 }).catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 'EEXIST') throw new CliError(`store ${plan.store.name}`, `cannot create ${plan.store.path} (${errorMessage(err)})`, EXIT.CANTCREAT);
      });
    }
    // Coherent mounts share the store: the database's table of mounts keeps count of them instead.
    const local = plan.coherent ? undefined : await lockStore(plan.store, { readOnly: plan.readOnly, log: log.at('info') });
    // A postgres: database is claimed in the database too: the lock file sees only this machine.
    lock = plan.store.kind === 'postgres' ? await withDatabaseClaim(local, plan.store, plan.coherent ? 'shared' : 'alone', log.at('warn')) : local;
    const heldLock = lock;

    const config: FilesystemConfig = {
      store: plan.store.name,
      cacheSize: plan.cacheSize,
      pageSize: plan.pageSize,
      policy: plan.policy,
      readOnly: plan.readOnly,
      cacheMode: plan.cacheMode,
      pagerTimeoutMs: plan.pagerTimeoutMs,
      liveMrc: plan.liveMrc,
      create: pre.create,
      // The kernel's, the pagers' and the filesystem's own lines: trouble they met (prefixed kernel:, pager: ...).
      log: log.at('warn'),
      ...(plan.inject !== undefined ? { inject: plan.inject } : {}),
      ...(plan.coherent ? { coherent: true } : {}),
    };
    try {
      fs = await deps.openFilesystem(config);
    } catch (err) {
      await heldLock?.release();
      await removeCreated(created, log);
      throw toCliError(err, `store ${plan.store.name}`, pre.storeExists ? EXIT.DATAERR : EXIT.CANTCREAT);
    }
    const opened = fs;

    const failed = async (err: unknown, what: string, fallback: CliError['exitCode']): Promise<never> => {
      await withTimeout(opened.close(), FORCE_MS, () => noAnswer('closing the store', FORCE_MS)).catch((e: unknown) => log.error(`closing the store failed: ${errorMessage(e)}`));
      await heldLock?.release();
      await removeCreated(created, log);
      throw toCliError(err, what, fallback);
    };

    let m: FuseMount;
    try {
      m = new FuseMount(mnt, opened.operations(), { ...mergeFuseOptions(opened.fuseOptions(), plan.fuse), watchIntervalMs: 1000 });
    } catch (err) {
      await failed(err, 'FUSE options', EXIT.USAGE);
      return;
    }
    m.on('opError', (err, op) => log.error(`FUSE ${op}: ${errorMessage(err)}`));
    m.on('unmounted', ({ external }) => {
      if (!external || phase === 'done') return;
      if (phase === 'serving') {
        log.info(`${mnt} was unmounted (fusermount -u or umount); syncing...`);
        beginStop(true);
      }
    });
    mount = m;
    try {
      await m.mount();
    } catch (err) {
      await failed(err, `mount ${mnt}`, EXIT.UNAVAILABLE);
      return;
    }
    // The mount answers: a stat through FUSE, from the thread pool (this thread serves it).
    try {
      await withTimeout(stat(mnt), PROBE_MS, () => noAnswer(`stat ${mnt}`, PROBE_MS));
    } catch (err) {
      await m.unmount().catch(() => fusermount(mnt, { lazy: true })).catch((e: unknown) => log.error(`cannot unmount ${mnt}: ${errorMessage(e)}`));
      await failed(err, `mount ${mnt}`, EXIT.UNAVAILABLE);
    }
    if (m.options.directIo && m.sharedMmap === 'refused') {
      log.warn(`shared mmap refused: this kernel does not offer FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+), so mmap(MAP_SHARED) on ${mnt} fails with ENODEV; --cache-mode kernel maps files`);
    }

    const controller = opened.control?.({ mountpoint: mnt, version: machpagerVersion(), changed: (change) => logChange(log, change) });
    if (!controller) return;
    // Without its control socket the mount still serves files: say so, and go on.
    const socketPath = socketCandidates(mnt)[0];
    try {
      control = await ControlServer.start({ socketPath, handlers: controller.handlers(), log: log.at('error') });
      log.debug(`control socket ${socketPath}`);
    } catch (err) {
      log.warn(`no control socket (${socketPath}: ${errorMessage(err)}): stats, files and the control commands cannot reach this mount`);
    }
    if (plan.controlFifo !== undefined) {
      // Lines from the FIFO call the same handlers, in process; a FIFO that cannot be opened fails the mount as a bad endpoint does.
      const handlers = controller.handlers() as unknown as Record<string, ((p: Record<string, unknown>, c: typeof IN_PROCESS_CALLER, s: typeof IN_PROCESS_SESSION) => unknown) | undefined>;
      const call = async (method: string, params: Record<string, unknown>): Promise<unknown> => {
        const handler = handlers[method];
        if (!handler) throw new ControlError('ENOSYS', `this daemon has no ${method} verb`);
        return await handler(params, IN_PROCESS_CALLER, IN_PROCESS_SESSION);
      };
      try {
        fifo = await ControlFifo.open({ path: plan.controlFifo, call, log: { info: (l) => log.info(l), warn: (l) => log.warn(l) } });
        log.info(`control fifo ${plan.controlFifo}`);
      } catch (err) {
        await closeControl();
        await m.unmount().catch(() => fusermount(mnt, { lazy: true })).catch((e: unknown) => log.error(`cannot unmount ${mnt}: ${errorMessage(e)}`));
        await failed(err, `--control-fifo ${plan.controlFifo}`, EXIT.UNAVAILABLE);
      }
    }
    // An endpoint that was asked for and cannot listen is a failed mount.
    if (plan.metrics) {
      try {
        metrics = await startMetrics(plan.metrics, () => controller.stats());
        log.info(`metrics at ${metrics.url}`);
      } catch (err) {
        await closeControl();
        await m.unmount().catch(() => fusermount(mnt, { lazy: true })).catch((e: unknown) => log.error(`cannot unmount ${mnt}: ${errorMessage(e)}`));
        await failed(err, `--metrics ${plan.metrics.host}:${plan.metrics.port}`, EXIT.UNAVAILABLE);
      }
    }
    if (plan.web) {
      try {
        // The web view calls the control handlers in process: the same operations, the same checks.
        const { startWebView } = await import('../web/web-launcher.js');
        const handlers = controller.handlers();
        web = await startWebView({ address: plan.web, call: async (method, params) => handlers[method](params, IN_PROCESS_CALLER, IN_PROCESS_SESSION), log: log.at('warn') });
        controller.webUrl = web.controlUrl;
      } catch (err) {
        await closeControl();
        await m.unmount().catch(() => fusermount(mnt, { lazy: true })).catch((e: unknown) => log.error(`cannot unmount ${mnt}: ${errorMessage(e)}`));
        await failed(err, `--web ${webUrl(plan.web)}`, EXIT.UNAVAILABLE);
      }
    }
  };

  // A fatal error or a third signal can end things while starting: race them.
  const starting = start();
  let outcome: 'up' | number;
  try {
    outcome = await Promise.race([starting.then(() => 'up' as const), done]);
  } catch (err) {
    await lock?.release();
    removeHandlers();
    phase = 'done';
    throw err;
  }
  if (outcome !== 'up') {
    starting.catch(() => undefined);
    removeHandlers();
    return outcome;
  }

  // ---- serving
  const keepAlive = setInterval(() => undefined, 1 << 30);
  phase = 'serving';
  if (stopRequested) {
    log.info('syncing...');
    beginStop(false);
  } else {
    // The web view's key is not logged (a log file may be read by others): `machpager web MOUNT` prints it.
    const view = web ? `; web view ${web.url} (read-only; machpager web ${mnt} prints the link that can change the mount)` : '';
    hooks.ready(`mounted ${plan.store.name} on ${mnt} (${describePlan(plan)})${view}`);
  }
  try {
    return await done;
  } finally {
    clearInterval(keepAlive);
    removeHandlers();
  }
}
