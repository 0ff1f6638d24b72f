/**
 * From what the user typed (arguments, options, -o lists, environment) to a
 * MountPlan: every value parsed and checked, nothing opened or created yet.
 * Each value comes from, in order of precedence: the STORE argument (store
 * only), the command-line flag or -o key (giving both with different values
 * is an error), the environment (its own variable or a key of the
 * MACHPAGER_OPTIONS list: both given must agree), the default. Errors name
 * the value as the user gave it ("--cache-size 64Q", "-o page_size=3000",
 * "MACHPAGER_POLICY=nope", "MACHPAGER_OPTIONS uid=x").
 *
 * The environment can say everything a mount needs (what a systemd unit's
 * EnvironmentFile gives): MACHPAGER_MOUNTPOINT is the mountpoint when no
 * argument names it, and MACHPAGER_OPTIONS an -o list below the command
 * line's (a FUSE option given on the command line wins over it).
 *
 * The plan is plain data: --daemon hands it to the daemon process as JSON.
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PAGER_TIMEOUT_MS, DEFAULT_POLICY, hasPolicy, MIN_FRAMES, policyNames } from '../../kernel/index.js';
import { formatSize, parseSize } from '../../stores/size.js';
import type { FuseMountOptions } from '../fs/fuse/options.js';
import { parseMetricsAddress, type MetricsAddress } from '../control/metrics-address.js';
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, parseLogFormat, parseLogLevel, type LogFormat, type LogLevel } from '../service/log-options.js';
import { parseWebAddress, type WebAddress } from '../web/web-address.js';
import { usageError } from './cli-error.js';
import { checkInjectSpec, joinSpecs, splitFaultName } from './inject-spec.js';
import { formatDuration, parseDuration } from './duration.js';
import { parseMountOptions } from './mount-options.js';
import { isDefaultSpec, resolveStore, type StoreContext, type StoreLocation } from './store-location.js';

export type CacheMode = 'direct' | 'kernel';
export const CACHE_MODES: readonly CacheMode[] = ['direct', 'kernel'];

export const DEFAULT_CACHE_SIZE = '64M';
export const DEFAULT_PAGE_SIZE = '4K';
export const DEFAULT_CACHE_MODE: CacheMode = 'direct';
export const DEFAULT_DAEMON_TIMEOUT_S = 30;
/** The kernel's default (DEFAULT_PAGER_TIMEOUT_MS says why), as the option spells it. */
export const DEFAULT_PAGER_TIMEOUT = formatDuration(DEFAULT_PAGER_TIMEOUT_MS);
export const MIN_PAGE_SIZE = 512;
export const MAX_PAGE_SIZE = 65536;

/** Where a value came from (commander's option value sources, plus -o). */
export type ValueSource = 'cli' | 'env' | 'default' | 'o';

/** A command-line option's value with its source and spellings. */
export interface Given {
  readonly value: string | undefined;
  readonly source: ValueSource | undefined;
  /** '--cache-size' */
  readonly flag: string;
  /** 'MACHPAGER_CACHE_SIZE' (undefined: no environment variable). */
  readonly envVar?: string;
}

export interface MountInput {
  /** The positional arguments: [MOUNTPOINT] or [STORE, MOUNTPOINT]. */
  readonly args: readonly string[];
  readonly cacheSize: Given;
  readonly pageSize: Given;
  readonly policy: Given;
  readonly cacheMode: Given;
  readonly store: Given;
  readonly logFile: Given;
  /** --log-level, --log-format (absent: the defaults). */
  readonly logLevel?: Given;
  readonly logFormat?: Given;
  readonly daemonTimeout: Given;
  /** --metrics ADDR:PORT (absent: no metrics endpoint). */
  readonly metrics?: Given;
  /** --web ADDR:PORT (absent: no web view). */
  readonly web?: Given;
  /** --web-allow-remote: the web view may listen on an address that is not loopback. */
  readonly webAllowRemote?: boolean;
  /** --coherent: other mounts share the postgres: store (docs/coherence.md). */
  readonly coherent?: boolean;
  /** --inject SPEC (absent: no fault injection unless the store is a fault: name). */
  readonly inject?: Given;
  /** --pager-timeout DURATION (absent: the default). */
  readonly pagerTimeout?: Given;
  /** --control-fifo PATH (absent: none). */
  readonly controlFifo?: Given;
  /** --live-mrc on|off (absent: on). */
  readonly liveMrc?: Given;
  /** The -o lists, in order. */
  readonly options: readonly string[];
  /** MACHPAGER_OPTIONS: an -o list from the environment, under the command line's. */
  readonly envOptions?: string;
  /** MACHPAGER_MOUNTPOINT: the mountpoint when no argument names it. */
  readonly envMountpoint?: string;
  readonly daemon: boolean;
  readonly foreground: boolean;
  readonly debug: boolean;
  readonly dryRun: boolean;
}

