/**
 * The options of `sim` that say how the trace is written (--format,
 * --csv-columns, --csv-header, --csv-delimiter), checked before the trace
 * is read.
 */
import { usageError } from '../cli-error.js';
import { parseCsvColumns } from './trace-formats.js';
import { TEXT_FORMAT, type TraceFormat } from './trace-file.js';

export const FORMATS = ['text', 'oracleGeneral', 'csv'] as const;

export interface FormatOptions {
  format?: string;
  csvColumns?: string;
  csvHeader?: boolean;
  csvDelimiter?: string;
}

/** The format the options name (text when none); csv options without --format csv are a mistake worth saying. */
export function traceFormat(opts: FormatOptions): TraceFormat {
  const name = opts.format ?? 'text';
  const kind = FORMATS.find((f) => f.toLowerCase() === name.toLowerCase());
  if (kind === undefined) throw usageError(`--format ${name}`, `unknown trace format (known: ${FORMATS.join(', ')})`);
  const csvGiven = opts.csvColumns !== undefined || opts.csvHeader === true || opts.csvDelimiter !== undefined;
  if (kind !== 'csv') {
    if (csvGiven) throw usageError('--csv-columns/--csv-header/--csv-delimiter', 'go with --format csv');
    return kind === 'text' ? TEXT_FORMAT : { kind };
  }
  if (opts.csvColumns === undefined) throw usageError('--format csv', 'needs --csv-columns (e.g. time=1,id=2,size=3: which column holds what, from 1)');
  const columns = parseCsvColumns(opts.csvColumns);
  if (typeof columns === 'string') throw usageError(`--csv-columns ${opts.csvColumns}`, columns);
  let delimiter = opts.csvDelimiter ?? ',';
  if (delimiter === '\\t' || delimiter.toLowerCase() === 'tab') delimiter = '\t';
  if (delimiter.length !== 1 || delimiter === '\n' || delimiter === '"') throw usageError(`--csv-delimiter ${opts.csvDelimiter ?? ''}`, 'one character (, ; | or tab)');
  return { kind: 'csv', csv: { columns, delimiter, header: opts.csvHeader === true } };
}
