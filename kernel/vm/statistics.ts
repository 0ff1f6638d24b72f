/**
 * The one statistics record, bumped where things happen (GNU Mach's
 * vm_statistics, vm_stat.faults++ inside vm_fault_page, ...). Counters are
 * plain fields; the gauges (free, active, inactive, wired, laundry) are read
 * from the page table and the policy when a snapshot is taken. Every view
 * (CLI, JSON, Prometheus) is a view of snapshot().
 *
 * Field names are Mach's own (pagesize, free_count, ..., lookups, hits).
 * Two meanings differ from GNU Mach and say so:
 * - lookups / hits count *page* lookups by memcpy and whether the page was
 *   resident and accessible (the page-cache hit ratio people expect); Mach's
 *   object-cache lookups are object_lookups / object_hits.
 * - faults counts page accesses that needed the fault path (not resident,
 *   locked, or in error), not every access.
 * - hits are demand hits, as cachestat counts them: the first access to a
 *   page brought in by read-ahead is a readahead_hit, and to a page brought
 *   in with another page's fault (a cluster) a miss; neither is a hit. So
 *   lookups = hits + readahead_hits + misses.
 */
import { LatencyHistogram, type LatencySummary } from './latency.js';

export interface VmStatisticsRecord {
  pagesize: number;
  free_count: number;
  active_count: number;
  inactive_count: number;
  wire_count: number;
  laundry_count: number;
  /** Pages returned to external pagers and not yet written by them: laundry held in the pagers' memory, not in frames. */
  laundry_writing: number;
  /** Resident pages modified and not yet returned to their pager (Linux's nr_dirty). */
  dirty_count: number;
  zero_fill_count: number;
  reactivations: number;
  pageins: number;
  pageouts: number;
  faults: number;
  cow_faults: number;
  /** Pages pushed into a delayed copy before a write changed them. */
  copy_pushes: number;
  /** Shadow chain links merged into the object above (vm_object_collapse). */
  object_collapses: number;
  lookups: number;
  hits: number;
  /** Pages brought in ahead of demand (read-ahead windows, pages a pager supplied unasked). */
  readahead_pages: number;
  /** Read-ahead pages a demand access used later. */
  readahead_hits: number;
  /** Read-ahead pages freed (evicted, flushed) before any access. */
  readahead_unused: number;
  evictions_clean: number;
  evictions_dirty: number;
  double_paged: number;
  double_paged_delivered: number;
  lock_requests: number;
  unlocks: number;
  page_errors: number;
  data_requests: number;
  data_returns: number;
  pages_lost: number;
  object_lookups: number;
  object_hits: number;
  objects: number;
  objects_cached: number;
  protocol_errors: number;
  /** Waits on a pager's answer that ran out of time (data_requests, data_unlocks, inits): their faults failed with EIO. */
  pager_timeouts: number;
  policy: string;
  frames: number;
  /** Frames a shrink still waits to retire (in use now). */
  frames_retiring: number;
  free_min: number;
  free_low: number;
  free_high: number;
  fault_latency: LatencySummary;
  messages_sent: Record<string, number>;
  messages_received: Record<string, number>;
}

/** What the kernel reads from its page table and policy when a snapshot is taken (reactivations: the current policy's). */
export type Gauges = Pick<
  VmStatisticsRecord,
  | 'pagesize'
  | 'free_count'
  | 'active_count'
  | 'inactive_count'
  | 'wire_count'
  | 'laundry_count'
  | 'laundry_writing'
  | 'dirty_count'
  | 'objects'
  | 'objects_cached'
  | 'policy'
  | 'frames'
  | 'frames_retiring'
  | 'free_min'
  | 'free_low'
  | 'free_high'
  | 'reactivations'
>;

export class VmStatistics {
  zero_fill_count = 0;
  /** Reactivations by earlier policies (the current policy counts its own). */
  reactivations_before = 0;
  pageins = 0;
  pageouts = 0;
  faults = 0;
  cow_faults = 0;
  copy_pushes = 0;
  object_collapses = 0;
  lookups = 0;
  hits = 0;
  readahead_pages = 0;
  readahead_hits = 0;
  readahead_unused = 0;
  evictions_clean = 0;
  evictions_dirty = 0;
  double_paged = 0;
  double_paged_delivered = 0;
  lock_requests = 0;
  unlocks = 0;
  page_errors = 0;
  data_requests = 0;
  data_returns = 0;
  pages_lost = 0;
  object_lookups = 0;
  object_hits = 0;
  protocol_errors = 0;
  pager_timeouts = 0;
  readonly faultLatency = new LatencyHistogram();
  readonly sent = new Map<string, number>();
  readonly received = new Map<string, number>();

  countSent(id: string): void {
    this.sent.set(id, (this.sent.get(id) ?? 0) + 1);
  }

  countReceived(id: string): void {
    this.received.set(id, (this.received.get(id) ?? 0) + 1);
  }

  snapshot(gauges: Gauges): VmStatisticsRecord {
    return {
      pagesize: gauges.pagesize,
      free_count: gauges.free_count,
      active_count: gauges.active_count,
      inactive_count: gauges.inactive_count,
      wire_count: gauges.wire_count,
      laundry_count: gauges.laundry_count,
      laundry_writing: gauges.laundry_writing,
      dirty_count: gauges.dirty_count,
      zero_fill_count: this.zero_fill_count,
      reactivations: this.reactivations_before + gauges.reactivations,
      pageins: this.pageins,
      pageouts: this.pageouts,
      faults: this.faults,
      cow_faults: this.cow_faults,
      copy_pushes: this.copy_pushes,
      object_collapses: this.object_collapses,
      lookups: this.lookups,
      hits: this.hits,
      readahead_pages: this.readahead_pages,
      readahead_hits: this.readahead_hits,
      readahead_unused: this.readahead_unused,
      evictions_clean: this.evictions_clean,
      evictions_dirty: this.evictions_dirty,
      double_paged: this.double_paged,
      double_paged_delivered: this.double_paged_delivered,
      lock_requests: this.lock_requests,
      unlocks: this.unlocks,
      page_errors: this.page_errors,
      data_requests: this.data_requests,
      data_returns: this.data_returns,
      pages_lost: this.pages_lost,
      object_lookups: this.object_lookups,
      object_hits: this.object_hits,
      objects: gauges.objects,
      objects_cached: gauges.objects_cached,
      protocol_errors: this.protocol_errors,
      pager_timeouts: this.pager_timeouts,
      policy: gauges.policy,
      frames: gauges.frames,
      frames_retiring: gauges.frames_retiring,
      free_min: gauges.free_min,
      free_low: gauges.free_low,
      free_high: gauges.free_high,
      fault_latency: this.faultLatency.summary(),
      messages_sent: Object.fromEntries(this.sent),
      messages_received: Object.fromEntries(this.received),
    };
  }
}
