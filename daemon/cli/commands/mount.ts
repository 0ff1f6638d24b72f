/**
 * `machpager mount [STORE] MOUNTPOINT`: check everything, then serve the
 * mount in the foreground (default) or hand it to a daemon (--daemon).
 * See service/serve.ts for the life of a mount and service/daemonize.ts for --daemon.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_POLICY, policyNames } from '../../../kernel/index.js';
import { formatMetricsAddress } from '../../control/metrics-address.js';
import { webUrl } from '../../web/web-address.js';
import { buildMountOptions } from '../../fs/fuse/options.js';
import { formatDuration } from '../duration.js';
import { EXIT, EXIT_CODES_HELP } from '../exit-codes.js';
import {
  DEFAULT_CACHE_MODE,
  DEFAULT_CACHE_SIZE,
  DEFAULT_DAEMON_TIMEOUT_S,
  DEFAULT_PAGE_SIZE,
  DEFAULT_PAGER_TIMEOUT,
  describePlan,
  resolveMountPlan,
  type Given,
  type MountInput,
} from '../mount-plan.js';
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL } from '../../service/log-options.js';
import { preflight } from '../../service/preflight.js';
import { SdNotifier } from '../../service/sd-notify.js';
import { checkStoreWord } from '../store-word.js';
import type { CliCommand, CommandContext } from './command.js';

interface MountOptions {
  cacheSize?: string;
  pageSize?: string;
  policy?: string;
  cacheMode?: string;
  store?: string;
  o?: string[];
  daemon?: boolean;
  logFile?: string;
  logLevel?: string;
  logFormat?: string;
  daemonTimeout?: string;
  foreground?: boolean;
  debug?: boolean;
  dryRun?: boolean;
  daemonChild?: boolean;
  metrics?: string;
  web?: string;
  webAllowRemote?: boolean;
  coherent?: boolean;
  inject?: string;
  pagerTimeout?: string;
  controlFifo?: string;
  liveMrc?: string;
}

const HELP_AFTER = `
STORE:
  sqlite:PATH     catalog and page data in one SQLite file (made if missing)
  file:DIR        catalog in DIR/catalog.db, page data in raw files under DIR/data
  postgres://USER@HOST/DB, postgres:///DB?host=SOCKDIR&user=NAME
                  catalog and page data in a PostgreSQL database (an empty one
                  becomes a store; one with other tables is refused)
  PATH.db, PATH   short for sqlite:PATH.db, file:PATH (a bare word, no / or :,
                  must exist: a typo of a command creates nothing)
  fault:SPEC:STORE  STORE with faults injected, as --inject SPEC
  (none)          the embedded default store, also spelled default, none or machpager:
                  $MACHPAGER_HOME/machpager.db if MACHPAGER_HOME is set, else
                  /var/lib/machpager/machpager.db for root, else
                  \${XDG_DATA_HOME:-~/.local/share}/machpager/machpager.db
  A new store is made only when its directory exists (the default's is made).

-o OPTIONS (comma-separated, repeatable; key=value or key):
  ours        cache_size=SIZE page_size=SIZE policy=NAME cache_mode=direct|kernel
              store=STORE log_file=PATH log_level=LEVEL log_format=text|json
              metrics=ADDR:PORT inject=SPEC control_fifo=PATH live_mrc=on|off
              pager_timeout=DURATION (same as the flags; a flag and -o must
              agree; \\, is a comma inside a value)
  FUSE        allow_other allow_root default_permissions ro rw uid=N gid=N
              umask=OCTAL fsname=NAME subtype=NAME big_writes (on by default)
              no_big_writes direct_io kernel_cache auto_cache max_read=N max_write=N
              entry_timeout=S attr_timeout=S negative_timeout=S debug
              auto_unmount use_ino hard_remove
  dropped     what fstab and mount(8) add: defaults auto noauto nofail _netdev
              user users nouser owner group comment=... x-* (x-systemd.*) suid dev exec
  anything else goes to libfuse as it is (noatime, nosuid, max_readahead=N, nonempty)

Environment: MACHPAGER_CACHE_SIZE, MACHPAGER_PAGE_SIZE, MACHPAGER_POLICY,
MACHPAGER_CACHE_MODE, MACHPAGER_STORE, MACHPAGER_METRICS, MACHPAGER_PAGER_TIMEOUT,
MACHPAGER_LOG_LEVEL, MACHPAGER_LOG_FORMAT (below the flags and -o), MACHPAGER_OPTIONS (an -o list, below the command line's),
MACHPAGER_MOUNTPOINT (when no argument names the mountpoint), MACHPAGER_HOME.
With NOTIFY_SOCKET set (systemd Type=notify), a foreground mount tells the
service manager READY=1 once it answers and STOPPING=1 when it stops, through
systemd-notify (see systemd/machpager@.service).

The daemon log: what the mount does and every change made while it runs
(policy, cache-size, evict, sync, trace start/stop, inject: one info line
each, old and new value and the caller), on stderr (with --daemon, in the
--log-file). --log-level trace|debug|info|warn|error|silent (default info)
drops what is below it; --log-format text (default: one human line each) or
json (one JSON object a line, pino's: level, time, pid, msg and the fields of
the message, for journald and log shippers).

Metrics: --metrics 127.0.0.1:9464 serves the page-cache statistics in the
Prometheus text format at http://127.0.0.1:9464/metrics while mounted. Loopback
addresses only (127.x.y.z, localhost, [::1]): the endpoint has no
authentication; publish it through a reverse proxy. Port 0 takes a free port.

Web view: --web 127.0.0.1:8080 serves a live picture of the page cache at
http://127.0.0.1:8080/ while mounted (the frame pool, hit ratio, faults,
residency per file, fault latency, the miss-ratio curve of a recorded trace).
Loopback only unless --web-allow-remote. The page is read-only; the link that
can switch the policy and the cache size carries a key, printed by
machpager web MOUNTPOINT for those who may control the mount.

Rehearsing failures: --inject SPEC makes every file's data store fail or slow
down on purpose (the catalog is left alone). SPEC is comma-separated:
  OP[(GLOB)][@OFFSET+[LENGTH]][%RATE][#NTH][*COUNT]=CODE
      OP: read, write, rw, sync, allocate (the store: programs see EIO, ENOSPC
      or EDQUOT; a pager reports nothing else, EROFS is EIO) or open, create,
      mkdir, mknod, symlink, link, unlink, rmdir, rename, truncate, fsync,
      fsyncdir, flush, chmod, chown, utimens, setxattr, removexattr (the
      operation fails with CODE before it acts); GLOB: the files ('*.wal',
      '/db/**'); OFFSET, LENGTH: file offsets (K, M, G; no LENGTH: to the end);
      RATE 0..1, drawn from the seed; NTH: the NTH match only (with COUNT:
      COUNT from there); COUNT: faults before the rule disarms; CODE: an errno
  seed=N   latency=LAT, OP-latency=LAT (LAT: MS, uniform/MIN/MAX, exp/MEAN,
      normal/MEAN/SD, drawn from the seed)
  e.g. --inject 'read=EIO'  --inject 'write(*.db)@0+1M%0.1=ENOSPC,seed=3,latency=exp/5'
machpager inject [MOUNTPOINT] [SPEC | --clear | --on | --off | --freeze | --thaw]
changes the rules while mounted (--inject '' mounts with none yet);
machpager stats --json counts the faults.

Control FIFO: --control-fifo PATH reads one command a line (crash, inject SPEC,
freeze, thaw, sync [PATH], evict [PATH], stats, and LazyFS's lazyfs::clear-cache,
lazyfs::cache-checkpoint, lazyfs::display-cache-usage); each answer is a line
of the daemon log: echo 'inject read=EIO' > PATH.

Pager timeout: a read or write whose page the pager has not answered for
within --pager-timeout (data_request, or data_unlock for a write) fails with
EIO, counted as pager_timeouts in machpager stats; other files keep working
and the next access asks the pager again. DURATION is a number with a unit
(500ms, 30s, 2m; a bare number is seconds); 0 waits for ever. The default,
${DEFAULT_PAGER_TIMEOUT}, is longer than a working store takes (SQLite's 5 s busy wait on a
disk Linux gives 30 s per command) and shorter than the 120 s after which
Linux reports a blocked task as hung.

Cache modes: direct (FUSE direct_io: every read and write reaches the simulated
page cache; shared mmap needs Linux 6.6+) or kernel (Linux's page cache in front:
mmap works, the simulated cache sees only its misses).

Stopping: SIGINT (Ctrl-C), SIGTERM or SIGHUP syncs, unmounts and exits 0. A
second signal only says it is still syncing; a third detaches the mount lazily
(fusermount -uz) and exits 1 without finishing the sync. fusermount -u MOUNTPOINT
(or umount) from outside makes it sync and exit 0. A stale mount left by a
killed daemon ("Transport endpoint is not connected") is cleaned by the next mount.

Examples:
  machpager mount mnt                       the default store on ./mnt, in the foreground
  machpager mount sqlite:/srv/home.db /mnt/home --cache-size 256M \\
      -o allow_other,default_permissions
  machpager mount --daemon --log-file /var/log/machpager.log file:/srv/pages /mnt/pages
  machpager mount --policy lru --page-size 16K --cache-mode kernel home.db mnt
  machpager mount --dry-run home.db mnt     check everything, change nothing
  machpager mount --inject 'read%0.01=EIO,seed=7' sqlite:/tmp/t.db mnt
                                            1% of page reads fail, the same ones each run

${EXIT_CODES_HELP}
`;

/**
 * An option's value and where it came from: the command line, else the
 * environment variable (read from the injected environment, not by
 * commander, so that tests and the daemon see the same), else its default.
 */
