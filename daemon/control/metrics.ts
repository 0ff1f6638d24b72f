/**
 * The opt-in Prometheus endpoint (`mount --metrics 127.0.0.1:PORT`): an
 * HTTP server on a loopback address serving `GET /metrics` in the
 * Prometheus text format (prom-client's registry, a private one). Nothing
 * is counted here: at each scrape the statistics record (stats-record.ts) is
 * read once, through `collect`, and every metric is a view of it.
 *
 * Names (prefix machpager_, base units, `_total` on counters):
 *   counters  machpager_faults_total, _cow_faults_total, _copy_pushes_total,
 *             _object_collapses_total, _pageins_total,
 *             _pageouts_total, _zero_fills_total, _reactivations_total,
 *             _lookups_total, _hits_total (demand hits, as cachestat),
 *             _readahead_pages_total, _readahead_hits_total, _readahead_unused_total,
 *             _evictions_total{kind="clean|dirty"},
 *             _double_paged_total, _double_paged_delivered_total,
 *             _lock_requests_total, _unlocks_total, _page_errors_total,
 *             _data_requests_total, _data_returns_total, _pages_lost_total,
 *             _object_lookups_total, _object_hits_total, _protocol_errors_total,
 *             _pager_timeouts_total,
 *             _messages_sent_total{msg}, _messages_received_total{msg}
 *             (msg: the message without memory_object_, e.g. data_request),
 *             _pager_<field>_total (the pager's counters),
 *             _store_reads_total, _store_writes_total, _store_read_bytes_total,
 *             _store_written_bytes_total, _store_syncs_total, _store_errors_total,
 *             _fault_latency_observations_total,
 *             _injected_faults_total{op="read|write|sync|allocate|operation"} (only with --inject),
 *             _requests_suspended_total (FUSE requests a fault suspended),
 *             _request_wait_observations_total
 *   gauges    machpager_pages{state="free|active|inactive|wired|laundry"},
 *             _dirty_pages, _frames, _frames_retiring, _page_size_bytes, _cache_size_bytes,
 *             _free_target_pages{level="min|low|high"}, _objects,
 *             _objects_cached, _files_open, _uptime_seconds,
 *             _fault_latency_quantile_seconds{quantile="0.5|0.9|0.99"},
 *             _fault_latency_max_seconds, _fault_latency_mean_seconds,
 *             _requests_suspended (now), _request_wait_seconds{quantile="0.5|0.9|0.99"},
 *             _request_wait_longest_seconds (done or still waiting),
 *             _info{store, mountpoint, cache_mode, policy} (always 1)
 *   histogram machpager_fault_latency_seconds (_bucket{le}, _sum, _count;
 *             latency-histogram.ts)
 *   process   what prom-client's default collectors give any Node exporter
 *             (only on the endpoint, not in metricsText unless asked):
 *             process_start_time_seconds, process_cpu_seconds_total,
 *             process_resident_memory_bytes, process_open_fds,
 *             nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds,
 *             nodejs_gc_duration_seconds ...
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { VmStatisticsRecord } from '../../kernel/index.js';
import { RecordLatencyHistogram } from './latency-histogram.js';
import { formatMetricsAddress, parseMetricsAddress, type MetricsAddress } from './metrics-address.js';
import type { PagerStats, StatsRecord, StoreStats } from './stats-record.js';

export { parseMetricsAddress, type MetricsAddress } from './metrics-address.js';

/** Where the record comes from: called once per scrape. */
export type StatsSource = () => StatsRecord | Promise<StatsRecord>;

export interface MetricsEndpoint {
  /** The bound address (the real port when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  /** http://HOST:PORT/metrics */
  readonly url: string;
  /** Stop listening and close the open connections. */
  close(): Promise<void>;
}

type NumericKeys<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T];

interface Spec {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labels?: Readonly<Record<string, string>>;
  /** Multiply the field by this (µs to seconds). */
  readonly scale?: number;
}

const c = (name: string, help: string, labels?: Record<string, string>): Spec => ({ name: `machpager_${name}`, help, type: 'counter', ...(labels ? { labels } : {}) });
const g = (name: string, help: string, labels?: Record<string, string>): Spec => ({ name: `machpager_${name}`, help, type: 'gauge', ...(labels ? { labels } : {}) });

