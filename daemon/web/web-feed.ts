/**
 * What the page shows, pushed as it changes: a snapshot of the mount about
 * four times a second (counters, gauges, per-file residency, the frame map,
 * the fault-latency bins, the trace and its miss-ratio curve), sent to every
 * open Server-Sent Events stream. The snapshot is asked of the mount through
 * its control operations (`WebCall`: the handlers themselves inside the
 * daemon, the control socket from `machpager web`), only while someone
 * watches, and one at a time: a slow answer skips ticks, it never piles up
 * requests.
 */
import type { ControlMethods, FileRecord, FramesResult, HelloResult, LatencyResult, TraceResult } from '../control/protocol.js';
import { checkFileRecords, checkHello, checkStatsRecord, type StatsRecord } from '../control/stats-record.js';
import { latencyBins, type LatencyBins } from './latency-bins.js';
import { MrcJob, type MrcStatus } from './mrc-job.js';
import type { LiveMrcRecord } from '../fs/live-mrc.js';

/** One control operation of the mount (its result unchecked, as the wire gives it). */
export type WebCall = <M extends keyof ControlMethods>(method: M, params: ControlMethods[M]['params']) => Promise<unknown>;

export const FEED_INTERVAL_MS = 250;
/** Files listed with their residency bars (the most resident first). */
const MAX_FILES = 40;

export interface WebFileRow {
  path: string;
  ino: number;
  pages: number;
  resident: number;
  dirty: number;
}

export interface WebSnapshot {
  /** ms since the epoch, as the daemon took its statistics. */
  t: number;
  mount: Pick<HelloResult, 'mountpoint' | 'store' | 'page_size' | 'cache_mode' | 'pid' | 'version'>;
  counters: Pick<StatsRecord, 'faults' | 'lookups' | 'hits' | 'pageins' | 'pageouts' | 'zero_fill_count' | 'evictions_clean' | 'evictions_dirty' | 'reactivations' | 'page_errors'>;
  gauges: Pick<StatsRecord, 'free_count' | 'active_count' | 'inactive_count' | 'wire_count' | 'dirty_count' | 'laundry_count' | 'frames' | 'cache_size'>;
  policy: string;
  policies: string[];
  latency: LatencyBins & { summary: StatsRecord['fault_latency'] };
  files: WebFileRow[];
  frames: FramesResult;
  trace: TraceResult;
  /** The curve of the last recorded trace (computed on demand: mrc-job.ts). */
  mrc: MrcStatus;
  /** The live curve of the workload running now (the daemon's sampled stack distances: daemon/fs/live-mrc.ts). */
  live_mrc: LiveMrcRecord | null;
}

export class WebFeed {
  private readonly subscribers = new Set<(data: string) => void>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private hello: HelloResult | undefined;
  private policies: string[] = [];
  private lastTracePath: string | undefined;
  private wasRecording = false;
  readonly mrc = new MrcJob();
  /** The last failure to take a snapshot (the mount went away): said once per change. */
  private lastError: string | undefined;

  constructor(
    private readonly call: WebCall,
    private readonly log: (line: string) => void,
    private readonly intervalMs = FEED_INTERVAL_MS,
  ) {}

  /** Receive every snapshot (as JSON) until the returned function is called. */
  subscribe(send: (data: string) => void): () => void {
    this.subscribers.add(send);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
      void this.tick();
    }
    return () => {
      this.subscribers.delete(send);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.subscribers.clear();
    this.mrc.cancel();
  }

  /** The trace the MRC is computed of: the one recording now, or the last one seen. */
  get tracePath(): string | undefined {
    return this.lastTracePath;
  }

  async snapshot(): Promise<WebSnapshot> {
    this.hello ??= checkHello(await this.call('hello', {}));
    if (this.policies.length === 0) this.policies = ((await this.call('policy', {})) as ControlMethods['policy']['result']).policies;
    const [statsValue, filesValue, frames, latency, trace, liveMrc] = await Promise.all([
      this.call('stats', {}),
      this.call('files', {}),
      this.call('frames', {}) as Promise<FramesResult>,
      this.call('latency', {}) as Promise<LatencyResult>,
      this.call('trace', { action: 'status' }) as Promise<TraceResult>,
      (this.call('mrc', {}) as Promise<LiveMrcRecord>).catch((err: unknown) => {
        // -o live_mrc=off (or its worker failed): the view goes on without the live curve.
        if ((err as { code?: unknown } | null)?.code === 'ENOTSUP') return null;
        throw err;
      }),
    ]);
    const stats = checkStatsRecord(statsValue);
    this.followTrace(trace);
    const h = this.hello;
    return {
      t: stats.timestamp,
      mount: { mountpoint: h.mountpoint, store: h.store, page_size: h.page_size, cache_mode: h.cache_mode, pid: h.pid, version: h.version },
      counters: {
        faults: stats.faults,
        lookups: stats.lookups,
        hits: stats.hits,
        pageins: stats.pageins,
        pageouts: stats.pageouts,
        zero_fill_count: stats.zero_fill_count,
        evictions_clean: stats.evictions_clean,
        evictions_dirty: stats.evictions_dirty,
        reactivations: stats.reactivations,
        page_errors: stats.page_errors,
      },
      gauges: {
        free_count: stats.free_count,
        active_count: stats.active_count,
        inactive_count: stats.inactive_count,
        wire_count: stats.wire_count,
        dirty_count: stats.dirty_count,
        laundry_count: stats.laundry_count,
        frames: stats.frames,
        cache_size: stats.cache_size,
      },
      policy: stats.policy,
      policies: this.policies,
      latency: { ...latencyBins(latency.buckets), summary: stats.fault_latency },
      files: fileRows(checkFileRecords(filesValue)),
      frames,
      trace,
      mrc: this.mrc.status(),
      live_mrc: liveMrc,
    };
  }

  /** A trace that stops is read for its miss-ratio curve at once (off the hot path: mrc-job.ts). */
  private followTrace(trace: TraceResult): void {
    if (trace.recording && trace.path !== undefined) this.lastTracePath = trace.path;
    if (this.wasRecording && !trace.recording && this.lastTracePath !== undefined) void this.mrc.start(this.lastTracePath);
    this.wasRecording = trace.recording;
  }

  private async tick(): Promise<void> {
    if (this.busy || this.subscribers.size === 0) return;
    this.busy = true;
    try {
      const data = JSON.stringify(await this.snapshot());
      this.lastError = undefined;
      for (const send of this.subscribers) send(data);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.lastError) this.log(`web view: no snapshot: ${message}`);
      this.lastError = message;
    } finally {
      this.busy = false;
    }
  }
}

function fileRows(files: readonly FileRecord[]): WebFileRow[] {
  return files
    .filter((f) => f.resident_pages > 0 || f.open)
    .sort((a, b) => b.resident_pages - a.resident_pages || (a.path < b.path ? -1 : 1))
    .slice(0, MAX_FILES)
    .map((f) => ({ path: f.path, ino: f.ino, pages: f.pages, resident: f.resident_pages, dirty: f.dirty_pages }));
}
