/**
 * Public trace formats `machpager sim --format` reads besides its own text
 * form: libCacheSim's oracleGeneral binary records and csv with chosen
 * columns. Each is a feeder: chunks of bytes in (any cut, a record or a
 * line may straddle two chunks), requests out to a sink as (id, size), so
 * that a trace is streamed through and never held whole.
 *
 * oracleGeneral: 24-byte little-endian records, u32 timestamp, u64 object
 * id, u32 size in bytes, i64 the request's next access (-1: none). Ids
 * below 2^53 are kept as they are; a larger u64 is folded into 53 bits
 * (its high bits mixed into the top 21), as a Number cannot hold it.
 */
import { TraceFormatError } from '../../../kernel/index.js';

/** Where requests go: the page (object) id, and its size in bytes (1 when the format has none). */
export interface RequestSink {
  add(id: number, size: number): void;
}

export interface Feeder {
  feed(chunk: Buffer): void;
  /** The input ended: a cut record is an error, a last line without a newline is a line. */
  end(): void;
}

export const ORACLE_RECORD_BYTES = 24;
const TWO_32 = 4294967296;

/** A u64 (as two u32 halves) as a safe integer: itself below 2^53, else folded into 53 bits. */
export function foldU64(lo: number, hi: number): number {
  const top = hi < 0x200000 ? hi : (hi ^ Math.imul(hi >>> 21, 0x9e3779b1)) & 0x1fffff;
  return top * TWO_32 + lo;
}

/** libCacheSim's oracleGeneral: fixed 24-byte records. */
export class OracleGeneralFeeder implements Feeder {
  private carry = Buffer.alloc(0);
  private records = 0;

  constructor(private readonly sink: RequestSink) {}

  feed(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry.length > 0) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = Buffer.alloc(0);
    }
    const whole = buf.length - (buf.length % ORACLE_RECORD_BYTES);
    const sink = this.sink;
    for (let at = 0; at < whole; at += ORACLE_RECORD_BYTES) {
      const id = foldU64(buf.readUInt32LE(at + 4), buf.readUInt32LE(at + 8));
      sink.add(id, buf.readUInt32LE(at + 12));
    }
    this.records += whole / ORACLE_RECORD_BYTES;
    if (whole < buf.length) this.carry = Buffer.from(buf.subarray(whole));
  }

  end(): void {
    if (this.carry.length > 0) throw new TraceFormatError(this.records + 1, `record ${this.records + 1} is cut short: ${this.carry.length} of ${ORACLE_RECORD_BYTES} bytes (not an oracleGeneral trace?)`);
  }
}

/** Which fields of a csv line hold what (1-based, as --csv-columns gives them). */
export interface CsvColumns {
  readonly id: number;
  readonly size?: number;
  readonly time?: number;
}

export interface CsvOptions {
  readonly columns: CsvColumns;
  readonly delimiter: string;
  /** The first line names the columns: skipped. */
  readonly header: boolean;
}

/** `time=1,id=2,size=3`: the columns of --csv-columns (id is required; time is read past, as the replay goes by order). */
export function parseCsvColumns(text: string): CsvColumns | string {
  const found: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*(time|id|size)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) return `"${part.trim()}" is not NAME=COLUMN (time, id or size, columns counted from 1)`;
    const column = Number(m[2]);
    if (column < 1) return `column ${m[2]} of ${m[1]}: columns count from 1`;
    if (m[1] in found) return `${m[1]} is given twice`;
    found[m[1]] = column;
  }
  if (found.id === undefined) return 'no id column (id=N)';
  return { id: found.id, ...(found.size !== undefined ? { size: found.size } : {}), ...(found.time !== undefined ? { time: found.time } : {}) };
}

/** 53 bits of FNV-1a over a string id that is no whole number (keys, hashes, paths). */
export function hashId(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (a >>> 13);
  }
  return (b >>> 11) * TWO_32 + (a >>> 0);
}

const MAX_LINE = 1 << 16;

/** csv lines: the id (a whole number, or any other text, hashed) and the size (bytes) from their columns. */
export class CsvFeeder implements Feeder {
  private carry = '';
  private line = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly sink: RequestSink,
    private readonly options: CsvOptions,
  ) {}

  feed(chunk: Buffer): void {
    const text = this.carry + this.decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      this.take(text.slice(start, nl));
      start = nl + 1;
    }
    this.carry = text.slice(start);
    if (this.carry.length > MAX_LINE) throw new TraceFormatError(this.line + 1, `longer than ${MAX_LINE} characters: not a csv trace`);
  }

  end(): void {
    const rest = this.carry + this.decoder.decode();
    this.carry = '';
    if (rest !== '') this.take(rest);
  }

  private take(raw: string): void {
    this.line++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if ((this.line === 1 && this.options.header) || line.trim() === '' || line.startsWith('#')) return;
    const fields = line.split(this.options.delimiter);
    const { id: idColumn, size: sizeColumn } = this.options.columns;
    const idText = fields[idColumn - 1]?.trim();
    if (idText === undefined || idText === '') throw new TraceFormatError(this.line, `no id in column ${idColumn} (the line has ${fields.length} field${fields.length === 1 ? '' : 's'})`);
    const id = /^\d{1,15}$/.test(idText) ? Number(idText) : hashId(idText);
    let size = 1;
    if (sizeColumn !== undefined) {
      const sizeText = fields[sizeColumn - 1]?.trim() ?? '';
      if (!/^\d+$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new TraceFormatError(this.line, `size "${sizeText}" in column ${sizeColumn} is not a whole number of bytes`);
      size = Number(sizeText);
    }
    this.sink.add(id, size);
  }
}