/** Every number of the kernel's record, and the metric it is (the type checker keeps this complete). */
const VM_METRICS: Readonly<Record<NumericKeys<VmStatisticsRecord>, Spec>> = {
  pagesize: g('page_size_bytes', 'The page size in bytes.'),
  free_count: g('pages', 'Pages of the page cache by state.', { state: 'free' }),
  active_count: g('pages', 'Pages of the page cache by state.', { state: 'active' }),
  inactive_count: g('pages', 'Pages of the page cache by state.', { state: 'inactive' }),
  wire_count: g('pages', 'Pages of the page cache by state.', { state: 'wired' }),
  laundry_count: g('pages', 'Pages of the page cache by state.', { state: 'laundry' }),
  laundry_writing: g('laundry_writing_pages', 'Pages returned to the pagers and not yet written by them (laundry held in their memory).'),
  dirty_count: g('dirty_pages', 'Resident pages modified and not yet returned to their pager.'),
  zero_fill_count: c('zero_fills_total', 'Pages zero-filled (data_unavailable).'),
  reactivations: c('reactivations_total', 'Pages reactivated (referenced again while inactive).'),
  pageins: c('pageins_total', 'Pages supplied by pagers (data_supply).'),
  pageouts: c('pageouts_total', 'Pages returned to pagers (data_return).'),
  faults: c('faults_total', 'Page accesses that needed the fault path.'),
  cow_faults: c('cow_faults_total', 'Copy-on-write faults.'),
  copy_pushes: c('copy_pushes_total', 'Pages pushed into a delayed copy before a write changed them.'),
  object_collapses: c('object_collapses_total', 'Shadow chain links collapsed.'),
  lookups: c('lookups_total', 'Page lookups.'),
  hits: c('hits_total', 'Demand hits: page lookups that found the page resident and accessible, not counting the first use of a page brought in by read-ahead or with a cluster.'),
  readahead_pages: c('readahead_pages_total', 'Pages brought in ahead of demand (read-ahead).'),
  readahead_hits: c('readahead_hits_total', 'Read-ahead pages a demand access used later.'),
  readahead_unused: c('readahead_unused_total', 'Read-ahead pages freed (evicted, flushed) before any access.'),
  evictions_clean: c('evictions_total', 'Pages evicted by the pageout daemon.', { kind: 'clean' }),
  evictions_dirty: c('evictions_total', 'Pages evicted by the pageout daemon.', { kind: 'dirty' }),
  double_paged: c('double_paged_total', 'Pages handed to the default pager because their pager was late.'),
  double_paged_delivered: c('double_paged_delivered_total', 'Double-paged pages delivered to their pager later.'),
  lock_requests: c('lock_requests_total', 'memory_object_lock_request messages handled.'),
  unlocks: c('unlocks_total', 'memory_object_data_unlock requests sent.'),
  page_errors: c('page_errors_total', 'Page errors (data_error, failed pager I/O).'),
  data_requests: c('data_requests_total', 'memory_object_data_request messages sent.'),
  data_returns: c('data_returns_total', 'memory_object_data_return messages sent.'),
  pages_lost: c('pages_lost_total', 'Pages lost (a pager gone with data not returned).'),
  object_lookups: c('object_lookups_total', 'Memory object cache lookups.'),
  object_hits: c('object_hits_total', 'Memory object cache hits.'),
  objects: g('objects', 'Memory objects.'),
  objects_cached: g('objects_cached', 'Memory objects kept in the object cache without a mapping.'),
  protocol_errors: c('protocol_errors_total', 'Messages from pagers that broke the protocol.'),
  pager_timeouts: c('pager_timeouts_total', 'Waits on a pager answer (data_request, data_unlock, init) that ran out of time: their faults failed with EIO.'),
  frames: g('frames', 'Page frames of the page cache.'),
  frames_retiring: g('frames_retiring', 'Frames a shrink of the cache still waits to retire (in use now).'),
  free_min: g('free_target_pages', 'The pageout daemon free-page targets.', { level: 'min' }),
  free_low: g('free_target_pages', 'The pageout daemon free-page targets.', { level: 'low' }),
  free_high: g('free_target_pages', 'The pageout daemon free-page targets.', { level: 'high' }),
};

