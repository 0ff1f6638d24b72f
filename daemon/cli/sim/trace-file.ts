/**
 * Loading a page trace for `machpager sim`: from a file or stdin, read in
 * chunks (never the whole file as one string, so a trace of hundreds of
 * millions of lines costs its Int32Array of ids, not its text) into the
 * kernel's TraceBuilder. A line of digits alone is parsed from the bytes;
 * every other line goes to the kernel's parseTraceLine, so that the format
 * and its errors are exactly those of kernel/policy/trace.ts.
 *
 * Failures are CliErrors naming the trace: a missing or unreadable file
 * (66, 77), an I/O error (74), a line that is not a page id (65, with its
 * line number), a trace with more distinct pages than a Map can index (65),
 * a trace with no requests (65).
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { TraceBuilder, TraceFormatError, parseTraceLine, type Trace } from '../../../kernel/index.js';
import { CliError, errorCode, errorMessage, exitCodeFor } from '../cli-error.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { DecompressError, decompressed } from './trace-decompress.js';
import { CsvFeeder, OracleGeneralFeeder, type CsvOptions, type Feeder, type RequestSink } from './trace-formats.js';

/** How a trace is written: machpager's text (page ids, one a line), libCacheSim's oracleGeneral, or csv. */
export type TraceFormat = { readonly kind: 'text' } | { readonly kind: 'oracleGeneral' } | { readonly kind: 'csv'; readonly csv: CsvOptions };

export const TEXT_FORMAT: TraceFormat = { kind: 'text' };

/** A line longer than this is no page id: the input is not a trace (and we do not buffer it without end). */
export const MAX_LINE_BYTES = 4096;

/** Chunks of a file: big enough that the per-chunk overhead vanishes, small enough to stay cheap. */
const CHUNK_BYTES = 1 << 20;

/** Digits a line may have for the fast path: any 15-digit number is below 2^53. */
const FAST_DIGITS = 15;

const NL = 0x0a;
const CR = 0x0d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Splits chunks into lines and feeds the builder. Lines are split on the
 * bytes ('\n' never occurs inside a UTF-8 sequence); a line of digits alone
 * (the common case, with or without '\r') is parsed from the bytes, without
 * a string, and anything else goes through parseTraceLine, which decides
 * what is valid.
 */
class LineFeeder implements Feeder {
  private lineNumber = 0;
  /** The start of a line that continues in the next chunk. */
  private carry: Buffer | undefined;
  /**
   * Ids parsed on the fast path, added to the builder in a loop of their
   * own: measured, that makes loading a big trace about a third faster
   * than adding each one from inside the byte loop.
   */
  private readonly batch = new Float64Array(1 << 16);
  private batched = 0;

  constructor(private readonly builder: RequestSink) {}

  private flush(): void {
    const { batch, builder } = this;
    for (let j = 0; j < this.batched; j++) builder.add(batch[j], 1);
    this.batched = 0;
  }

  private slow(line: string): void {
    this.flush(); // keep the order of the requests
    const id = parseTraceLine(line, this.lineNumber);
    if (id !== undefined) this.builder.add(id, 1);
  }

  feed(chunk: Buffer): void {
    const batch = this.batch;
    let batched = this.batched;
    let start = 0;
    let value = 0;
    let digits = 0;
    let plain = this.carry === undefined; // digits only so far (and no carried part)
    let cr = false;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      if (b >= ZERO && b <= NINE) {
        value = value * 10 + (b - ZERO);
        digits++;
        if (cr) plain = false;
      } else if (b === NL) {
        this.lineNumber++;
        if (plain && digits > 0 && digits <= FAST_DIGITS) {
          batch[batched++] = value;
          if (batched === batch.length) {
            this.batched = batched;
            this.flush();
            batched = 0;
          }
        } else {
          this.batched = batched;
          const line = chunk.subarray(start, i);
          this.slow((this.carry ? Buffer.concat([this.carry, line]) : line).toString('utf8'));
          batched = 0;
          this.carry = undefined;
        }
        start = i + 1;
        value = 0;
        digits = 0;
        plain = true;
        cr = false;
      } else if (b === CR && !cr) {
        cr = true;
      } else {
        plain = false;
      }
    }
    this.batched = batched;
    this.flush();
    if (start < n) {
      const rest = chunk.subarray(start);
      this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest); // a copy: the stream may reuse its buffer
      if (this.carry.length > MAX_LINE_BYTES) throw new TraceFormatError(this.lineNumber + 1, `longer than ${MAX_LINE_BYTES} bytes: not a page trace`);
    }
  }

  /** The last line, if it has no newline. */
  end(): void {
    if (this.carry === undefined) return;
    this.lineNumber++;
    this.slow(this.carry.toString('utf8'));
    this.carry = undefined;
  }
}

/** The feeder of `format` into `sink`. */
function feederFor(format: TraceFormat, sink: RequestSink): Feeder {
  switch (format.kind) {
    case 'oracleGeneral':
      return new OracleGeneralFeeder(sink);
    case 'csv':
      return new CsvFeeder(sink, format.csv);
    default:
      return new LineFeeder(sink);
  }
}