function given(command: Command, env: CommandContext['deps']['env'], key: keyof MountOptions, flag: string, envVar?: string): Given {
  const value = command.opts<MountOptions>()[key];
  const spelling = { flag, ...(envVar !== undefined ? { envVar } : {}) };
  if (command.getOptionValueSource(key) === 'cli' && typeof value === 'string') return { value, source: 'cli', ...spelling };
  const fromEnv = envVar === undefined ? undefined : env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'env', ...spelling };
  const option = command.options.find((o) => o.attributeName() === key);
  const fallback: unknown = option?.defaultValue;
  return typeof fallback === 'string' ? { value: fallback, source: 'default', ...spelling } : { value: undefined, source: undefined, ...spelling };
}

async function runMount(args: string[], command: Command, ctx: CommandContext): Promise<void> {
  const { deps, log } = ctx;
  const opts = command.opts<MountOptions>();
  // The daemon's life (and the FUSE binding under it) loads only when a mount is served, not for every command.
  const { runDaemonChild, startDaemon } = await import('../../service/daemonize.js');
  const { serveMount } = await import('../../service/serve.js');
  const { createDaemonLog } = await import('../../service/log.js');
  if (opts.daemonChild) {
    ctx.exitCode = await runDaemonChild(deps);
    return;
  }
  const input: MountInput = {
    args,
    cacheSize: given(command, deps.env, 'cacheSize', '--cache-size', 'MACHPAGER_CACHE_SIZE'),
    pageSize: given(command, deps.env, 'pageSize', '--page-size', 'MACHPAGER_PAGE_SIZE'),
    policy: given(command, deps.env, 'policy', '--policy', 'MACHPAGER_POLICY'),
    cacheMode: given(command, deps.env, 'cacheMode', '--cache-mode', 'MACHPAGER_CACHE_MODE'),
    store: given(command, deps.env, 'store', '--store', 'MACHPAGER_STORE'),
    logFile: given(command, deps.env, 'logFile', '--log-file'),
    logLevel: given(command, deps.env, 'logLevel', '--log-level', 'MACHPAGER_LOG_LEVEL'),
    logFormat: given(command, deps.env, 'logFormat', '--log-format', 'MACHPAGER_LOG_FORMAT'),
    daemonTimeout: given(command, deps.env, 'daemonTimeout', '--daemon-timeout'),
    metrics: given(command, deps.env, 'metrics', '--metrics', 'MACHPAGER_METRICS'),
    web: given(command, deps.env, 'web', '--web'),
    webAllowRemote: opts.webAllowRemote === true,
    coherent: opts.coherent === true || deps.env.MACHPAGER_COHERENT === '1',
    inject: given(command, deps.env, 'inject', '--inject', 'MACHPAGER_INJECT'),
    pagerTimeout: given(command, deps.env, 'pagerTimeout', '--pager-timeout', 'MACHPAGER_PAGER_TIMEOUT'),
    controlFifo: given(command, deps.env, 'controlFifo', '--control-fifo', 'MACHPAGER_CONTROL_FIFO'),
    liveMrc: given(command, deps.env, 'liveMrc', '--live-mrc', 'MACHPAGER_LIVE_MRC'),
    options: opts.o ?? [],
    envOptions: deps.env.MACHPAGER_OPTIONS,
    envMountpoint: deps.env.MACHPAGER_MOUNTPOINT,
    daemon: opts.daemon === true,
    foreground: opts.foreground === true,
    debug: opts.debug === true,
    dryRun: opts.dryRun === true,
  };
  if (args.length > 1) await checkStoreWord(args[0] ?? '', deps.cwd);
  const plan = resolveMountPlan(input, deps);
  if (plan.debug && plan.ignoredOptions.length > 0) log(`ignored fstab-only options: ${plan.ignoredOptions.join(',')}`);
  const pre = await preflight(plan, deps);

  if (plan.dryRun) {
    const fuse = buildMountOptions(plan.fuse).join(',');
    deps.stdout(
      `would mount ${plan.store.name} (${pre.storeExists ? 'existing store' : 'new store, would be created'}) on ${pre.mountpoint} (${describePlan(plan)})` +
        `${pre.staleMount ? ', after cleaning the stale mount there' : ''}; FUSE options ${fuse} over the filesystem's own` +
        `; pager timeout ${plan.pagerTimeoutMs === 0 ? 'none' : formatDuration(plan.pagerTimeoutMs)}` +
        `${plan.metrics ? `; metrics on http://${formatMetricsAddress(plan.metrics)}/metrics` : ''}` +
        `${plan.web ? `; web view on ${webUrl(plan.web)}` : ''}` +
        `; ${plan.daemon ? 'as a daemon' : 'in the foreground'}; nothing was changed\n`,
    );
    ctx.exitCode = EXIT.OK;
    return;
  }
  if (pre.staleMount) log(`cleaned a stale mount at ${pre.mountpoint} (its daemon had died)`);
  if (plan.daemon) {
    ctx.exitCode = await startDaemon(plan, pre, deps, log);
    return;
  }
  // From here on, what the mount says goes through the daemon log (on stderr, in the foreground).
  const daemonLog = createDaemonLog({ level: plan.logLevel, format: plan.logFormat, write: deps.stderr, text: 'plain' });
  // Under systemd (Type=notify), tell it when the mount answers and when it stops.
  const notifier = new SdNotifier({ env: deps.env, log: daemonLog.at('warn') });
  try {
    ctx.exitCode = await serveMount(plan, pre, deps, {
      log: daemonLog,
      ready: (line) => {
        daemonLog.info(line);
        daemonLog.info(`serving in the foreground: Ctrl-C, or fusermount -u ${pre.mountpoint}, syncs and unmounts`);
        notifier.ready(line);
      },
      stopping: (line) => notifier.stopping(line),
    });
  } finally {
    // The last message (STOPPING=1) goes out before the process exits.
    await notifier.idle();
  }
}

