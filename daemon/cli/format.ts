/**
 * Small text formatting for the inspection commands: sizes the way fincore
 * and ls -h print them, ratios, aligned tables and vm_stat's labelled lists.
 */

const UNITS = ['K', 'M', 'G', 'T', 'P', 'E'] as const;

/** A size as fincore prints it: 0B, 512B, 4K, 1.5M, 12G (powers of 1024, one decimal when it is not whole). */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  if (bytes < 1024) return `${bytes}B`;
  let v = bytes;
  let unit = -1;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  let r = Math.round(v * 10) / 10;
  if (r >= 1024 && unit < UNITS.length - 1) {
    r = Math.round((r / 1024) * 10) / 10;
    unit++;
  }
  return `${Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)}${UNITS[unit] ?? ''}`;
}

/** part/whole as a percentage with one decimal ("97.5%"), or "-" when whole is 0. */
export function percent(part: number, whole: number): string {
  if (!(whole > 0)) return '-';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** Seconds as 45s, 12m03s, 3h02m, 2d04h. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Spaces between columns (default 1). */
  readonly gap?: number;
  /** A line of dashes under the header, as wide as each column. */
  readonly rule?: boolean;
}

/** Rows of cells as aligned lines: the columns `gap` spaces apart, the last left-aligned one not padded, no trailing blanks. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[], options: TableOptions = {}): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const gap = ' '.repeat(options.gap ?? 1);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const last = i === cells.length - 1;
        if (align[i] === 'left') return last ? c : c.padEnd(w);
        return c.padStart(w);
      })
      .join(gap)
      .trimEnd();
  const head = options.rule === true ? [line(header), line(widths.map((w) => '-'.repeat(w)))] : [line(header)];
  return [...head, ...rows.map(line)];
}

/**
 * vm_stat's labelled list: "Label:", the value right-aligned, a period.
 * A text value (not a number, not a percentage) starts where the value
 * column starts instead. `labelWidth` and `valueWidth` are minimums.
 */
export function labelled(items: readonly (readonly [string, string | number])[], options: { indent?: string; labelWidth?: number; valueWidth?: number } = {}): string[] {
  const indent = options.indent ?? '';
  const numeric = (v: string | number): boolean => typeof v === 'number' || /^-?[\d.]+%?$|^-$/.test(v);
  const lw = Math.max(options.labelWidth ?? 0, ...items.map(([l]) => l.length + 1));
  const vw = Math.max(options.valueWidth ?? 0, ...items.filter(([, v]) => numeric(v)).map(([, v]) => String(v).length));
  return items.map(([label, value]) => `${indent}${`${label}:`.padEnd(lw)} ${numeric(value) ? String(value).padStart(vw) : String(value)}.`);
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** Ratios 0..1 as a sparkline; null (nothing to measure) is a blank. */
export function sparkline(values: readonly (number | null)[]): string {
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const i = Math.min(SPARKS.length - 1, Math.max(0, Math.floor(v * SPARKS.length)));
      return SPARKS[i];
    })
    .join('');
}

/** Cut a line to `width` characters (code points); unchanged when it fits or width is undefined. */
export function fit(line: string, width: number | undefined): string {
  if (width === undefined) return line;
  const chars = [...line];
  return chars.length <= width ? line : chars.slice(0, width).join('');
}
