/**
 * The one statistics record a mount's daemon answers `stats` with: every
 * field of the kernel's VmStatisticsRecord (Mach's names, as they are), plus
 * the cache size, the pager's and the store's counters and a little about
 * the filesystem. `machpager stats`, `stats --json`, `stats -w`, `top` and
 * the Prometheus endpoint are all views of this record; none computes a
 * figure of its own beyond differences and ratios.
 *
 * Units: counts are pages or events; *_bytes and cache_size are bytes;
 * fault latency is microseconds; uptime_s seconds; timestamp milliseconds
 * since the epoch.
 *
 * Which numbers are counters (cumulative since the mount started: `stats -w`
 * prints their differences, Prometheus exposes them as `_total`) and which
 * are gauges (a current value) is said once, here, in tables the type
 * checker keeps complete.
 */
import type { LatencySummary, VmStatisticsRecord } from '../../kernel/index.js';
import type { InjectionStatus } from '../fs/fault-injection.js';
import type { StoreStats as StoreCounters } from '../../stores/store.js';
import type { CoherenceStatistics, PagerStatistics } from '../pager/index.js';
import type { SuspendedStatistics } from '../fs/suspended-requests.js';
import type { FileRecord, HelloResult, RegionRecord, RequestRecord, ResidencyRecord } from './protocol.js';
import { malformed } from './control-error.js';

/** The pager library's counters (daemon/pager), summed over the mount's pagers. */
export type PagerStats = PagerStatistics;

/** The data store's counters (stores/). */
export type StoreStats = StoreCounters;

export interface FsStats {
  files_open: number;
  objects: number;
  /** Files made by `snapshot` that still share pages with the file they were made from. */
  snapshots: number;
  /** Pages those files share (read through, stored once): what copies would have taken. */
  shared_pages: number;
  /** The store's typed name (sqlite:/a.db). */
  store: string;
  mountpoint: string;
  cache_mode: 'direct' | 'kernel';
}

export interface StatsRecord extends VmStatisticsRecord {
  /** Bytes (frames × pagesize). */
  cache_size: number;
  uptime_s: number;
  /** When the record was taken, ms since the epoch. */
  timestamp: number;
  pager: PagerStats;
  store: StoreStats;
  fs: FsStats;
  /** The FUSE requests faults suspended: how many, for how long (µs), the longest. */
  requests: RequestStats;
  /** Only on a mount that injects faults (--inject): its rules and counters. */
  inject?: InjectionStatus;
  /** Only on a coherent mount (--coherent): the traffic with the other mounts of its store. */
  coherence?: CoherenceRecord;
}

export type CoherenceRecord = CoherenceStatistics & { mount_id: number; slot: number };

/** The FUSE requests faults suspended (daemon/fs/suspended-requests.ts). */
export type RequestStats = SuspendedStatistics;

export type Kind = 'counter' | 'gauge';

type NumericKeys<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T];

/** Every number of the kernel's record, counter or gauge. */
export const VM_FIELDS: Readonly<Record<NumericKeys<VmStatisticsRecord>, Kind>> = {
  pagesize: 'gauge',
  free_count: 'gauge',
  active_count: 'gauge',
  inactive_count: 'gauge',
  wire_count: 'gauge',
  laundry_count: 'gauge',
  laundry_writing: 'gauge',
  dirty_count: 'gauge',
  zero_fill_count: 'counter',
  reactivations: 'counter',
  pageins: 'counter',
  pageouts: 'counter',
  faults: 'counter',
  cow_faults: 'counter',
  copy_pushes: 'counter',
  object_collapses: 'counter',
  lookups: 'counter',
  hits: 'counter',
  readahead_pages: 'counter',
  readahead_hits: 'counter',
  readahead_unused: 'counter',
  evictions_clean: 'counter',
  evictions_dirty: 'counter',
  double_paged: 'counter',
  double_paged_delivered: 'counter',
  lock_requests: 'counter',
  unlocks: 'counter',
  page_errors: 'counter',
  data_requests: 'counter',
  data_returns: 'counter',
  pages_lost: 'counter',
  object_lookups: 'counter',
  object_hits: 'counter',
  objects: 'gauge',
  objects_cached: 'gauge',
  protocol_errors: 'counter',
  pager_timeouts: 'counter',
  frames: 'gauge',
  frames_retiring: 'gauge',
  free_min: 'gauge',
  free_low: 'gauge',
  free_high: 'gauge',
};

