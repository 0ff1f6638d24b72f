/**
 * Benchmark rows and the small aligned table they are printed in. Every
 * bench file returns rows of this shape, so run.ts can collect them (and a
 * later --json could print them as they are).
 */

export interface BenchRow {
  /** What is measured, e.g. "faults: random 4 KiB reads". */
  readonly name: string;
  readonly value: number;
  /** Units of `value`, e.g. "pages/s", "MiB/s", "MiB". */
  readonly unit: string;
  /** Conditions and secondary figures, in a few words. */
  readonly detail?: string;
}

export type Print = (line: string) => void;

/** A number for a table: thousands separated, fewer decimals the bigger it is. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const decimals = abs >= 100 || Number.isInteger(value) ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Print `rows` under `title`: name left-aligned, value right-aligned, unit, detail. */
export function printTable(title: string, rows: readonly BenchRow[], print: Print): void {
  type Cells = readonly [string, string, string, string];
  const header: Cells = ['benchmark', 'value', 'unit', 'detail'];
  const cells: Cells[] = rows.map((r) => [r.name, formatValue(r.value), r.unit, r.detail ?? '']);
  const width = (i: 0 | 1 | 2): number => Math.max(header[i].length, ...cells.map((c) => c[i].length));
  const widths = [width(0), width(1), width(2)] as const;
  const line = (c: Cells): string =>
    [c[0].padEnd(widths[0]), c[1].padStart(widths[1]), c[2].padEnd(widths[2]), c[3]].join('  ').trimEnd();
  print('');
  print(title);
  print(line(header));
  print(line(['-'.repeat(widths[0]), '-'.repeat(widths[1]), '-'.repeat(widths[2]), '-'.repeat(6)]));
  for (const c of cells) print(line(c));
}

export const MiB = 1024 * 1024;
export const KiB = 1024;