export interface MountPlan {
  readonly store: StoreLocation;
  /** Absolute, as given (symlinks resolved at preflight). */
  readonly mountpoint: string;
  readonly cacheSize: number;
  readonly pageSize: number;
  readonly policy: string;
  readonly cacheMode: CacheMode;
  readonly readOnly: boolean;
  /** The user's FUSE options (-o, -d), applied over the filesystem's own. */
  readonly fuse: FuseMountOptions;
  /** -o nonempty: mounting over a non-empty directory is asked for. */
  readonly nonempty: boolean;
  /** fstab-only options that were dropped. */
  readonly ignoredOptions: readonly string[];
  readonly daemon: boolean;
  readonly logFile: string | undefined;
  /** The daemon log's threshold and format (service/log.ts). */
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly daemonTimeoutMs: number;
  readonly dryRun: boolean;
  readonly debug: boolean;
  /** Where the Prometheus endpoint listens (--metrics, -o metrics=): a loopback address; undefined: none. */
  readonly metrics: MetricsAddress | undefined;
  /** Where the web view listens (--web); undefined: none. */
  readonly web: WebAddress | undefined;
  /** Fault injection SPEC for every file's data store (--inject, fault:SPEC:STORE); undefined: none. */
  readonly inject: string | undefined;
  /** How long a fault waits for a pager's answer before it fails with EIO (ms); 0: for ever. */
  readonly pagerTimeoutMs: number;
  /** Share the store with other mounts, coherent (postgres: only). */
  readonly coherent: boolean;
  /** The control FIFO (--control-fifo, absolute; daemon/control/control-fifo.ts); undefined: none. */
  readonly controlFifo: string | undefined;
  /** Keep the live miss-ratio curve (--live-mrc, -o live_mrc=; docs/miss-ratio-curves.md). */
  readonly liveMrc: boolean;
}

/** How a value is spelled in an error message. */
function spelled(given: Given, value: string): string {
  if (given.source === 'env' && given.envVar !== undefined) return `${given.envVar}=${value}`;
  return `${given.flag} ${value}`;
}

const ENV_OPTIONS = 'MACHPAGER_OPTIONS';

/**
 * The value of a setting that has a flag and an -o key: -o wins over the
 * environment and the default, and must agree with the flag when both are
 * given; the key in MACHPAGER_OPTIONS (`envValue`) is environment, and must
 * agree with the setting's own variable when both are given.
 */
function pick(given: Given, oKey: string, oValue: string | undefined, envValue?: string): { value: string | undefined; what: string } {
  if (oValue !== undefined) {
    if (given.source === 'cli' && given.value !== undefined && given.value !== oValue) {
      throw usageError(`${given.flag} ${given.value}`, `conflicts with -o ${oKey}=${oValue}`);
    }
    return { value: oValue, what: `-o ${oKey}=${oValue}` };
  }
  if (envValue !== undefined && given.source !== 'cli') {
    if (given.source === 'env' && given.value !== undefined && given.value !== envValue) {
      throw usageError(spelled(given, given.value), `conflicts with ${ENV_OPTIONS} ${oKey}=${envValue}`);
    }
    return { value: envValue, what: `${ENV_OPTIONS} ${oKey}=${envValue}` };
  }
  return { value: given.value, what: given.value === undefined ? given.flag : spelled(given, given.value) };
}

/** The FUSE options of MACHPAGER_OPTIONS under the command line's (its extra options first). */
function layerFuseOptions(env: FuseMountOptions, cli: FuseMountOptions): FuseMountOptions {
  const under: { -readonly [K in keyof FuseMountOptions]: FuseMountOptions[K] } = { ...env };
  // allow_other and allow_root are one setting: the command line's choice replaces the environment's.
  if (cli.allowOther !== undefined || cli.allowRoot !== undefined) {
    delete under.allowOther;
    delete under.allowRoot;
  }
  const extra = [...(env.extraOptions ?? []), ...(cli.extraOptions ?? [])];
  const merged: FuseMountOptions = { ...under, ...cli };
  return extra.length > 0 ? { ...merged, extraOptions: extra } : merged;
}

function size(text: string, what: string): number {
  let n: number;
  try {
    n = parseSize(text);
  } catch {
    throw usageError(what, 'not a size (a number with an optional K, M or G suffix: 64M, 4K)');
  }
  return n;
}