/** The numbers the record adds at its top level. */
export const TOP_FIELDS: Readonly<Record<'cache_size' | 'uptime_s' | 'timestamp', Kind>> = {
  cache_size: 'gauge',
  uptime_s: 'gauge',
  timestamp: 'gauge',
};

export const PAGER_FIELDS: Readonly<Record<keyof PagerStats, Kind>> = {
  data_requests: 'counter',
  pages_read: 'counter',
  pages_unavailable: 'counter',
  read_errors: 'counter',
  checksum_errors: 'counter',
  data_returns: 'counter',
  pages_written: 'counter',
  write_errors: 'counter',
  write_retries: 'counter',
  pages_held: 'gauge',
  write_runs: 'counter',
  unlocks: 'counter',
  unlock_errors: 'counter',
  pagein_waits: 'counter',
  evict_notifications: 'counter',
};

export const STORE_FIELDS: Readonly<Record<keyof StoreStats, Kind>> = {
  reads: 'counter',
  writes: 'counter',
  bytes_read: 'counter',
  bytes_written: 'counter',
  syncs: 'counter',
  errors: 'counter',
};

export const REQUEST_FIELDS: Readonly<Record<NumericKeys<RequestStats>, Kind>> = {
  suspended: 'counter',
  suspended_now: 'gauge',
  longest_us: 'gauge',
};

const FS_NUMBERS = ['files_open', 'objects', 'snapshots', 'shared_pages'] as const satisfies readonly NumericKeys<FsStats>[];
const FS_STRINGS = ['store', 'mountpoint', 'cache_mode'] as const satisfies readonly (keyof FsStats)[];
const LATENCY_FIELDS = ['count', 'p50_us', 'p90_us', 'p99_us', 'max_us', 'mean_us', 'sum_us'] as const satisfies readonly (keyof LatencySummary)[];

/** The keys of a typed table, typed. */
export function keysOf<K extends string>(table: Readonly<Record<K, unknown>>): K[] {
  return Object.keys(table) as K[];
}

// ---------------------------------------------------------------------------
// Checking what a daemon answered: a clear EPROTO error, never a crash later.

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(parent: Obj, key: string, where: string): Obj {
  const v = parent[key];
  if (!isObject(v)) throw malformed(`${where}${key} is not an object`);
  return v;
}

function numbers(obj: Obj, keys: readonly string[], where: string): void {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`${where}${k} is ${v === undefined ? 'missing' : 'not a number'}`);
  }
}

function strings(obj: Obj, keys: readonly string[], where: string): void {
  for (const k of keys) {
    if (typeof obj[k] !== 'string') throw malformed(`${where}${k} is ${obj[k] === undefined ? 'missing' : 'not a string'}`);
  }
}

function countMap(obj: Obj, where: string): void {
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`${where}${k} is not a number`);
  }
}

/** fault_latency.buckets: cumulative counts at rising bounds, none above the total count. */
function latencyBuckets(value: unknown): void {
  if (!Array.isArray(value)) throw malformed(`fault_latency.buckets is ${value === undefined ? 'missing' : 'not an array'}`);
  let le = -Infinity;
  let count = 0;
  value.forEach((b: unknown, i) => {
    if (!isObject(b)) throw malformed(`fault_latency.buckets[${i}] is not an object`);
    numbers(b, ['le_us', 'count'], `fault_latency.buckets[${i}].`);
    if ((b.le_us as number) <= le || (b.count as number) < count) throw malformed(`fault_latency.buckets[${i}] is not above the bucket before it`);
    le = b.le_us as number;
    count = b.count as number;
  });
}

/** `value` as a StatsRecord, or an EPROTO ControlError naming the first field that is wrong. Extra fields are kept. */
export function checkStatsRecord(value: unknown): StatsRecord {
  if (!isObject(value)) throw malformed('the stats record is not an object');
  numbers(value, keysOf(VM_FIELDS), '');
  numbers(value, keysOf(TOP_FIELDS), '');
  strings(value, ['policy'], '');
  const latency = object(value, 'fault_latency', '');
  numbers(latency, LATENCY_FIELDS, 'fault_latency.');
  latencyBuckets(latency.buckets);
  countMap(object(value, 'messages_sent', ''), 'messages_sent.');
  countMap(object(value, 'messages_received', ''), 'messages_received.');
  numbers(object(value, 'pager', ''), keysOf(PAGER_FIELDS), 'pager.');
  numbers(object(value, 'store', ''), keysOf(STORE_FIELDS), 'store.');
  const requests = object(value, 'requests', '');
  numbers(requests, keysOf(REQUEST_FIELDS), 'requests.');
  numbers(object(requests, 'wait', 'requests.'), LATENCY_FIELDS, 'requests.wait.');
  const fs = object(value, 'fs', '');
  numbers(fs, FS_NUMBERS, 'fs.');
  strings(fs, FS_STRINGS, 'fs.');
  if ((value.pagesize as number) <= 0) throw malformed('pagesize is not positive');
  return value as unknown as StatsRecord;
}