const PAGER_METRICS: Readonly<Record<keyof PagerStats, Spec>> = {
  data_requests: c('pager_data_requests_total', 'data_request messages the pager handled.'),
  pages_read: c('pager_pages_read_total', 'Pages the pager read from its store.'),
  pages_unavailable: c('pager_pages_unavailable_total', 'Pages the pager answered with data_unavailable (no data: past the end of a file).'),
  read_errors: c('pager_read_errors_total', 'Page reads that failed.'),
  checksum_errors: c('pager_checksum_errors_total', 'Page reads that found the stored data damaged (checksum mismatch, missing page, corrupt database): EIO.'),
  data_returns: c('pager_data_returns_total', 'data_return messages the pager handled.'),
  pages_written: c('pager_pages_written_total', 'Pages the pager wrote to its store.'),
  write_errors: c('pager_write_errors_total', 'Page writes that failed.'),
  write_retries: c('pager_write_retries_total', 'Pages written again after a failed write.'),
  pages_held: g('pager_pages_held', 'Pages whose write failed, held in memory by the pager until they are stored.'),
  write_runs: c('pager_write_runs_total', 'Runs of contiguous pages written in one store write.'),
  unlocks: c('pager_unlocks_total', 'data_unlock requests the pager handled.'),
  unlock_errors: c('pager_unlock_errors_total', 'data_unlock requests the pager refused (ENOSPC, EDQUOT, EIO).'),
  pagein_waits: c('pager_pagein_waits_total', 'Page requests answered from a page that was being written back.'),
  evict_notifications: c('pager_evict_notifications_total', 'Pages the kernel dropped that the pager was told of (pager_notify_evict).'),
};

const STORE_METRICS: Readonly<Record<keyof StoreStats, Spec>> = {
  reads: c('store_reads_total', 'Reads from the data store.'),
  writes: c('store_writes_total', 'Writes to the data store.'),
  bytes_read: c('store_read_bytes_total', 'Bytes read from the data store.'),
  bytes_written: c('store_written_bytes_total', 'Bytes written to the data store.'),
  syncs: c('store_syncs_total', 'Syncs of the data store.'),
  errors: c('store_errors_total', 'Data store operations that failed.'),
};

const US = 1e-6;

