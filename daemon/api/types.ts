/**
 * The types of the test-bed API (index.ts): what `mount` takes, what a
 * Mount answers, and the record of every action taken on it.
 */
import type { CrashAction, CrashResult, FileRecord, InjectResult } from '../control/protocol.js';
import type { FaultEvent } from '../fs/fault-injection.js';
import type { StatsRecord } from '../control/stats-record.js';

export type { CrashAction, CrashResult, FaultEvent, FileRecord, InjectResult, StatsRecord };

export interface MountOptions {
  /** The store (`sqlite:/a.db`, `file:/dir`, any typed name); default: a new SQLite file in a temporary directory. */
  store?: string;
  /** Where to mount; default: a new temporary directory. */
  mountpoint?: string;
  /** The page cache (`64M`); default 16M. */
  cacheSize?: string;
  pageSize?: string;
  policy?: string;
  cacheMode?: 'direct' | 'kernel';
  /** The fault rules to start with (SPEC: see docs/testing-api.md); default none, and `inject` can add them later. */
  inject?: string;
  /** Also read control commands from this FIFO (one a line, as LazyFS reads them). */
  controlFifo?: string;
  /** false: mount without the live miss-ratio curve (--live-mrc off). */
  liveMrc?: boolean;
  /** -o options; default `default_permissions`. */
  fuseOptions?: readonly string[];
  /** More arguments for `machpager mount`. */
  args?: readonly string[];
  /** Variables added to the daemon's environment. */
  env?: Readonly<Record<string, string>>;
  /** How long to wait for the mount to answer (ms); default 30 000. */
  timeoutMs?: number;
  /** Told of every action as it finishes (default: kept in `Mount.actions` only; MACHPAGER_API_LOG=1 also prints them on stderr). */
  log?: (action: ActionRecord) => void;
}

/** One thing done to a mount, and its outcome: what a failing test prints to explain itself. */
export interface ActionRecord {
  /** mount, inject, crash, sync, evict, stats, files, unmount. */
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly ok: boolean;
  /** The daemon's answer (what a crash dropped, what an inject replaced, what sync wrote ...). */
  readonly result?: unknown;
  /** The error: its errno code and message. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly startedAt: number;
  readonly ms: number;
}

/** A change of the fault injection: the SPEC, or --clear, --on/--off, --freeze/--thaw. */
export interface InjectChange {
  spec?: string;
  clear?: boolean;
  /** false: no rule fires (the rules and their counts stay); true: they fire again. */
  enabled?: boolean;
  /** true: every data store operation waits; false: they go on. */
  freeze?: boolean;
}

/**
 * `machpager crash` as the control verb takes it (docs/testing-api.md). Call
 * `crash({ action: 'begin' })` first: the daemon keeps what a power loss needs
 * to drop only from then on.
 */
export interface CrashOptions {
  /** crash (default; 'arm' when `at` is given), begin, arm, disarm, power-on, status. */
  action?: CrashAction;
  /** Say what would be lost, change nothing. */
  dryRun?: boolean;
  /** Keep a subset of the unsynced pages (`random:SEED:P`). */
  keep?: string;
  /** Persist only a prefix of the pages of the last writes. */
  torn?: boolean;
  /** The seed of --torn without keep. */
  seed?: number;
  /** Crash when an operation matches (`rename:*.wal`, `fsync:db*:after`). */
  at?: string;
  /** The Nth matching operation (default 1). */
  nth?: number;
  /** Unmount after the crash instead of going on. */
  unmount?: boolean;
}

export interface Mount {
  readonly mountpoint: string;
  readonly store: string;
  /** The daemon's process id. */
  readonly pid: number;
  /** Every action so far, in order. */
  readonly actions: readonly ActionRecord[];
  /** What the daemon wrote to its log so far. */
  readonly daemonLog: string;
  /** Whether the daemon still runs. */
  readonly running: boolean;
  /** The absolute path of `inner` ('/a/b' or 'a/b': in the mount). */
  path(inner: string): string;
  /** Show the fault injection (no argument), replace its SPEC (a string), or change it. */
  inject(change?: string | InjectChange): Promise<InjectResult>;
  /** Every data store operation waits until thaw(). */
  freeze(): Promise<InjectResult>;
  thaw(): Promise<InjectResult>;
  /** Power loss: drop what was not made durable (the daemon's `crash` verb). */
  crash(options?: CrashOptions): Promise<CrashResult>;
  stats(): Promise<StatsRecord>;
  /** Per-file residency: every cached file, or those at `paths`. */
  files(paths?: readonly string[]): Promise<FileRecord[]>;
  /** Write every dirty page back (of one file or directory, or all) and make it durable. */
  sync(path?: string): Promise<{ synced: string }>;
  /** Drop the cached pages of a file or directory (all files without `path`), dirty ones written first. */
  evict(path?: string): Promise<{ evicted_pages: number; files: number; locked_files?: number }>;
  /** Sync and unmount (SIGTERM to the daemon; fusermount -uz if it does not go). Safe to call twice. */
  unmount(): Promise<void>;
}
