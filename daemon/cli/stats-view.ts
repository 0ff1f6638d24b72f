/**
 * `machpager stats` as text: the vm_stat-style labelled list (macOS's
 * header, Mach's names, values ending in periods), then the sections the
 * record adds; and the terse vmstat-style table of `stats -w`, whose first
 * line is since the mount started and the others per interval (counters as
 * differences, gauges as they are), like vmstat(8) and the Hurd's vmstat.
 */
import type { StatsRecord } from '../control/stats-record.js';
import { labelled, percent, table } from './format.js';

const LABEL_WIDTH = 30;
const VALUE_WIDTH = 16;

function list(items: readonly (readonly [string, string | number])[], indent = ''): string[] {
  return labelled(items, { indent, labelWidth: LABEL_WIDTH - indent.length, valueWidth: VALUE_WIDTH });
}

/** A section after the first list: a blank line, its title, and its items indented. */
function section(title: string, items: readonly (readonly [string, string | number])[]): string[] {
  return ['', title, ...list(items, '  ')];
}

/** The whole `machpager stats` text (lines ending in '\n'). */
export function renderStats(r: StatsRecord): string {
  const out: string[] = [];
  out.push(`Mach Virtual Memory Statistics: (page size of ${r.pagesize} bytes)`);
  out.push(
    ...list([
      ['Pages free', r.free_count],
      ['Pages active', r.active_count],
      ['Pages inactive', r.inactive_count],
      ['Pages wired down', r.wire_count],
      ['Pages in laundry', r.laundry_count],
      ['Pages being written', r.laundry_writing],
      ['Pages dirty', r.dirty_count],
      ['Page faults', r.faults],
      ['Pages copy-on-write', r.cow_faults],
      ['Pages pushed to copies', r.copy_pushes],
      ['Pages zero filled', r.zero_fill_count],
      ['Pages reactivated', r.reactivations],
      ['Pageins', r.pageins],
      ['Pageouts', r.pageouts],
      ['Page lookups', r.lookups],
      // Demand hits, as cachestat counts them: the first use of a page read ahead is a read-ahead hit.
      ['Page hits', r.hits],
      ['Hit ratio', percent(r.hits, r.lookups)],
      ['Pages read ahead', r.readahead_pages],
      ['Read-ahead hits', r.readahead_hits],
      ['Read-ahead unused', r.readahead_unused],
      ['Pages evicted clean', r.evictions_clean],
      ['Pages evicted dirty', r.evictions_dirty],
      ['Pages double-paged', r.double_paged],
      ['Double-paged delivered', r.double_paged_delivered],
      ['Pages lost', r.pages_lost],
      ['Lock requests', r.lock_requests],
      ['Unlocks', r.unlocks],
      ['Page errors', r.page_errors],
      ['Data requests', r.data_requests],
      ['Data returns', r.data_returns],
      ['Protocol errors', r.protocol_errors],
      ['Pager timeouts', r.pager_timeouts],
    ]),
  );
  out.push(`Object cache: ${r.object_hits} hits of ${r.object_lookups} lookups (${percent(r.object_hits, r.object_lookups).replace('-', '0.0%')} hit rate)`);

  out.push(
    ...section('Page cache:', [
      ['Cache size (bytes)', r.cache_size],
      ['Frames', r.frames],
      ['Frames retiring', r.frames_retiring],
      ['Free target min', r.free_min],
      ['Free target low', r.free_low],
      ['Free target high', r.free_high],
      ['Objects', r.objects],
      ['Objects cached', r.objects_cached],
      ['Policy', r.policy],
    ]),
  );

  const ids = [...new Set([...Object.keys(r.messages_sent), ...Object.keys(r.messages_received)])].sort();
  out.push('', 'Pager traffic (messages, as the kernel counts them):');
  if (ids.length === 0) {
    out.push('  none');
  } else {
    const rows = ids.map((id) => [id, String(r.messages_sent[id] ?? 0), String(r.messages_received[id] ?? 0)]);
    out.push(...table(['message', 'sent', 'received'], rows, ['left', 'right', 'right']).map((l) => `  ${l}`));
  }

  out.push(
    ...section('Pager:', [
      ['Data requests', r.pager.data_requests],
      ['Pages read', r.pager.pages_read],
      ['Pages unavailable', r.pager.pages_unavailable],
      ['Read errors', r.pager.read_errors],
      ['Checksum errors', r.pager.checksum_errors],
      ['Data returns', r.pager.data_returns],
      ['Pages written', r.pager.pages_written],
      ['Write errors', r.pager.write_errors],
      ['Write retries', r.pager.write_retries],
      ['Pages held for retry', r.pager.pages_held],
      ['Write runs', r.pager.write_runs],
      ['Unlocks', r.pager.unlocks],
      ['Unlock errors', r.pager.unlock_errors],
      ['Pagein waits', r.pager.pagein_waits],
      ['Evict notifications', r.pager.evict_notifications],
    ]),
  );

  out.push(
    ...section('Store I/O:', [
      ['Reads', r.store.reads],
      ['Writes', r.store.writes],
      ['Bytes read', r.store.bytes_read],
      ['Bytes written', r.store.bytes_written],
      ['Syncs', r.store.syncs],
      ['Errors', r.store.errors],
    ]),
  );

  // Only a mount started with --inject has this: its faults are the store errors above that were on purpose.
  if (r.inject !== undefined) {
    const f = r.inject.stats;
    const state = `${r.inject.enabled ? '' : ', off'}${r.inject.frozen ? ', store frozen' : ''}`;
    out.push(
      ...section(`Fault injection (${r.inject.spec === '' ? 'no rules' : r.inject.spec}${state}):`, [
        ['Faults injected', f.injected],
        ['on reads', f.injected_reads],
        ['on writes', f.injected_writes],
        ['on syncs', f.injected_syncs],
        ['on allocations', f.injected_allocates],
        ['on file operations', f.injected_operations],
        ['Operations held by a freeze', f.frozen_operations],
        ['waiting now', f.frozen_waiting],
        ['Latency added (ms)', Math.round(f.latency_ms)],
      ]),
    );
  }

  // Only a mount started with --coherent: the traffic with the other mounts of its store.
  if (r.coherence !== undefined) {
    const co = r.coherence;
    out.push(
      ...section(`Coherence (mount ${co.mount_id}, slot ${co.slot}, ${co.peers} other mount(s) alive):`, [
        ['Recalls sent (to read)', co.recalls_sent],
        ['Invalidations sent (to write)', co.invalidations_sent],
        ['Recalls received', co.recalls_received],
        ['Invalidations received', co.invalidations_received],
        ['Pages recalled (written back for another mount)', co.pages_recalled],
        ['Requests held back', co.deferred],
        ['Faults that waited for another mount', co.waits],
        ['Time waiting for other mounts (ms)', Math.round(co.wait_ms)],
        ['Name changes sent', co.names_sent],
        ['Name changes received', co.names_received],
        ['Acks abandoned (mount died)', co.acks_abandoned],
      ]),
    );
  }

  const l = r.fault_latency;
  out.push(
    ...section('Fault service latency (microseconds):', [
      ['Faults timed', l.count],
      ['p50', l.p50_us],
      ['p90', l.p90_us],
      ['p99', l.p99_us],
      ['max', l.max_us],
      ['mean', l.mean_us],
    ]),
  );

  const rq = r.requests;
  out.push(
    ...section('Requests suspended by faults (microseconds):', [
      ['Suspended', rq.suspended],
      ['Suspended now', rq.suspended_now],
      ['Wait p50', rq.wait.p50_us],
      ['Wait p90', rq.wait.p90_us],
      ['Wait p99', rq.wait.p99_us],
      ['Longest wait', rq.longest_us],
    ]),
  );

  out.push(
    ...section('Mount:', [
      ['Mountpoint', r.fs.mountpoint],
      ['Store', r.fs.store],
      ['Cache mode', r.fs.cache_mode],
      ['Files open', r.fs.files_open],
      ['Snapshots', r.fs.snapshots],
      ['Pages shared by snapshots', r.fs.shared_pages],
      ['Uptime (seconds)', Math.floor(r.uptime_s)],
    ]),
  );
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// stats -w: the terse table

interface Column {
  readonly name: string;
  readonly width: number;
  /** The cell: `prev` undefined for the first line (since the mount started). */
  readonly cell: (cur: StatsRecord, prev: StatsRecord | undefined) => string;
}

function counter(name: string, get: (r: StatsRecord) => number, width = 7): Column {
  return { name, width, cell: (cur, prev) => String(get(cur) - (prev ? get(prev) : 0)) };
}

function gauge(name: string, get: (r: StatsRecord) => number, width = 7): Column {
  return { name, width, cell: (cur) => String(get(cur)) };
}

/** The columns, with the Hurd vmstat's terse names where it has one. */
export const TERSE_COLUMNS: readonly Column[] = [
  gauge('free', (r) => r.free_count),
  gauge('actv', (r) => r.active_count),
  gauge('inact', (r) => r.inactive_count),
  gauge('wired', (r) => r.wire_count, 6),
  counter('pfaults', (r) => r.faults, 8),
  counter('lkups', (r) => r.lookups, 8),
  counter('hits', (r) => r.hits, 8),
  {
    name: 'hrat',
    width: 6,
    cell: (cur, prev) => {
      const lookups = cur.lookups - (prev?.lookups ?? 0);
      const hits = cur.hits - (prev?.hits ?? 0);
      return lookups > 0 ? `${Math.round((100 * hits) / lookups)}%` : '-';
    },
  },
  counter('rapgs', (r) => r.readahead_pages),
  counter('rahit', (r) => r.readahead_hits),
  counter('pgins', (r) => r.pageins),
  counter('pgouts', (r) => r.pageouts),
  counter('zeroed', (r) => r.zero_fill_count),
  counter('react', (r) => r.reactivations, 6),
  counter('evcln', (r) => r.evictions_clean, 6),
  counter('evdty', (r) => r.evictions_dirty, 6),
  counter('perr', (r) => r.page_errors, 5),
];

function row(cells: readonly string[]): string {
  return cells.map((c, i) => c.padStart(TERSE_COLUMNS[i]?.width ?? 0)).join(' ');
}

export function terseHeader(): string {
  return row(TERSE_COLUMNS.map((c) => c.name));
}

/** One line: since the mount started when `prev` is undefined, else the change since `prev`. */
export function terseLine(cur: StatsRecord, prev: StatsRecord | undefined): string {
  return row(TERSE_COLUMNS.map((c) => c.cell(cur, prev)));
}

