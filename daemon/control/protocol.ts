/**
 * The control protocol: newline-delimited JSON over the mount's Unix
 * socket. A request is one line `{"id": ..., "method": "...", "params": {...}}`;
 * its answer is one line `{"id": ..., "result": ...}` or
 * `{"id": ..., "error": {"code": "EINVAL", "message": "..."}}`, in order. A line
 * that is not a request gets an error answer with id null; the connection
 * stays open.
 */

import type { LatencyBucket } from '../../kernel/index.js';
import type { FaultEvent, InjectionStatus } from '../fs/fault-injection.js';
import type { CrashStatus } from '../fs/crash/crash-test.js';
import type { CrashReport } from '../fs/crash/power-loss.js';
import type { PageTraceStatus } from '../fs/page-trace.js';
import type { LiveMrcRecord } from '../fs/live-mrc.js';
import type { StatsRecord } from './stats-record.js';

export const PROTOCOL_VERSION = 1;

export interface ControlRequest {
  id: number | string;
  method: string;
  params?: Record<string, unknown>;
}

export interface ControlError {
  /** An errno name (EINVAL, ENOENT, ...) or EPROTO for a malformed request. */
  code: string;
  message: string;
}

export type ControlResponse = { id: number | string | null; result: unknown } | { id: number | string | null; error: ControlError };

export type { SnapshotResult } from '../fs/snapshot.js';
import type { SnapshotResult } from '../fs/snapshot.js';

/** What `hello` answers. */
export interface HelloResult {
  protocol: number;
  version: string;
  mountpoint: string;
  store: string;
  pid: number;
  started: number;
  page_size: number;
  cache_mode: 'direct' | 'kernel';
}

/** One file, as `files` reports it (fincore's columns and then some). */
export interface FileRecord {
  /** Path inside the mount ('/a/b'); '' when the file has no name left. */
  path: string;
  ino: number;
  size: number;
  /** Pages the file's size covers. */
  pages: number;
  resident_pages: number;
  dirty_pages: number;
  /** Pages a snapshot still shares with the file it was made from (read through to it, stored once). */
  shared_pages: number;
  /** resident_pages / pages (0 for an empty file). */
  resident_fraction: number;
  faults: number;
  /** Demand hits (cachestat's): not the first use of a page read ahead. */
  hits: number;
  /** Pages brought in ahead of demand, those used later, and those freed unused. */
  readahead_pages: number;
  readahead_hits: number;
  readahead_unused: number;
  pageins: number;
  /** Pages that came in zero-filled (no data: written past the end, holes). */
  zero_fills: number;
  pageouts: number;
  evictions: number;
  /** Page writes to the store that failed (each retry counts). */
  write_errors: number;
  /** Pages whose write failed, held in memory by the pager until the store takes them. */
  held_pages: number;
  /** Reads of the file's pages that found the stored data damaged (EIO), since its object was made. */
  checksum_errors: number;
  /** The kernel keeps the object with no mapping (may_cache). */
  cached: boolean;
  open: boolean;
}

/** One file, as `residency` reports it for vmtouch: its pages and which of them are resident, dirty, wired. */
export interface ResidencyRecord {
  /** Path inside the mount ('/a/b'). */
  path: string;
  ino: number;
  size: number;
  pages: number;
  resident_pages: number;
  dirty_pages: number;
  /** Pages wired (locked resident by vmtouch -l): never evicted until unwired. */
  wired_pages: number;
  /** With map: one character a page: '.' not resident, 'o' resident, 'd' dirty, 'w' wired. */
  map?: string;
}

/** What `touch` answers: the file's pages read into the cache (vmtouch -t). */
export interface TouchResult {
  path: string;
  pages: number;
  /** Pages that were not resident before. */
  touched_pages: number;
  resident_pages: number;
}

/** What `lock` answers: the file's pages wired for as long as the connection stays open (vmtouch -l). */
export interface LockResult {
  path: string;
  locked_pages: number;
  /** Pages wired in the whole cache now (every lock of every caller). */
  wired_pages: number;
  /** Frames in the cache, and how many of them may be wired at most (3/4). */
  frames: number;
  wire_limit: number;
}

/** One region of a task's address map, as `regions` reports it (vm_region's fields, and the file it maps). */
export interface RegionRecord {
  /** The task that maps it: fs (the filesystem's file windows), pager (pager_memcpy windows), kernel (its own). */
  task: string;
  start: number;
  /** One past the last byte. */
  end: number;
  size: number;
  /** 'rwx' with '-' for what is not allowed. */
  protection: string;
  max_protection: string;
  inheritance: 'share' | 'copy' | 'none';
  /** More than one mapping maps the object. */
  shared: boolean;
  /** The memory object (its kernel id, as `files` counts objects). */
  object: number;
  /** Offset in the object of the region's first byte. */
  offset: number;
  /** Grows with the file (the filesystem's windows). */
  growable: boolean;
  /** Anonymous memory of the default pager. */
  internal: boolean;
  /** The file whose object it maps: its path ('' when it has no name left) and inode; absent for other objects. */
  path?: string;
  ino?: number;
}

/** What a suspended request waits for: a kernel wait (fault-wait.ts), or its page data on another mount. */
export type RequestWait = 'data_request' | 'data_unlock' | 'free_frame' | 'busy_page' | 'pager_init' | 'other_mount' | 'running';