/**
 * Every request of `input` (chunks of a trace in `format`, gzip or zstd
 * compressed or not) into `sink`, streamed. `onBytes` hears how many input
 * bytes were read so far. Throws TraceFormatError for a bad line or record.
 */
export async function readRequests(input: AsyncIterable<Buffer | string>, format: TraceFormat, sink: RequestSink, onBytes?: (bytes: number) => void): Promise<void> {
  const feeder = feederFor(format, sink);
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer | string> {
    for await (const piece of input) {
      bytes += piece.length;
      onBytes?.(bytes);
      yield piece;
    }
  }
  for await (const chunk of decompressed(onBytes ? counted() : input)) feeder.feed(chunk);
  feeder.end();
}

/** A trace with each request's size in bytes (--by-bytes). */
export interface SizedTrace extends Trace {
  readonly sizes?: Uint32Array;
}

/** A sink that builds the whole trace (dense ids), and the sizes when asked. */
export class TraceCollector implements RequestSink {
  private readonly builder = new TraceBuilder();
  private sizes: Uint32Array | undefined;

  constructor(withSizes: boolean) {
    if (withSizes) this.sizes = new Uint32Array(1024);
  }

  add(id: number, size: number): void {
    const sizes = this.sizes;
    if (sizes) {
      const at = this.builder.requests;
      if (at === sizes.length) {
        const grown = new Uint32Array(sizes.length * 2);
        grown.set(sizes);
        this.sizes = grown;
      }
      (this.sizes as Uint32Array)[at] = Math.min(size, 0xffffffff);
    }
    this.builder.add(id);
  }

  build(): SizedTrace {
    const trace = this.builder.build();
    return this.sizes ? { ...trace, sizes: this.sizes.slice(0, trace.ids.length) } : trace;
  }
}

/** The trace in `input` (chunks of UTF-8 text, or of `format`). Throws TraceFormatError for a bad line. */
export async function readTrace(input: AsyncIterable<Buffer | string>, format: TraceFormat = TEXT_FORMAT, withSizes = false): Promise<SizedTrace> {
  const collector = new TraceCollector(withSizes);
  await readRequests(input, format, collector);
  return collector.build();
}

/** Why a file cannot be read, in a few words (Node's message repeats the path and the syscall). */
function readFailure(err: unknown): string {
  switch (errorCode(err)) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'no such file (a component of the path is not a directory)';
    case 'EISDIR':
      return 'is a directory, not a trace file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return errorMessage(err);
  }
}

/** The exit code for a trace that cannot be read: missing is 66, forbidden 77, an I/O error 74. */
function readExit(err: unknown): ExitCode {
  const code = errorCode(err);
  if (code === 'EISDIR') return EXIT.NOINPUT;
  return exitCodeFor(code, EXIT.IOERR);
}

export interface TraceSource {
  /** Where relative paths start. */
  readonly cwd: string;
  /** What `-` reads. */
  readonly stdin: () => AsyncIterable<Buffer | string>;
}

/** What to read a trace from: a path, or `-` for stdin. */
export function traceInput(name: string, source: TraceSource): AsyncIterable<Buffer | string> {
  return name === '-' ? source.stdin() : createReadStream(path.resolve(source.cwd, name), { highWaterMark: CHUNK_BYTES });
}

/** A failure while reading the trace `name`, as the CLI says it. */
export function traceError(name: string, err: unknown): CliError {
  const what = name === '-' ? 'trace on stdin' : `trace ${name}`;
  if (err instanceof CliError) return err;
  if (err instanceof TraceFormatError) return new CliError(what, err.message, EXIT.DATAERR, { cause: err });
  // V8's Map holds at most 2^24 entries (the dense-id map of a trace with more distinct pages overflows), and a
  // typed array as much as memory allows.
  if (err instanceof RangeError) return new CliError(what, `too large to replay: ${errorMessage(err)} (at most 2^24 distinct pages; --sample replays a sample)`, EXIT.DATAERR, { cause: err });
  if (err instanceof DecompressError) return new CliError(what, err.message, EXIT.DATAERR, { cause: err });
  return new CliError(what, readFailure(err), readExit(err), { cause: err });
}

/** The trace named `name` (a path, or `-` for stdin), as a CliError on failure. */
export async function loadTrace(name: string, source: TraceSource, format: TraceFormat = TEXT_FORMAT, withSizes = false): Promise<SizedTrace> {
  const what = name === '-' ? 'trace on stdin' : `trace ${name}`;
  let trace: SizedTrace;
  try {
    trace = await readTrace(traceInput(name, source), format, withSizes);
  } catch (err) {
    throw traceError(name, err);
  }
  if (trace.ids.length === 0) throw new CliError(what, 'no requests in it (empty, or only blank lines and comments)', EXIT.DATAERR);
  return trace;
}