export const mountCommand: CliCommand = {
  name: 'mount',
  register(program, ctx) {
    program
      .command('mount')
      .summary('mount a store on a directory (FUSE), in the foreground or as a daemon')
      .description(
        'Mount STORE on MOUNTPOINT, an existing empty directory, and serve it in the\n' +
          'foreground until it is unmounted. With --daemon, return once the mount answers\n' +
          'and leave a daemon serving it. Every value is checked before anything is opened\n' +
          'or created; a failure is one line on stderr and an exit code (below).',
      )
      .usage('[options] [STORE] MOUNTPOINT')
      .argument('[STORE]', 'the store (default: the embedded default store)')
      .argument('[MOUNTPOINT]', 'an existing empty directory')
      .addOption(new Option('--cache-size <size>', 'size of the simulated page cache (K, M, G suffixes)').env('MACHPAGER_CACHE_SIZE').default(DEFAULT_CACHE_SIZE))
      .addOption(new Option('--page-size <size>', 'page size: a power of two from 512 to 64K').env('MACHPAGER_PAGE_SIZE').default(DEFAULT_PAGE_SIZE))
      .addOption(new Option('--policy <name>', `replacement policy: ${policyNames().join(', ')}`).env('MACHPAGER_POLICY').default(DEFAULT_POLICY))
      .addOption(new Option('--cache-mode <mode>', 'direct or kernel (see below)').env('MACHPAGER_CACHE_MODE').default(DEFAULT_CACHE_MODE))
      .addOption(new Option('--store <store>', 'the store, instead of the STORE argument').env('MACHPAGER_STORE'))
      .addOption(new Option('-o <options>', 'mount options, comma-separated; repeatable (see below)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
      .addOption(
        new Option('--pager-timeout <duration>', 'a page the pager has not answered for in this long fails with EIO (500ms, 30s, 2m; 0: wait for ever)')
          .env('MACHPAGER_PAGER_TIMEOUT')
          .default(DEFAULT_PAGER_TIMEOUT),
      )
      .addOption(new Option('--metrics <addr:port>', 'serve Prometheus metrics at http://ADDR:PORT/metrics (loopback only; see below)').env('MACHPAGER_METRICS'))
      .addOption(new Option('--web <addr:port>', 'serve the live web view of the page cache at http://ADDR:PORT/ (loopback only; see below)'))
      .addOption(new Option('--coherent', 'share a postgres: store with other mounts, kept coherent by their pagers (docs/coherence.md; MACHPAGER_COHERENT=1)'))
      .addOption(new Option('--web-allow-remote', 'let --web listen on an address that is not loopback (anyone who reaches it reads the view)'))
      .addOption(new Option('--control-fifo <path>', 'read control commands from this FIFO, one a line (crash, inject, sync, evict ...; made if absent)').env('MACHPAGER_CONTROL_FIFO'))
      .addOption(new Option('--live-mrc <on|off>', 'keep the live miss-ratio curve (stats --mrc, top, the web view); off: none, not even its hash on the hit path').env('MACHPAGER_LIVE_MRC'))
      .addOption(new Option('--inject <spec>', 'inject faults into every file\'s data store, for rehearsing failures (see below)').env('MACHPAGER_INJECT'))
      .addOption(new Option('--daemon', 'return once mounted; a detached daemon serves the mount'))
      .addOption(new Option('--log-file <path>', "with --daemon: append the daemon's messages here (default: discard them)"))
      .addOption(
        new Option('--log-level <level>', 'the daemon log\'s least level: trace, debug, info, warn, error or silent (see below)')
          .env('MACHPAGER_LOG_LEVEL')
          .default(DEFAULT_LOG_LEVEL),
      )
      .addOption(new Option('--log-format <format>', 'the daemon log\'s lines: text (human) or json (one JSON object a line)').env('MACHPAGER_LOG_FORMAT').default(DEFAULT_LOG_FORMAT))
      .addOption(new Option('--daemon-timeout <seconds>', 'with --daemon: how long to wait for the mount').default(String(DEFAULT_DAEMON_TIMEOUT_S)))
      .addOption(new Option('-f, --foreground', 'serve in the foreground (the default; for libfuse habits)'))
      .addOption(new Option('-d, --debug', 'foreground, and libfuse traces every FUSE request on stderr'))
      .addOption(new Option('--dry-run', 'check everything and say what would be mounted; change nothing'))
      .addOption(new Option('--daemon-child', 'internal: the daemon side of --daemon').hideHelp())
      .addHelpText('after', HELP_AFTER)
      .action(async (store: string | undefined, mountpoint: string | undefined, _options: MountOptions, command: Command) => {
        const args = [store, mountpoint].filter((a): a is string => a !== undefined);
        await runMount(args, command, ctx);
      });
  },
};
