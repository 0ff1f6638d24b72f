/**
 * A stand-in for a mount's daemon: a tiny Unix-socket server speaking the
 * control protocol (newline-delimited JSON) with scripted answers, at the
 * socket path the client computes for a mountpoint, plus the CLI's
 * surroundings (a mount table listing the fake mounts, a terminal, instant
 * sleeps) for running commands in this process.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LATENCY_BOUNDS_US } from '../../kernel/index.js';
import { runCli } from '../../daemon/cli/cli.js';
import type { CliDeps } from '../../daemon/cli/deps.js';
import type { Terminal } from '../../daemon/cli/terminal.js';
import type { FileRecord, HelloResult } from '../../daemon/control/protocol.js';
import { socketCandidates } from '../../daemon/control/socket-path.js';
import { LineBuffer } from '../../daemon/control/lines.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import type { MountEntry } from '../../daemon/fs/fuse/mount-table.js';

/** The uid the in-process CLI runs as (its sockets go to $XDG_RUNTIME_DIR/machpager). */
export const UID = 1000;

export interface SeenRequest {
  id: unknown;
  method: string;
  params: Record<string, unknown>;
}

/** An answer: a result, an error, a raw line (anything, even not JSON), nothing at all, or closing the connection. */
export type Answer = { result: unknown } | { error: { code: string; message: string } } | { raw: string } | { silent: true } | { close: true };

export type Handler = (params: Record<string, unknown>, seen: SeenRequest) => Answer;

export class FakeDaemon {
  readonly requests: SeenRequest[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
    public handlers: Record<string, Handler>,
  ) {}

  /** Listen where a client running as UID with XDG_RUNTIME_DIR=runtimeDir looks for `mountpoint`'s daemon. */
  static async start(mountpoint: string, runtimeDir: string, handlers: Record<string, Handler>): Promise<FakeDaemon> {
    const socketPath = socketCandidates(mountpoint, { uid: UID, env: { XDG_RUNTIME_DIR: runtimeDir } })[0] ?? '';
    await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    return FakeDaemon.listen(socketPath, handlers);
  }

