/**
 * What `machpager vmtouch` prints, in vmtouch(8)'s layout: per file with
 * -v its name and a page map of at most 60 columns ('O' every page of the
 * column resident, 'o' some, ' ' none) with resident/total pages, then the
 * summary (Files, Resident Pages with bytes and share, or Touched /
 * Evicted Pages after -t / -e, Elapsed).
 */
import type { ResidencyRecord } from '../control/protocol.js';
import { humanSize } from './format.js';

/** Columns of the page map, as vmtouch draws it. */
export const MAP_COLUMNS = 60;

/** A file's residency map (ResidencyRecord.map: '.' a page not resident) in at most `columns` columns. */
export function pageMap(map: string, columns = MAP_COLUMNS): string {
  const n = map.length;
  if (n <= columns) return [...map].map((c) => (c === '.' ? ' ' : 'O')).join('');
  let out = '';
  for (let col = 0; col < columns; col++) {
    const from = Math.floor((col * n) / columns);
    const to = Math.floor(((col + 1) * n) / columns);
    let resident = 0;
    for (let i = from; i < to; i++) if (map[i] !== '.') resident++;
    out += resident === 0 ? ' ' : resident === to - from ? 'O' : 'o';
  }
  return out;
}

/** A file as shown: its record, the name to print and its mount's page size. */
export interface ShownResidency {
  readonly record: ResidencyRecord;
  readonly name: string;
  readonly pageSize: number;
}

/** -v: per file its name and its map line (with dirty and wired pages named when there are any). */
export function renderMaps(files: readonly ShownResidency[]): string[] {
  const lines: string[] = [];
  for (const { record: r, name } of files) {
    const extra = [r.dirty_pages > 0 ? `${r.dirty_pages} dirty` : '', r.wired_pages > 0 ? `${r.wired_pages} locked` : ''].filter((s) => s !== '');
    lines.push(name, `[${pageMap(r.map ?? '.'.repeat(r.pages))}] ${r.resident_pages}/${r.pages}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`);
  }
  return lines;
}

export interface VmtouchTotals {
  files: number;
  pages: number;
  resident_pages: number;
  bytes: number;
  resident_bytes: number;
  touched_pages?: number;
  touched_bytes?: number;
  evicted_pages?: number;
  evicted_bytes?: number;
  locked_pages?: number;
  locked_bytes?: number;
  /** Files -e left alone: pages of theirs are locked (by a vmtouch -l). */
  locked_files?: number;
}

/** The totals of the files (sizes in bytes by each file's page size). */
export function totals(files: readonly ShownResidency[]): VmtouchTotals {
  let pages = 0;
  let resident = 0;
  let bytes = 0;
  let residentBytes = 0;
  for (const { record: r, pageSize } of files) {
    pages += r.pages;
    resident += r.resident_pages;
    bytes += r.pages * pageSize;
    residentBytes += r.resident_pages * pageSize;
  }
  return { files: files.length, pages, resident_pages: resident, bytes, resident_bytes: residentBytes };
}

const label = (name: string): string => `${name}:`.padStart(17);

/** vmtouch's summary lines. */
export function renderSummary(t: VmtouchTotals, elapsedSeconds: number): string[] {
  const lines = [`${label('Files')} ${t.files}`];
  if (t.touched_pages !== undefined) lines.push(`${label('Touched Pages')} ${t.touched_pages} (${humanSize(t.touched_bytes ?? 0)})`);
  else if (t.evicted_pages !== undefined) lines.push(`${label('Evicted Pages')} ${t.evicted_pages} (${humanSize(t.evicted_bytes ?? 0)})`);
  else {
    const share = t.pages === 0 ? 0 : Math.round((t.resident_pages / t.pages) * 1000) / 10;
    lines.push(`${label('Resident Pages')} ${t.resident_pages}/${t.pages}  ${humanSize(t.resident_bytes)}/${humanSize(t.bytes)}  ${share}%`);
  }
  if (t.locked_files !== undefined && t.locked_files > 0) lines.push(`${label('Locked, kept')} ${t.locked_files} file${t.locked_files === 1 ? '' : 's'} (vmtouch -l holds pages of them)`);
  lines.push(`${label('Elapsed')} ${elapsedSeconds.toFixed(6)} seconds`);
  return lines;
}
