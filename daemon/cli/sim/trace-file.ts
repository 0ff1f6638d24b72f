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
class LineFeeder {
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

  constructor(private readonly builder: TraceBuilder) {}

  private flush(): void {
    const { batch, builder } = this;
    for (let j = 0; j < this.batched; j++) builder.add(batch[j]);
    this.batched = 0;
  }

  private slow(line: string): void {
    this.flush(); // keep the order of the requests
    const id = parseTraceLine(line, this.lineNumber);
    if (id !== undefined) this.builder.add(id);
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

/** The trace in `input` (chunks of UTF-8 text). Throws TraceFormatError for a bad line. */
export async function readTrace(input: AsyncIterable<Buffer | string>): Promise<Trace> {
  const builder = new TraceBuilder();
  const feeder = new LineFeeder(builder);
  for await (const piece of input) feeder.feed(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece);
  feeder.end();
  return builder.build();
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

/** The trace named `name` (a path, or `-` for stdin), as a CliError on failure. */
export async function loadTrace(name: string, source: TraceSource): Promise<Trace> {
  const what = name === '-' ? 'trace on stdin' : `trace ${name}`;
  let trace: Trace;
  try {
    trace = await readTrace(name === '-' ? source.stdin() : createReadStream(path.resolve(source.cwd, name), { highWaterMark: CHUNK_BYTES }));
  } catch (err) {
    if (err instanceof TraceFormatError) throw new CliError(what, err.message, EXIT.DATAERR, { cause: err });
    // V8's Map holds at most 2^24 entries (the dense-id map of a trace with more distinct pages overflows), and a
    // typed array as much as memory allows.
    if (err instanceof RangeError) throw new CliError(what, `too large to replay: ${errorMessage(err)} (at most 2^24 distinct pages)`, EXIT.DATAERR, { cause: err });
    throw new CliError(what, readFailure(err), readExit(err), { cause: err });
  }
  if (trace.ids.length === 0) throw new CliError(what, 'no requests in it (empty, or only blank lines and comments)', EXIT.DATAERR);
  return trace;
}