/** One FUSE request a fault holds now, as `requests` reports it. */
export interface RequestRecord {
  id: number;
  op: 'read' | 'write';
  /** The requester (the FUSE request context), and its command name (/proc/PID/comm; '' when gone or unknown). */
  pid: number;
  command: string;
  uid: number;
  path: string;
  ino: number;
  /** Where the copy waits: the first byte not yet copied, and the bytes left. */
  offset: number;
  length: number;
  waits_for: RequestWait;
  /** With other_mount: the mountpoint the page data waits on. */
  other_mount?: string;
  /** The object and its page the fault is for. */
  object: number;
  page_offset: number;
  /** When the request was suspended (ms since the epoch), and for how long now (ms). */
  since: number;
  waited_ms: number;
}

/** What `trace` answers: the recording now (after start or status) or the finished one (after stop). */
export type TraceResult = PageTraceStatus;

/** What `inject` answers: the rules now (after a change: `previous`, the SPEC before it). */
export interface InjectResult extends InjectionStatus {
  previous?: string;
  /** The last faults injected (at most 100), the oldest first: what failed, where, by which rule. */
  recent: FaultEvent[];
}

/** What `crash` does: lose power now (crash), begin the bookkeeping, arm or disarm a crash point, power on after one fired, or show the state. */
export type CrashAction = 'crash' | 'begin' | 'arm' | 'disarm' | 'power-on' | 'status';

export type CrashParams = {
  /** Default crash. */
  action?: CrashAction;
  /** crash: say what would be lost, do nothing. */
  dry_run?: boolean;
  /** crash: random:SEED:P, each unsynced page survives with probability P. */
  keep?: string;
  /** crash: each file's latest write survives only in part (a prefix of its pages). */
  torn?: boolean;
  /** crash --torn without keep: the seed (default 1). */
  seed?: number;
  /** crash, arm: the mount goes once the power is off. */
  unmount?: boolean;
  /** arm: OP:GLOB[:after], e.g. 'rename:*.wal', 'fsync:db*:after'. */
  at?: string;
  /** arm: crash at the Nth matching operation (default 1). */
  nth?: number;
};

/** What `crash` answers: the state after it, and what a power loss took (or would take). */
export interface CrashResult {
  action: CrashAction;
  status: CrashStatus;
  report?: CrashReport;
}

/** What `frames` answers: the frame pool as the web view draws it (daemon/web/frame-map.ts codes it). */
export interface FramesResult {
  page_size: number;
  /** One letter per frame of the pool, in frame order: f free, a active, i inactive, d dirty, b busy, w wired. */
  states: string;
  /** The files whose pages frames hold; the default pager's anonymous memory is path '(anonymous)', ino 0. */
  files: { path: string; ino: number }[];
  /** Whose page each frame holds, run-length coded: file index, run length, file index, run length, ... (index -1: none). */
  owners: number[];
}

/** What `latency` answers: the fault service latency histogram's non-empty buckets. */
export interface LatencyResult {
  buckets: LatencyBucket[];
}

/** What `web` answers: the URL of the web view the daemon serves (with its control key), or null for none. */
export interface WebResult {
  url: string | null;
}

/** Method names and their params / results. */
export interface ControlMethods {
  hello: { params: Record<string, never>; result: HelloResult };
  stats: { params: Record<string, never>; result: StatsRecord };
  files: { params: { paths?: string[]; recursive?: boolean }; result: FileRecord[] };
  sync: { params: { path?: string }; result: { synced: string } };
  /** locked_files: files left alone because pages of theirs are wired (vmtouch -l holds them). */
  evict: { params: { path?: string; all?: boolean; recursive?: boolean }; result: { evicted_pages: number; files: number; locked_files?: number } };
  /** Per-page residency of files (vmtouch): paths as for files; map adds the page map. Faults nothing in. */
  residency: { params: { paths: string[]; recursive?: boolean; map?: boolean }; result: ResidencyRecord[] };
  /** Read every page of one file into the cache (vmtouch -t). */
  touch: { params: { path: string }; result: TouchResult };
  /** Wire every page of one file until this connection closes (vmtouch -l); refused past 3/4 of the cache. */
  lock: { params: { path: string }; result: LockResult };
  policy: { params: { name?: string }; result: { policy: string; previous?: string; policies: string[] } };
  /** frames_retiring: what a shrink still owes when it answers (wired pages it waits for). */
  trace: { params: { action: 'start' | 'stop' | 'status'; path?: string }; result: TraceResult };
  cacheSize: { params: { size?: number }; result: { cache_size: number; frames: number; page_size: number; frames_retiring: number; previous?: number } };
  /** Show the mount's fault injection, or replace its SPEC (spec), remove every rule (clear), switch the rules off or on (enabled), freeze or thaw the store (freeze). */
  inject: { params: { spec?: string; clear?: boolean; enabled?: boolean; freeze?: boolean }; result: InjectResult };
  /** Every region of the mount's tasks' address maps (vm_region, task by task). */
  regions: { params: Record<string, never>; result: RegionRecord[] };
  /** The FUSE requests faults hold now, the oldest first. */
  requests: { params: Record<string, never>; result: RequestRecord[] };
  /** The frame map: every frame's state and the file whose page it holds. */
  frames: { params: Record<string, never>; result: FramesResult };
  latency: { params: Record<string, never>; result: LatencyResult };
  /** Only for those who may control the mount (the socket's rules): the URL carries the web view's control key. */
  web: { params: Record<string, never>; result: WebResult };
  /** The live miss-ratio curve of the pages the mount's programs touch (LRU by SHARDS); reset starts it over. */
  mrc: { params: { reset?: boolean }; result: LiveMrcRecord };
  /** A copy-on-write copy of the file `source` at `target` (both inside the mount). */
  snapshot: { params: { source: string; target: string }; result: SnapshotResult };
  /** Crash testing: power loss now (with keep, torn, dry_run), begin, crash points (arm, disarm), power-on, status. */
  crash: { params: CrashParams; result: CrashResult };
}
