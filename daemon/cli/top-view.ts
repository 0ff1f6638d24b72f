/**
 * One screen of `machpager top`: the mount, the page counts, the events per
 * second of the last interval and their totals, the fault latency, the
 * store's I/O, the hit ratio of each recent interval as a sparkline, and the
 * files with the most resident and the most dirty pages. Pure: records in,
 * lines out (the command draws them).
 */
import path from 'node:path';
import type { FileRecord } from '../control/protocol.js';
import type { StatsRecord } from '../control/stats-record.js';
import { duration, fit, humanSize, percent, sparkline, table } from './format.js';
import type { LiveMrcRecord } from '../fs/live-mrc.js';
import { liveMinisLine, liveMrcLine } from './mrc-view.js';

export interface TopState {
  readonly record: StatsRecord;
  /** The record of the previous refresh (none on the first screen). */
  readonly prev: StatsRecord | undefined;
  readonly files: readonly FileRecord[];
  /** The hit ratio of each interval so far, oldest first (null: no lookups in it). */
  readonly history: readonly (number | null)[];
  readonly intervalS: number;
  /** The live miss-ratio curve (stats --mrc), when the daemon gave it. */
  readonly mrc?: LiveMrcRecord;
}

export interface Screen {
  /** Columns and rows when drawing on a terminal; undefined: plain output (80 columns, 10 files per list). */
  readonly columns?: number;
  readonly rows?: number;
}

export interface Style {
  readonly bold: (s: string) => string;
  /** Colour a hit-ratio text by its value. */
  readonly ratio: (s: string, ratio: number | null) => string;
}

export const PLAIN: Style = { bold: (s) => s, ratio: (s) => s };

export const ANSI: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
  ratio: (s, r) => (r === null ? s : `\x1b[${r >= 0.9 ? 32 : r >= 0.5 ? 33 : 31}m${s}\x1b[39m`),
};

/** How many intervals of hit ratio the screen shows. */
export function historyWidth(screen: Screen): number {
  return Math.max(10, Math.min(120, (screen.columns ?? 80) - 40));
}

function rate(cur: number, prev: number | undefined, seconds: number): string {
  if (prev === undefined || !(seconds > 0)) return '-';
  const r = (cur - prev) / seconds;
  return r >= 100 || Number.isInteger(r) ? String(Math.round(r)) : r.toFixed(1);
}

function fileRows(files: readonly FileRecord[], pageSize: number, mountpoint: string): string[][] {
  return files.map((f) => [
    humanSize(f.resident_pages * pageSize),
    String(f.resident_pages),
    humanSize(f.dirty_pages * pageSize),
    humanSize(f.size),
    percent(f.resident_pages, f.pages),
    String(f.faults),
    String(f.hits),
    String(f.readahead_hits),
    f.path === '' ? `(deleted, inode ${f.ino})` : path.posix.join(mountpoint, f.path),
  ]);
}

const FILE_HEADER = ['RES', 'PAGES', 'DIRTY', 'SIZE', 'RES%', 'FAULTS', 'HITS', 'RAHITS', 'FILE'];
const FILE_ALIGN = ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] as const;