/** Turn what the user typed into a plan, or throw a usage CliError. Touches nothing. */
export function resolveMountPlan(input: MountInput, ctx: StoreContext): MountPlan {
  const o = parseMountOptions(input.options);
  const envList = input.envOptions === undefined || input.envOptions === '' ? [] : [input.envOptions];
  const e = parseMountOptions(envList, (option) => `${ENV_OPTIONS} ${option}`);

  // Arguments: [STORE] MOUNTPOINT, else MACHPAGER_MOUNTPOINT.
  const envMountpoint = input.envMountpoint === '' ? undefined : input.envMountpoint;
  if (input.args.length === 0 && envMountpoint === undefined) {
    throw usageError('mount', 'missing MOUNTPOINT (usage: machpager mount [STORE] MOUNTPOINT, or MACHPAGER_MOUNTPOINT in the environment)');
  }
  const mountpointArg = input.args.length === 0 ? (envMountpoint ?? '') : (input.args[input.args.length - 1] ?? '');
  const storeArg = input.args.length > 1 ? input.args[0] : undefined;
  if (mountpointArg === '') throw usageError('mount', 'the MOUNTPOINT is an empty string');

  // Store: argument, -o store=, --store, MACHPAGER_STORE, default. Any of them may be fault:SPEC:STORE.
  let store: StoreLocation;
  let faultSpecs: readonly string[];
  if (storeArg !== undefined && !isDefaultSpec(storeArg)) {
    if (o.own.store !== undefined && o.own.store !== storeArg) throw usageError(`store ${storeArg}`, `conflicts with -o store=${o.own.store}`);
    if (input.store.source === 'cli' && input.store.value !== undefined && input.store.value !== storeArg) {
      throw usageError(`store ${storeArg}`, `conflicts with --store ${input.store.value}`);
    }
    const named = splitFaultName(storeArg, `store ${storeArg}`);
    faultSpecs = named.specs;
    store = resolveStore(named.store, ctx, named.specs.length > 0 ? `store ${storeArg}` : undefined);
  } else {
    const picked = pick(input.store, 'store', o.own.store, e.own.store);
    const named = picked.value === undefined ? { specs: [], store: undefined } : splitFaultName(picked.value, picked.what);
    faultSpecs = named.specs;
    store = resolveStore(named.store, ctx, picked.what);
  }

  // Fault injection: the store name's SPECs, then --inject's.
  const inj = pick(input.inject ?? { value: undefined, source: undefined, flag: '--inject' }, 'inject', o.own.inject, e.own.inject);
  const inject = joinSpecs(inj.value === undefined ? faultSpecs : [...faultSpecs, checkInjectSpec(inj.value, inj.what)]);

  // Page size first: the cache size is counted in pages.
  const ps = pick(input.pageSize, 'page_size', o.own.pageSize, e.own.pageSize);
  const pageSize = size(ps.value ?? DEFAULT_PAGE_SIZE, ps.what);
  if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) {
    throw usageError(ps.what, `the page size is a power of two from ${formatSize(MIN_PAGE_SIZE)} to ${formatSize(MAX_PAGE_SIZE)}`);
  }

  const cs = pick(input.cacheSize, 'cache_size', o.own.cacheSize, e.own.cacheSize);
  const cacheSize = size(cs.value ?? DEFAULT_CACHE_SIZE, cs.what);
  if (cacheSize < MIN_FRAMES * pageSize) {
    throw usageError(cs.what, `the cache holds at least ${MIN_FRAMES} pages (${formatSize(MIN_FRAMES * pageSize)} with ${formatSize(pageSize)} pages)`);
  }
  if (cacheSize % pageSize !== 0) throw usageError(cs.what, `not a whole number of ${formatSize(pageSize)} pages`);
  if (cacheSize > os.totalmem()) throw usageError(cs.what, `larger than this machine's memory (${formatSize(os.totalmem())})`);

  const pol = pick(input.policy, 'policy', o.own.policy, e.own.policy);
  const policy = pol.value ?? DEFAULT_POLICY;
  if (!hasPolicy(policy)) throw usageError(pol.what, `unknown policy (known: ${policyNames().join(', ')})`);

  const cm = pick(input.cacheMode, 'cache_mode', o.own.cacheMode, e.own.cacheMode);
  const cacheMode = (cm.value ?? DEFAULT_CACHE_MODE) as CacheMode;
  if (!CACHE_MODES.includes(cacheMode)) throw usageError(cm.what, `the cache mode is ${CACHE_MODES.join(' or ')}`);

  const lf = pick(input.logFile, 'log_file', o.own.logFile, e.own.logFile);
  const logFile = lf.value === undefined || lf.value === '' ? undefined : path.resolve(ctx.cwd, lf.value);

  const ll = pick(input.logLevel ?? { value: undefined, source: undefined, flag: '--log-level' }, 'log_level', o.own.logLevel, e.own.logLevel);
  const lfmt = pick(input.logFormat ?? { value: undefined, source: undefined, flag: '--log-format' }, 'log_format', o.own.logFormat, e.own.logFormat);
  let logLevel: LogLevel;
  let logFormat: LogFormat;
  try {
    logLevel = ll.value === undefined ? DEFAULT_LOG_LEVEL : parseLogLevel(ll.value);
  } catch (err) {
    throw usageError(ll.what, err instanceof Error ? err.message : String(err));
  }
  try {
    logFormat = lfmt.value === undefined ? DEFAULT_LOG_FORMAT : parseLogFormat(lfmt.value);
  } catch (err) {
    throw usageError(lfmt.what, err instanceof Error ? err.message : String(err));
  }

  let daemonTimeoutMs = DEFAULT_DAEMON_TIMEOUT_S * 1000;
  if (input.daemonTimeout.value !== undefined) {
    const s = Number(input.daemonTimeout.value);
    if (input.daemonTimeout.value.trim() === '' || !Number.isFinite(s) || s <= 0) {
      throw usageError(spelled(input.daemonTimeout, input.daemonTimeout.value), 'not a positive number of seconds');
    }
    daemonTimeoutMs = Math.round(s * 1000);
  }

  let metrics: MetricsAddress | undefined;
  const mt = pick(input.metrics ?? { value: undefined, source: undefined, flag: '--metrics' }, 'metrics', o.own.metrics, e.own.metrics);
  if (mt.value !== undefined && mt.value !== '') {
    try {
      metrics = parseMetricsAddress(mt.value);
    } catch (err) {
      throw usageError(mt.what, err instanceof Error ? err.message : String(err));
    }
  }

  let web: WebAddress | undefined;
  if (input.web?.value !== undefined && input.web.value !== '') {
    try {
      web = parseWebAddress(input.web.value, { allowRemote: input.webAllowRemote === true });
    } catch (err) {
      throw usageError(`--web ${input.web.value}`, err instanceof Error ? err.message : String(err));
    }
  }

  let pagerTimeoutMs = DEFAULT_PAGER_TIMEOUT_MS;
  const pt = pick(input.pagerTimeout ?? { value: undefined, source: undefined, flag: '--pager-timeout' }, 'pager_timeout', o.own.pagerTimeout, e.own.pagerTimeout);
  if (pt.value !== undefined) {
    try {
      pagerTimeoutMs = parseDuration(pt.value);
    } catch (err) {
      throw usageError(pt.what, err instanceof Error ? err.message : String(err));
    }
  }

  if (input.daemon && input.debug) throw usageError('--daemon', '-d/--debug runs in the foreground; with --daemon use -o debug and --log-file');
  if (input.daemon && input.foreground) throw usageError('--daemon', 'contradicts -f/--foreground');
  if (logFile !== undefined && !input.daemon) throw usageError(`--log-file ${logFile}`, 'only with --daemon (in the foreground, messages go to stderr)');

  const userFuse = layerFuseOptions(e.fuse, o.fuse);
  const fuse: FuseMountOptions = input.debug ? { ...userFuse, debug: true } : userFuse;
  const fifo = pick(input.controlFifo ?? { value: undefined, source: undefined, flag: '--control-fifo' }, 'control_fifo', o.own.controlFifo, e.own.controlFifo);
  const lm = pick(input.liveMrc ?? { value: undefined, source: undefined, flag: '--live-mrc' }, 'live_mrc', o.own.liveMrc, e.own.liveMrc);
  if (lm.value !== undefined && lm.value !== 'on' && lm.value !== 'off') throw usageError(lm.what, 'the live miss-ratio curve is on or off');
  return {
    store,
    mountpoint: path.resolve(ctx.cwd, mountpointArg),
    cacheSize,
    pageSize,
    policy,
    cacheMode,
    readOnly: fuse.readOnly === true,
    fuse,
    nonempty: o.nonempty || e.nonempty,
    ignoredOptions: [...e.ignored, ...o.ignored],
    daemon: input.daemon,
    logFile,
    logLevel,
    logFormat,
    daemonTimeoutMs,
    dryRun: input.dryRun,
    debug: input.debug || fuse.debug === true,
    metrics,
    web,
    inject,
    pagerTimeoutMs,
    coherent: input.coherent === true,
    controlFifo: fifo.value === undefined || fifo.value === '' ? undefined : path.resolve(ctx.cwd, fifo.value),
    liveMrc: lm.value !== 'off',
  };
}

/** "cache 64M, page 4K, policy mach, direct" (then ", injecting faults: SPEC" when it does) */
export function describePlan(plan: Pick<MountPlan, 'cacheSize' | 'pageSize' | 'policy' | 'cacheMode' | 'readOnly'> & { readonly inject?: string | undefined }): string {
  const inject = plan.inject === undefined ? '' : `, injecting faults: ${plan.inject === '' ? 'no rules yet' : plan.inject}`;
  return `cache ${formatSize(plan.cacheSize)}, page ${formatSize(plan.pageSize)}, policy ${plan.policy}, ${plan.cacheMode}${plan.readOnly ? ', read-only' : ''}${inject}`;
}