  /** Listen on `socketPath` exactly. */
  static async listen(socketPath: string, handlers: Record<string, Handler>): Promise<FakeDaemon> {
    const server = net.createServer();
    const daemon = new FakeDaemon(server, socketPath, handlers);
    server.on('connection', (s) => daemon.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return daemon;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    const lines = new LineBuffer();
    socket.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const req = JSON.parse(line) as { id: unknown; method: string; params?: Record<string, unknown> };
        const seen: SeenRequest = { id: req.id, method: req.method, params: req.params ?? {} };
        this.requests.push(seen);
        const handler = this.handlers[req.method];
        const answer: Answer = handler ? handler(seen.params, seen) : { error: { code: 'ENOSYS', message: `unknown method "${req.method}"` } };
        if ('silent' in answer) continue;
        if ('close' in answer) {
          socket.destroy();
          return;
        }
        if ('raw' in answer) socket.write(`${answer.raw}\n`);
        else socket.write(`${JSON.stringify({ id: req.id, ...answer })}\n`);
      }
    });
  }

  /** The requests of one method, their params. */
  params(method: string): Record<string, unknown>[] {
    return this.requests.filter((r) => r.method === method).map((r) => r.params);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers from a list, one per call, the last one repeated. */
export function sequence(answers: readonly Answer[]): Handler {
  let i = 0;
  return () => answers[Math.min(i++, answers.length - 1)] ?? { error: { code: 'EIO', message: 'no answer scripted' } };
}

export function ok(result: unknown): Handler {
  return () => ({ result });
}

// ---------------------------------------------------------------------------
// Records

/** A complete stats record: zeros, page size 4096, 512 frames, and `over` on top (nested objects merged). */
export function statsRecord(over: Partial<Omit<StatsRecord, 'pager' | 'store' | 'fs' | 'fault_latency'>> & { pager?: Partial<StatsRecord['pager']>; store?: Partial<StatsRecord['store']>; fs?: Partial<StatsRecord['fs']>; fault_latency?: Partial<StatsRecord['fault_latency']> } = {}): StatsRecord {
  const base: StatsRecord = {
    pagesize: 4096,
    free_count: 512,
    active_count: 0,
    inactive_count: 0,
    wire_count: 0,
    laundry_count: 0,
    laundry_writing: 0,
    dirty_count: 0,
    zero_fill_count: 0,
    reactivations: 0,
    pageins: 0,
    pageouts: 0,
    faults: 0,
    cow_faults: 0,
    copy_pushes: 0,
    object_collapses: 0,
    lookups: 0,
    hits: 0,
    readahead_pages: 0,
    readahead_hits: 0,
    readahead_unused: 0,
    evictions_clean: 0,
    evictions_dirty: 0,
    double_paged: 0,
    double_paged_delivered: 0,
    lock_requests: 0,
    unlocks: 0,
    page_errors: 0,
    data_requests: 0,
    data_returns: 0,
    pages_lost: 0,
    object_lookups: 0,
    object_hits: 0,
    objects: 0,
    objects_cached: 0,
    protocol_errors: 0,
    pager_timeouts: 0,
    policy: 'mach',
    frames: 512,
    frames_retiring: 0,
    free_min: 8,
    free_low: 16,
    free_high: 32,
    fault_latency: { count: 0, p50_us: 0, p90_us: 0, p99_us: 0, max_us: 0, mean_us: 0, sum_us: 0, buckets: latencyBuckets({}) },
    messages_sent: {},
    messages_received: {},
    cache_size: 2 * 1024 * 1024,
    uptime_s: 10,
    timestamp: 1_700_000_000_000,
    pager: { data_requests: 0, pages_read: 0, pages_unavailable: 0, read_errors: 0, checksum_errors: 0, data_returns: 0, pages_written: 0, write_errors: 0, write_retries: 0, pages_held: 0, write_runs: 0, unlocks: 0, unlock_errors: 0, pagein_waits: 0, evict_notifications: 0 },
    store: { reads: 0, writes: 0, bytes_read: 0, bytes_written: 0, syncs: 0, errors: 0 },
    fs: { files_open: 0, objects: 0, snapshots: 0, shared_pages: 0, store: 'sqlite:/srv/fs.db', mountpoint: '/mnt/x', cache_mode: 'direct' },
    requests: { suspended: 0, suspended_now: 0, longest_us: 0, wait: { count: 0, p50_us: 0, p90_us: 0, p99_us: 0, max_us: 0, mean_us: 0, sum_us: 0, buckets: [] } },
  };
  const { pager, store, fs, fault_latency, ...rest } = over;
  return {
    ...base,
    ...rest,
    pager: { ...base.pager, ...pager },
    store: { ...base.store, ...store },
    fs: { ...base.fs, ...fs },
    fault_latency: { ...base.fault_latency, ...fault_latency },
  };
}

/**
 * Cumulative latency buckets at the kernel's bounds, from the counts at
 * some of them ({25: 20, 50: 70}: 20 faults took at most 25 µs, 70 at most
 * 50 µs); a bound not given has the count of the last given below it.
 */
export function latencyBuckets(at: Readonly<Record<number, number>>): StatsRecord['fault_latency']['buckets'] {
  let count = 0;
  return LATENCY_BOUNDS_US.map((le_us) => ({ le_us, count: (count = at[le_us] ?? count) }));
}

/** One workload's figures, the ones the stats views are tested with: 100 active, 20 inactive; 400 lookups, 300 hits; 120 faults timed. */
export const WORKLOAD: Parameters<typeof statsRecord>[0] = {
  free_count: 392,
  active_count: 100,
  inactive_count: 20,
  faults: 120,
  lookups: 400,
  hits: 300,
  pageins: 110,
  pageouts: 5,
  zero_fill_count: 10,
  evictions_dirty: 5,
  fault_latency: { count: 120, p50_us: 35, p90_us: 80, p99_us: 410, max_us: 1200, mean_us: 52, sum_us: 6240, buckets: latencyBuckets({ 25: 20, 50: 70, 100: 110, 250: 118, 500: 119, 2500: 120 }) },
};

export function fileRecord(path: string, over: Partial<FileRecord> = {}): FileRecord {
  return { path, ino: 2, size: 0, pages: 0, resident_pages: 0, dirty_pages: 0, shared_pages: 0, resident_fraction: 0, faults: 0, hits: 0, readahead_pages: 0, readahead_hits: 0, readahead_unused: 0, pageins: 0, zero_fills: 0, pageouts: 0, evictions: 0, write_errors: 0, held_pages: 0, checksum_errors: 0, cached: false, open: false, ...over };
}

export function hello(mountpoint: string, pageSize = 4096): HelloResult {
  return { protocol: 1, version: '0.1.0', mountpoint, store: 'sqlite:/srv/fs.db', pid: 4242, started: 1_700_000_000_000, page_size: pageSize, cache_mode: 'direct' };
}

// ---------------------------------------------------------------------------
// The CLI in this process

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface FakeTerminal extends Terminal {
  /** Type a key (delivered to whoever listens). */
  press(key: string): void;
  listening: number;
}

export function fakeTerminal(size: { columns: number; rows: number } | undefined, onListen?: (t: FakeTerminal) => void): FakeTerminal {
  let handler: ((key: string) => void) | undefined;
  const t: FakeTerminal = {
    isTTY: size !== undefined,
    listening: 0,
    size: () => size,
    listen(h) {
      handler = h;
      t.listening++;
      onListen?.(t);
      return () => {
        handler = undefined;
        t.listening--;
      };
    },
    press(key) {
      handler?.(key);
    },
  };
  return t;
}

export interface CliSetup {
  readonly cwd: string;
  /** Mountpoints the fake mount table lists (fstype fuse.machpager). */
  readonly mounts: readonly string[];
  readonly runtimeDir: string;
  readonly env?: Record<string, string>;
  readonly terminal?: Terminal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The owner uid mountinfo gives the mounts (default UID). */
  readonly owner?: number;
  /** Where progress bars go (default: none). */
  readonly progressStream?: CliDeps['progressStream'];
}

export function mountEntries(mounts: readonly string[], owner = UID): MountEntry[] {
  return mounts.map((m, i) => ({ id: 100 + i, parentId: 1, mountPoint: m, options: 'rw,nosuid,nodev', fstype: 'fuse.machpager', source: 'sqlite:/srv/fs.db', superOptions: `rw,user_id=${owner},group_id=${owner}` }));
}

/** runCli in this process with the fake surroundings. */
export async function runIn(setup: CliSetup, argv: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const deps: CliDeps = {
    openFilesystem: () => Promise.reject(new Error('no filesystem in these tests')),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_RUNTIME_DIR: setup.runtimeDir, ...(setup.env ?? {}) },
    cwd: setup.cwd,
    uid: UID,
    homedir: setup.cwd,
    fuseConfPath: '/etc/fuse.conf',
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    self: { command: process.execPath, args: [] },
    mountinfo: () => Promise.resolve(mountEntries(setup.mounts, setup.owner)),
    ...(setup.terminal ? { terminal: setup.terminal } : {}),
    ...(setup.progressStream ? { progressStream: setup.progressStream } : {}),
    sleep: setup.sleep ?? (() => Promise.resolve()),
  };
  const code = await runCli(argv, deps);
  return { code, stdout, stderr };
}

/** A temporary directory for a test. */
export function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `machpager-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
