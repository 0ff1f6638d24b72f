/**
 * The `files` table, fincore's way: a set of columns (-o picks them, -o
 * +COL adds to the default ones), a header unless -n, sizes human-readable
 * unless -b, and --raw for scripts: one space between cells, no alignment,
 * sizes in bytes. HELD (pages whose write failed, held until the store
 * takes them), SHARED (pages a snapshot shares with its source), RA and RAHITS (pages read ahead, and of those used) and
 * CKSUM (reads that found damaged data) join the default columns only when
 * some file has any.
 */
import type { FileRecord } from '../control/protocol.js';
import { usageError } from './cli-error.js';
import { humanSize, percent, table, type Align } from './format.js';

/** A file as `files` shows it: the daemon's record, its mount, its page size and the name to print. */
export interface ShownFile {
  readonly record: FileRecord;
  readonly mountpoint: string;
  readonly pageSize: number;
  /** The local name: as the user typed it (and below it, for -R), else mountpoint + path. */
  readonly name: string;
}

interface Column {
  readonly name: string;
  readonly help: string;
  readonly align: Align;
  /** The cell of a file; `size` formats bytes. */
  cell(f: ShownFile, size: (bytes: number) => string): string;
  /** The cell of the total line, for the files. */
  total(files: readonly ShownFile[], size: (bytes: number) => string): string;
}

const sum = (files: readonly ShownFile[], get: (f: ShownFile) => number): number => files.reduce((n, f) => n + get(f), 0);

function bytesColumn(name: string, help: string, pages: (r: FileRecord) => number): Column {
  return {
    name,
    help,
    align: 'right',
    cell: (f, size) => size(pages(f.record) * f.pageSize),
    total: (files, size) => size(sum(files, (f) => pages(f.record) * f.pageSize)),
  };
}

function countColumn(name: string, help: string, count: (r: FileRecord) => number): Column {
  return {
    name,
    help,
    align: 'right',
    cell: (f) => String(count(f.record)),
    total: (files) => String(sum(files, (f) => count(f.record))),
  };
}

/** Every column, in the order -o's help lists them. */
export const FILE_COLUMNS: readonly Column[] = [
  bytesColumn('RES', 'bytes resident', (r) => r.resident_pages),
  countColumn('PAGES', 'pages resident', (r) => r.resident_pages),
  bytesColumn('DIRTY', 'bytes dirty (written, not yet returned to the pager)', (r) => r.dirty_pages),
  countColumn('DIRTY_PAGES', 'pages dirty', (r) => r.dirty_pages),
  bytesColumn('HELD', 'bytes whose write-back failed, held until the store takes them', (r) => r.held_pages),
  {
    name: 'SIZE',
    help: "the file's size",
    align: 'right',
    cell: (f, size) => size(f.record.size),
    total: (files, size) => size(sum(files, (f) => f.record.size)),
  },
  countColumn('TOTAL_PAGES', "pages the file's size covers", (r) => r.pages),
  bytesColumn('SHARED', 'bytes a snapshot still shares with the file it was made from (stored once)', (r) => r.shared_pages ?? 0),
  {
    name: 'RES%',
    help: "the share of the file's pages resident",
    align: 'right',
    cell: (f) => percent(f.record.resident_pages, f.record.pages),
    total: (files) => percent(sum(files, (f) => f.record.resident_pages), sum(files, (f) => f.record.pages)),
  },
  countColumn('FAULTS', 'page faults on the file', (r) => r.faults),
  countColumn('HITS', 'demand hits on the file (pages found resident when read; read-ahead hits apart)', (r) => r.hits),
  countColumn('RA', 'pages read ahead into the cache', (r) => r.readahead_pages),
  countColumn('RAHITS', 'pages read ahead and then used', (r) => r.readahead_hits),
  countColumn('PAGEINS', 'pages read in from the store', (r) => r.pageins),
  countColumn('PAGEOUTS', 'pages written back to the store', (r) => r.pageouts),
  countColumn('EVICTIONS', 'pages evicted', (r) => r.evictions),
  countColumn('CKSUM', 'reads that found the stored data damaged (they failed with EIO)', (r) => r.checksum_errors),
  countColumn('INODE', 'inode number', (r) => r.ino),
  { name: 'FILE', help: 'the file', align: 'left', cell: (f) => f.name, total: () => 'total' },
];

/** The default columns for these files. */
export function defaultColumns(files: readonly ShownFile[]): string[] {
  const held = files.some((f) => f.record.held_pages > 0);
  const damaged = files.some((f) => f.record.checksum_errors > 0);
  const readAhead = files.some((f) => f.record.readahead_pages > 0);
  const shared = files.some((f) => (f.record.shared_pages ?? 0) > 0);
  return ['RES', 'PAGES', 'DIRTY', ...(held ? ['HELD'] : []), 'SIZE', ...(shared ? ['SHARED'] : []), 'RES%', 'FAULTS', 'HITS', ...(readAhead ? ['RA', 'RAHITS'] : []), ...(damaged ? ['CKSUM'] : []), 'FILE'];
}

/** The column names -o takes, for help and errors. */
export function columnNames(): string[] {
  return FILE_COLUMNS.map((c) => c.name);
}

/**
 * -o's list: names separated by commas, any case; a list starting with +
 * adds to the default columns (as fincore's -o +COL). A usage error names
 * an unknown column and lists the known ones.
 */
export function parseColumns(text: string): { add: boolean; names: string[] } {
  const add = text.startsWith('+');
  const names = (add ? text.slice(1) : text).split(',').map((n) => n.trim().toUpperCase());
  if (names.length === 0 || names.some((n) => n === '')) throw usageError(`-o ${text}`, `a comma-separated list of columns (${columnNames().join(', ')})`);
  for (const n of names) {
    if (!FILE_COLUMNS.some((c) => c.name === n)) throw usageError(`-o ${text}`, `no column ${n} (known: ${columnNames().join(', ')})`);
  }
  return { add, names };
}

export interface FilesTableOptions {
  /** Sizes in bytes (-b; --raw implies it). */
  readonly bytes?: boolean;
  /** A total line. */
  readonly total?: boolean;
  /** No header line (-n). */
  readonly noHeadings?: boolean;
  /** One space between cells, no alignment, sizes in bytes (--raw). */
  readonly raw?: boolean;
  /** -o, parsed. */
  readonly columns?: { add: boolean; names: string[] };
}

/** The table's lines (without newlines). */
export function renderFiles(files: readonly ShownFile[], options: FilesTableOptions = {}): string[] {
  const chosen = options.columns;
  let names = defaultColumns(files);
  if (chosen) names = chosen.add ? [...names.filter((n) => n !== 'FILE'), ...chosen.names.filter((n) => !names.includes(n)), ...(names.includes('FILE') ? ['FILE'] : [])] : chosen.names;
  const columns = names.map((n) => FILE_COLUMNS.find((c) => c.name === n) as Column);
  const size = (n: number): string => (options.bytes === true || options.raw === true ? String(n) : humanSize(n));
  const rows = files.map((f) => columns.map((c) => c.cell(f, size)));
  if (options.total === true) rows.push(columns.map((c) => c.total(files, size)));
  const heads = columns.map((c) => c.name);
  if (options.raw === true) return [...(options.noHeadings === true ? [] : [heads]), ...rows].map((cells) => cells.join(' '));
  // Without the header, the columns are as wide as their cells alone.
  if (options.noHeadings === true) return table(heads.map(() => ''), rows, columns.map((c) => c.align)).slice(1);
  return table(heads, rows, columns.map((c) => c.align));
}