/** The screen's lines (no newlines), each at most `screen.columns` wide. */
export function renderTop(state: TopState, screen: Screen, style: Style = PLAIN, now: Date = new Date(state.record.timestamp)): string[] {
  const r = state.record;
  const p = state.prev;
  const dt = p ? (r.timestamp - p.timestamp) / 1000 : 0;
  const width = screen.columns;
  const head: string[] = [];
  const clock = now.toTimeString().slice(0, 8);
  head.push(`machpager top - ${r.fs.mountpoint}: ${r.fs.store}, ${r.fs.cache_mode}, policy ${r.policy}, up ${duration(r.uptime_s)}, ${clock}`);
  head.push(
    `Pages:   ${r.frames} frames of ${humanSize(r.pagesize)} (${humanSize(r.cache_size)}): ${r.free_count} free, ${r.active_count} active, ${r.inactive_count} inactive, ${r.wire_count} wired, ${r.laundry_count} laundry, ${r.dirty_count} dirty`,
  );
  head.push(
    `Per s:   faults ${rate(r.faults, p?.faults, dt)}, lookups ${rate(r.lookups, p?.lookups, dt)}, hits ${rate(r.hits, p?.hits, dt)}, ` +
      `read ahead ${rate(r.readahead_pages, p?.readahead_pages, dt)}, pageins ${rate(r.pageins, p?.pageins, dt)}, pageouts ${rate(r.pageouts, p?.pageouts, dt)}, zero fills ${rate(r.zero_fill_count, p?.zero_fill_count, dt)}, ` +
      `evictions ${rate(r.evictions_clean, p?.evictions_clean, dt)} clean ${rate(r.evictions_dirty, p?.evictions_dirty, dt)} dirty`,
  );
  head.push(
    `Totals:  faults ${r.faults}, lookups ${r.lookups}, hits ${r.hits} (${percent(r.hits, r.lookups)}), ` +
      `read ahead ${r.readahead_pages} (${r.readahead_hits} used, ${r.readahead_unused} unused), pageins ${r.pageins}, pageouts ${r.pageouts}, ` +
      `reactivated ${r.reactivations}, page errors ${r.page_errors}`,
  );
  const l = r.fault_latency;
  head.push(`Latency: fault service p50 ${l.p50_us} us, p90 ${l.p90_us} us, p99 ${l.p99_us} us, max ${l.max_us} us (${l.count} faults)`);
  head.push(
    `Store:   reads ${r.store.reads} (${humanSize(r.store.bytes_read)}), writes ${r.store.writes} (${humanSize(r.store.bytes_written)}), ` +
      `syncs ${r.store.syncs}, errors ${r.store.errors}; files open ${r.fs.files_open}, objects ${r.objects}`,
  );
  if (state.mrc) head.push(`${liveMrcLine(state.mrc)}${state.mrc.requests > 0 ? ` |${sparkline(state.mrc.points.map((q) => q.hit_ratio))}|` : ''}`);
  const policies = state.mrc ? liveMinisLine(state.mrc) : '';
  if (policies !== '') head.push(policies);
  const hw = historyWidth(screen);
  const shown = state.history.slice(-hw);
  const last = shown.length > 0 ? (shown[shown.length - 1] ?? null) : null;
  const lastText = last === null ? '-' : `${(last * 100).toFixed(1)}%`;
  const spark = sparkline(shown);
  const histLine = `Hit ratio: ${lastText} |${spark}${' '.repeat(Math.max(0, hw - shown.length))}| last ${shown.length} interval${shown.length === 1 ? '' : 's'} of ${state.intervalS}s`;

  // How many files each list shows.
  const fixed = head.length + 1 + 1 + 2 + 1 + 2; // head, history, blank, title+header, blank, title+header
  const perList = screen.rows === undefined ? 10 : Math.max(1, Math.floor((screen.rows - fixed) / 2));
  const resident = state.files.filter((f) => f.resident_pages > 0).sort((a, b) => b.resident_pages - a.resident_pages || cmp(a.path, b.path)).slice(0, perList);
  const dirty = state.files.filter((f) => f.dirty_pages > 0).sort((a, b) => b.dirty_pages - a.dirty_pages || cmp(a.path, b.path)).slice(0, perList);

  const out: string[] = head.map((line) => fit(line, width));
  const histFitted = fit(histLine, width);
  out.push(histFitted.replace(lastText, style.ratio(lastText, last)));
  out.push('');
  out.push(style.bold('Most resident'));
  if (resident.length === 0) out.push('  none');
  else out.push(...styleHeader(table(FILE_HEADER, fileRows(resident, r.pagesize, r.fs.mountpoint), FILE_ALIGN), width, style));
  out.push('');
  out.push(style.bold('Most dirty'));
  if (dirty.length === 0) out.push('  none');
  else out.push(...styleHeader(table(FILE_HEADER, fileRows(dirty, r.pagesize, r.fs.mountpoint), FILE_ALIGN), width, style));
  return out;
}

function styleHeader(lines: string[], width: number | undefined, style: Style): string[] {
  return lines.map((l, i) => (i === 0 ? style.bold(fit(l, width)) : fit(l, width)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The hit ratio of the interval from `prev` to `cur` (the whole life when there is no prev); null when nothing was looked up. */
export function intervalHitRatio(cur: StatsRecord, prev: StatsRecord | undefined): number | null {
  const lookups = cur.lookups - (prev?.lookups ?? 0);
  const hits = cur.hits - (prev?.hits ?? 0);
  return lookups > 0 ? hits / lookups : null;
}
