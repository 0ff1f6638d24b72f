/**
 * What the CLI takes from its surroundings, injected: the filesystem it
 * mounts (MachFilesystem.open in the real binary, an in-memory double in
 * tests), the environment, the identity of the process, where text goes,
 * and how to start this program again for --daemon.
 */
import os from 'node:os';
import type { FuseOperations } from '../fs/fuse/contract.js';
import type { FuseMountOptions } from '../fs/fuse/options.js';
import type { MountEntry } from '../fs/fuse/mount-table.js';
import type { FilesystemConfig } from '../fs/filesystem.js';
import type { ChangeSink } from '../control/change.js';
import type { ControlHandlers } from '../control/server.js';
import type { StatsRecord } from '../control/stats-record.js';
import { processTerminal, type Terminal } from './terminal.js';

export type { FilesystemConfig };

/** What the mount command needs of a filesystem: MachFilesystem has this shape. */
export interface MountableFilesystem {
  operations(): FuseOperations;
  /** The FUSE options the filesystem needs; the user's -o options are applied over them. */
  fuseOptions(): FuseMountOptions;
  /** Write every dirty page and the catalog, durably. */
  sync(): Promise<void>;
  /** sync, then release everything. */
  close(): Promise<void>;
  /** What a sync or close in progress waits on, one line each: said when a stop takes long. */
  describeWaits?(): string[];
  /** Pages whose write failed and that are held in memory until the store takes them. */
  heldPages?(): number;
  /** What the mount's control socket and metrics endpoint serve (a double may have none: then neither starts). */
  control?(mount: { mountpoint: string; version: string; changed?: ChangeSink }): MountController;
}

/** The control socket's handlers and the statistics record they (and the metrics endpoint) read. */
export interface MountController {
  handlers(): ControlHandlers;
  stats(): StatsRecord;
  /** The web view's URL with its key, once mount --web serves one: what the control method `web` answers. */
  webUrl?: string | undefined;
}

/** Opens (or creates) the filesystem in `config.store`; throws an error with a code ('EINVAL', 'EACCES' ...) and a one-line message. */
export type FilesystemFactory = (config: FilesystemConfig) => Promise<MountableFilesystem>;

export interface CliDeps {
  readonly openFilesystem: FilesystemFactory;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The effective user (root may use allow_other without /etc/fuse.conf and gets /var/lib/machpager). */
  readonly uid: number;
  readonly homedir: string;
  /** /etc/fuse.conf, where user_allow_other is looked for. */
  readonly fuseConfPath: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** How to run this CLI again (for --daemon): the executable and the arguments before the command. */
  readonly self: { readonly command: string; readonly args: readonly string[] };
  /** The inspection commands (stats, files, top ...): the mount table (default /proc/self/mountinfo). */
  readonly mountinfo?: () => Promise<MountEntry[]>;
  /** What stdout is (a terminal or not, its size, colours) and the keys typed (default: no terminal). */
  readonly terminal?: Terminal;
  /** The wait between refreshes of stats -w and top (default: a timer); rejects with an AbortError when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Where progress bars of long work go (progress.ts): drawn only when it is a terminal. Default: stderr. */
  readonly progressStream?: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Aborted when stdout's reader has gone (EPIPE: `stats -w 1 | head -2`): watching commands stop, as vmstat does. */
  readonly outputClosed?: AbortSignal;
}

/** The real surroundings, with `overrides` (the factory at least). */
export function processDeps(overrides: Partial<CliDeps> & Pick<CliDeps, 'openFilesystem'>): CliDeps {
  // A reader that went away (EPIPE) must not become an uncaught error of a daemon serving a mount;
  // a command that keeps printing (stats -w, top) hears of it and stops.
  const outputClosed = new AbortController();
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') outputClosed.abort();
  });
  process.stderr.on('error', () => undefined);
  return {
    env: process.env,
    cwd: process.cwd(),
    uid: process.geteuid?.() ?? 0,
    homedir: os.homedir(),
    fuseConfPath: '/etc/fuse.conf',
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    self: { command: process.execPath, args: [...process.execArgv, process.argv[1] ?? ''] },
    terminal: processTerminal(),
    outputClosed: outputClosed.signal,
    progressStream: process.stderr,
    ...overrides,
  };
}