/** Each value of a record: its metric, labels and value. */
function samples(r: StatsRecord): { spec: Spec; labels: Record<string, string>; value: number }[] {
  const out: { spec: Spec; labels: Record<string, string>; value: number }[] = [];
  const add = (spec: Spec, value: number, labels: Record<string, string> = {}): void => {
    if (Number.isFinite(value)) out.push({ spec, labels: { ...spec.labels, ...labels }, value: value * (spec.scale ?? 1) });
  };
  for (const [k, spec] of Object.entries(VM_METRICS) as [NumericKeys<VmStatisticsRecord>, Spec][]) add(spec, r[k]);
  for (const [k, spec] of Object.entries(PAGER_METRICS) as [keyof PagerStats, Spec][]) add(spec, r.pager[k]);
  for (const [k, spec] of Object.entries(STORE_METRICS) as [keyof StoreStats, Spec][]) add(spec, r.store[k]);
  const sent = c('messages_sent_total', 'Memory object messages the kernel sent, by message.');
  const received = c('messages_received_total', 'Memory object messages the kernel received, by message.');
  for (const [id, n] of Object.entries(r.messages_sent)) add(sent, n, { msg: id.replace(/^memory_object_/, '') });
  for (const [id, n] of Object.entries(r.messages_received)) add(received, n, { msg: id.replace(/^memory_object_/, '') });
  add(g('cache_size_bytes', 'The size of the page cache in bytes.'), r.cache_size);
  add(g('uptime_seconds', 'Seconds since the mount started.'), r.uptime_s);
  add(g('files_open', 'Files open on the mount.'), r.fs.files_open);
  const l = r.fault_latency;
  // The quantiles keep a name of their own: machpager_fault_latency_seconds is the histogram.
  const q = g('fault_latency_quantile_seconds', 'Fault service latency quantiles, in seconds (since the mount started).');
  add({ ...q, scale: US }, l.p50_us, { quantile: '0.5' });
  add({ ...q, scale: US }, l.p90_us, { quantile: '0.9' });
  add({ ...q, scale: US }, l.p99_us, { quantile: '0.99' });
  add({ ...g('fault_latency_max_seconds', 'The longest fault service, in seconds.'), scale: US }, l.max_us);
  add({ ...g('fault_latency_mean_seconds', 'The mean fault service time, in seconds.'), scale: US }, l.mean_us);
  add(c('fault_latency_observations_total', 'Faults whose service time was measured.'), l.count);
  const rq = r.requests;
  add(c('requests_suspended_total', 'FUSE requests (reads, writes) a fault suspended until the kernel had their pages.'), rq.suspended);
  add(g('requests_suspended', 'FUSE requests suspended by a fault now.'), rq.suspended_now);
  const w = g('request_wait_seconds', 'How long suspended FUSE requests waited, quantiles in seconds (since the mount started).');
  add({ ...w, scale: US }, rq.wait.p50_us, { quantile: '0.5' });
  add({ ...w, scale: US }, rq.wait.p90_us, { quantile: '0.9' });
  add({ ...w, scale: US }, rq.wait.p99_us, { quantile: '0.99' });
  add({ ...g('request_wait_longest_seconds', 'The longest wait of a suspended FUSE request, done or still waiting, in seconds.'), scale: US }, rq.longest_us);
  add(c('request_wait_observations_total', 'Suspended FUSE requests whose wait was measured (answered).'), rq.wait.count);
  if (r.coherence) {
    const co = r.coherence;
    add(g('coherence_peers', 'Other mounts of the store alive (--coherent).'), co.peers);
    const sent = c('coherence_requests_sent_total', 'Requests this mount sent to the other mounts, by kind (recall: to read; invalidate: to write).');
    add(sent, co.recalls_sent, { kind: 'recall' });
    add(sent, co.invalidations_sent, { kind: 'invalidate' });
    const heard = c('coherence_requests_received_total', 'Requests of other mounts this mount answered, by kind.');
    add(heard, co.recalls_received, { kind: 'recall' });
    add(heard, co.invalidations_received, { kind: 'invalidate' });
    add(c('coherence_pages_recalled_total', 'Dirty pages written to the store because another mount asked for them.'), co.pages_recalled);
    add(c('coherence_deferred_total', 'Requests of other mounts held back until a local request was answered.'), co.deferred);
    add(c('coherence_waits_total', 'Faults that waited for the other mounts.'), co.waits);
    add({ ...c('coherence_wait_seconds_total', 'Time faults spent waiting for the other mounts, in seconds.'), scale: 1e-3 }, co.wait_ms);
    const names = c('coherence_name_changes_total', 'Namespace changes announced to and heard from the other mounts.');
    add(names, co.names_sent, { dir: 'sent' });
    add(names, co.names_received, { dir: 'received' });
    add(c('coherence_acks_abandoned_total', 'Acknowledgements no longer waited for: their mount died.'), co.acks_abandoned);
  }
  if (r.inject) {
    const injected = c('injected_faults_total', 'Store operations failed on purpose (mount --inject), by operation.');
    const f = r.inject.stats;
    add(injected, f.injected_reads, { op: 'read' });
    add(injected, f.injected_writes, { op: 'write' });
    add(injected, f.injected_syncs, { op: 'sync' });
    add(injected, f.injected_allocates, { op: 'allocate' });
    // File-system operations (create, rename, fsync ...) failed before they ran.
    add(injected, f.injected_operations, { op: 'operation' });
  }
  add(g('info', 'The mount: store, mountpoint, cache mode and replacement policy (always 1).'), 1, {
    store: r.fs.store,
    mountpoint: r.fs.mountpoint,
    cache_mode: r.fs.cache_mode,
    policy: r.policy,
  });
  return out;
}

export interface RegistryOptions {
  /**
   * Add the process metrics of prom-client's default collectors. Some of
   * them watch for as long as the process lives (event-loop delay, GC): a
   * daemon asks once, for its endpoint.
   */
  readonly processMetrics?: boolean;
}

/**
 * A private registry whose metrics, when collected, show `read()` (the
 * record of the scrape in progress). Every metric family is declared up
 * front with its label names, from a record of zeros.
 */
