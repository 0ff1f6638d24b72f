/**
 * Benchmark rows and the small aligned table they are printed in. Every
 * bench file returns rows of this shape, so run.ts can collect them (and a
 * later --json could print them as they are).
 */
import { table } from '../daemon/cli/format.js';

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

/** Print `rows` under `title`: name left-aligned, value right-aligned, unit, detail (the CLI's table, two spaces apart, with a rule). */
export function printTable(title: string, rows: readonly BenchRow[], print: Print): void {
  const cells = rows.map((r) => [r.name, formatValue(r.value), r.unit, r.detail ?? '']);
  print('');
  print(title);
  for (const line of table(['benchmark', 'value', 'unit', 'detail'], cells, ['left', 'right', 'left', 'left'], { gap: 2, rule: true })) print(line);
}

export const MiB = 1024 * 1024;
export const KiB = 1024;