const FILE_NUMBERS = [
  'ino',
  'size',
  'pages',
  'resident_pages',
  'dirty_pages',
  'resident_fraction',
  'faults',
  'hits',
  'pageins',
  'zero_fills',
  'pageouts',
  'evictions',
  'write_errors',
  'held_pages',
  'checksum_errors',
] as const satisfies readonly NumericKeys<FileRecord>[];

/** `value` as FileRecord[], or an EPROTO ControlError. */
export function checkFileRecords(value: unknown): FileRecord[] {
  if (!Array.isArray(value)) throw malformed('the file list is not an array');
  value.forEach((f: unknown, i) => {
    if (!isObject(f)) throw malformed(`file ${i} is not an object`);
    numbers(f, FILE_NUMBERS, `file ${i}: `);
    strings(f, ['path'], `file ${i}: `);
    if (typeof f.cached !== 'boolean' || typeof f.open !== 'boolean') throw malformed(`file ${i}: cached or open is not a boolean`);
  });
  return value as FileRecord[];
}

/** `value` as a list of objects with these number and string fields, or an EPROTO ControlError. */
function checkList<T>(value: unknown, what: string, nums: readonly string[], strs: readonly string[]): T[] {
  if (!Array.isArray(value)) throw malformed(`the ${what} list is not an array`);
  value.forEach((v: unknown, i) => {
    if (!isObject(v)) throw malformed(`${what} ${i} is not an object`);
    numbers(v, nums, `${what} ${i}: `);
    strings(v, strs, `${what} ${i}: `);
  });
  return value as T[];
}

/** `value` as RegionRecord[], or an EPROTO ControlError. */
export function checkRegionRecords(value: unknown): RegionRecord[] {
  return checkList<RegionRecord>(value, 'region', ['start', 'end', 'size', 'object', 'offset'], ['task', 'protection', 'max_protection', 'inheritance']);
}

/** `value` as RequestRecord[], or an EPROTO ControlError. */
export function checkRequestRecords(value: unknown): RequestRecord[] {
  return checkList<RequestRecord>(value, 'request', ['id', 'pid', 'ino', 'offset', 'length', 'since', 'waited_ms'], ['op', 'command', 'path', 'waits_for']);
}

/** `value` as a HelloResult, or an EPROTO ControlError. */
export function checkHello(value: unknown): HelloResult {
  if (!isObject(value)) throw malformed('the hello answer is not an object');
  numbers(value, ['protocol', 'pid', 'started', 'page_size'], 'hello: ');
  strings(value, ['version', 'mountpoint', 'store', 'cache_mode'], 'hello: ');
  return value as unknown as HelloResult;
}

/** An object with these number and string fields, or an EPROTO ControlError. */
export function checkResult<T>(value: unknown, what: string, nums: readonly string[], strs: readonly string[] = []): T {
  if (!isObject(value)) throw malformed(`the ${what} answer is not an object`);
  numbers(value, nums, `${what}: `);
  strings(value, strs, `${what}: `);
  return value as T;
}

const RESIDENCY_NUMBERS = ['ino', 'size', 'pages', 'resident_pages', 'dirty_pages', 'wired_pages'] as const;

/** `value` as the residency answer (vmtouch), or an EPROTO ControlError. */
export function checkResidencyRecords(value: unknown): ResidencyRecord[] {
  if (!Array.isArray(value)) throw malformed('the residency list is not an array');
  value.forEach((f: unknown, i) => {
    if (!isObject(f)) throw malformed(`file ${i} is not an object`);
    numbers(f, RESIDENCY_NUMBERS, `file ${i}: `);
    strings(f, ['path'], `file ${i}: `);
    if (f.map !== undefined && typeof f.map !== 'string') throw malformed(`file ${i}: map is not a string`);
  });
  return value as ResidencyRecord[];
}
