/**
 * The control protocol: newline-delimited JSON over the mount's Unix
 * socket. A request is one line `{"id": ..., "method": "...", "params": {...}}`;
 * its answer is one line `{"id": ..., "result": ...}` or
 * `{"id": ..., "error": {"code": "EINVAL", "message": "..."}}`, in order. A line
 * that is not a request gets an error answer with id null; the connection
 * stays open.
 */

import type { InjectionStatus } from '../fs/fault-injection.js';
import type { PageTraceStatus } from '../fs/page-trace.js';
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
  hits: number;
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

/** What `trace` answers: the recording now (after start or status) or the finished one (after stop). */
export type TraceResult = PageTraceStatus;

/** What `inject` answers: the rules now (after a change: `previous`, the SPEC before it). */
export interface InjectResult extends InjectionStatus {
  previous?: string;
}

/** Method names and their params / results. */
export interface ControlMethods {
  hello: { params: Record<string, never>; result: HelloResult };
  stats: { params: Record<string, never>; result: StatsRecord };
  files: { params: { paths?: string[]; recursive?: boolean }; result: FileRecord[] };
  sync: { params: { path?: string }; result: { synced: string } };
  evict: { params: { path?: string; all?: boolean; recursive?: boolean }; result: { evicted_pages: number; files: number } };
  policy: { params: { name?: string }; result: { policy: string; previous?: string; policies: string[] } };
  /** frames_retiring: what a shrink still owes when it answers (wired pages it waits for). */
  trace: { params: { action: 'start' | 'stop' | 'status'; path?: string }; result: TraceResult };
  cacheSize: { params: { size?: number }; result: { cache_size: number; frames: number; page_size: number; frames_retiring: number; previous?: number } };
  /** Show the mount's fault injection, or replace its SPEC (spec), or remove every rule (clear). */
  inject: { params: { spec?: string; clear?: boolean }; result: InjectResult };
  /** A copy-on-write copy of the file `source` at `target` (both inside the mount). */
  snapshot: { params: { source: string; target: string }; result: SnapshotResult };
}