export function metricsRegistry(read: () => StatsRecord | undefined, options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });
  new RecordLatencyHistogram(registry, () => read()?.fault_latency);
  const families = new Map<string, { spec: Spec; labelNames: Set<string> }>();
  for (const s of samples(ZERO_RECORD)) {
    const f = families.get(s.spec.name) ?? { spec: s.spec, labelNames: new Set<string>() };
    for (const k of Object.keys(s.labels)) f.labelNames.add(k);
    families.set(s.spec.name, f);
  }
  // The samples of the record being scraped, worked out once for all the families.
  let memo: { record: StatsRecord; samples: ReturnType<typeof samples> } | undefined;
  const current = (name: string): ReturnType<typeof samples> => {
    const r = read();
    if (!r) return [];
    if (memo?.record !== r) memo = { record: r, samples: samples(r) };
    return memo.samples.filter((s) => s.spec.name === name);
  };
  for (const [name, { spec, labelNames }] of families) {
    const config = { name, help: spec.help, labelNames: [...labelNames], registers: [registry] };
    if (spec.type === 'counter') {
      new Counter({
        ...config,
        collect(this: Counter) {
          this.reset();
          for (const s of current(name)) this.inc(s.labels, Math.max(0, s.value));
        },
      });
    } else {
      new Gauge({
        ...config,
        collect(this: Gauge) {
          this.reset();
          for (const s of current(name)) this.set(s.labels, s.value);
        },
      });
    }
  }
  return registry;
}

/** The exposition text for one record (what a scrape returns). */
export async function metricsText(record: StatsRecord, options: RegistryOptions = {}): Promise<string> {
  return metricsRegistry(() => record, options).metrics();
}

/**
 * Serve `GET /metrics` on `address` (ADDR:PORT, loopback only; or a parsed
 * MetricsAddress) until close(). Each scrape calls `collect` once. Rejects
 * with a MetricsAddressError (code EINVAL) for a bad or non-loopback
 * address, or the listen error (EADDRINUSE ...).
 */
export async function startMetrics(address: string | MetricsAddress, collect: StatsSource): Promise<MetricsEndpoint> {
  const where = typeof address === 'string' ? parseMetricsAddress(address) : parseMetricsAddress(formatMetricsAddress(address));
  let current: StatsRecord | undefined;
  const registry = metricsRegistry(() => current, { processMetrics: true });
  let queue: Promise<unknown> = Promise.resolve();

  /** One scrape at a time: the record is read once and every metric shows it. */
  const scrape = (): Promise<string> => {
    const run = queue.then(async () => {
      current = await collect();
      try {
        return await registry.metrics();
      } finally {
        current = undefined;
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('machpager: the metrics are at /metrics\n');
      return;
    }
    if (url.pathname !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    let body: string;
    try {
      body = await scrape();
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`machpager: cannot read the statistics: ${err instanceof Error ? err.message : String(err)}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(where.port, where.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const bound = server.address() as AddressInfo;
  const endpoint = { host: where.host, port: bound.port };
  return {
    ...endpoint,
    url: `http://${formatMetricsAddress(endpoint)}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A record of zeros: what declares the metric families. */
const ZERO_RECORD: StatsRecord = {
  ...(Object.fromEntries(Object.keys(VM_METRICS).map((k) => [k, 0])) as Record<NumericKeys<VmStatisticsRecord>, number>),
  policy: '',
  fault_latency: { count: 0, p50_us: 0, p90_us: 0, p99_us: 0, max_us: 0, mean_us: 0, sum_us: 0, buckets: [] },
  messages_sent: { memory_object_data_request: 0 },
  messages_received: { memory_object_data_supply: 0 },
  cache_size: 0,
  uptime_s: 0,
  timestamp: 0,
  pager: Object.fromEntries(Object.keys(PAGER_METRICS).map((k) => [k, 0])) as unknown as PagerStats,
  store: Object.fromEntries(Object.keys(STORE_METRICS).map((k) => [k, 0])) as unknown as StoreStats,
  fs: { files_open: 0, objects: 0, snapshots: 0, shared_pages: 0, store: '', mountpoint: '', cache_mode: 'direct' },
  requests: { suspended: 0, suspended_now: 0, longest_us: 0, wait: { count: 0, p50_us: 0, p90_us: 0, p99_us: 0, max_us: 0, mean_us: 0, sum_us: 0, buckets: [] } },
  // Declares the family; a mount without --inject has no samples in it.
  inject: {
    spec: '',
    enabled: true,
    frozen: false,
    stats: {
      reads: 0,
      writes: 0,
      syncs: 0,
      injected: 0,
      injected_reads: 0,
      injected_writes: 0,
      injected_syncs: 0,
      injected_allocates: 0,
      injected_operations: 0,
      frozen_operations: 0,
      frozen_waiting: 0,
      latency_ms: 0,
    },
    rules: [],
  },
};
