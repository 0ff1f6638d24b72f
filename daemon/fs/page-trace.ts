/**
 * Recording the mount's page-access trace (`machpager trace start|stop`):
 * every page a read or a write touches, in order, one page id per line, in
 * the format `machpager sim` replays. A read of 10 pages is 10 requests, as
 * it is 10 page lookups for the kernel.
 *
 * Page ids are stable across the run: file number × 2^32 + page index, file
 * numbers given out in order of first access. The first access to a file
 * writes a header line naming it, `# file N: inode I path "/a/b"` (the
 * path as a JSON string: any name stays one line), so that a trace read
 * months later still says what was read. Traces before that ended with
 * `# file N: inode I` lines instead; fileHeader() reads both, and replay
 * skips every # line of either. Lines are batched and written through an
 * asynchronous stream; if the disk cannot keep up, requests are dropped and
 * counted, never waited for (the FUSE loop must not stall on the trace).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** Bytes of lines gathered before a write. */
const BATCH_BYTES = 64 * 1024;
/** Bytes the stream may hold unwritten before requests are dropped. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** 2^21 files × 2^32 pages stay below 2^53. */
const MAX_FILES = 1 << 21;
const PAGE_RANGE = 4294967296;

export interface PageTraceStatus {
  recording: boolean;
  path?: string;
  /** Page requests written so far. */
  requests: number;
  /** Page requests lost because the trace file could not keep up. */
  dropped: number;
  /** Distinct files in the trace. */
  files: number;
  /** When recording started, ms since the epoch. */
  started?: number;
}

/** What a trace's header line says of one of its files. */
export interface TraceFileHeader {
  file: number;
  ino: number;
  /** The file's path in the mount when recorded; absent in old traces and for a file with no name left. */
  path?: string;
}

/** The header line for file `file` (inode `ino`, at `path` if it has a name). */
export function fileHeaderLine(file: number, ino: number, path: string | undefined): string {
  return path === undefined ? `# file ${file}: inode ${ino} (no name)\n` : `# file ${file}: inode ${ino} path ${JSON.stringify(path)}\n`;
}

const HEADER = /^# file (\d+): inode (\d+)(?: path ("(?:[^"\\]|\\.)*")| \(no name\))?\s*$/;

/** A file header line of a trace, new (with the path) or old (inode only); undefined for any other line. */
export function fileHeader(line: string): TraceFileHeader | undefined {
  const m = HEADER.exec(line);
  if (!m) return undefined;
  const header: TraceFileHeader = { file: Number(m[1]), ino: Number(m[2]) };
  if (m[3] !== undefined) {
    try {
      header.path = JSON.parse(m[3]) as string;
    } catch {
      return undefined;
    }
  }
  return header;
}

export class PageTraceRecorder {
  private readonly fileNumbers = new Map<number, number>();
  private batch = '';
  private requests = 0;
  private dropped = 0;
  private failure: Error | undefined;
  readonly started = Date.now();

  private constructor(
    readonly path: string,
    private readonly pageSize: number,
    private readonly stream: WriteStream,
    private readonly nameOf: (ino: number) => string | undefined,
  ) {
    stream.on('error', (err) => (this.failure ??= err));
  }

  /** Create `path` (it must not exist) and start recording into it; `nameOf` gives a file's path in the mount (for its header line). */
  static async start(path: string, pageSize: number, nameOf: (ino: number) => string | undefined = () => undefined): Promise<PageTraceRecorder> {
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o644 });
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([err]) => {
        throw err as Error;
      }),
    ]);
    const recorder = new PageTraceRecorder(path, pageSize, stream, nameOf);
    stream.write(`# machpager page trace: page size ${pageSize}; id = file number * 2^32 + page index; started ${new Date(recorder.started).toISOString()}\n`);
    return recorder;
  }

  /** A read or write of [offset, offset + length) of inode `ino`. */
  record(ino: number, offset: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(offset / this.pageSize);
    const last = Math.floor((offset + length - 1) / this.pageSize);
    const count = last - first + 1;
    if (this.failure || this.stream.writableLength > MAX_PENDING_BYTES) {
      this.dropped += count;
      return;
    }
    let file = this.fileNumbers.get(ino);
    if (file === undefined) {
      if (this.fileNumbers.size >= MAX_FILES) {
        this.dropped += count;
        return;
      }
      file = this.fileNumbers.size + 1;
      this.fileNumbers.set(ino, file);
      // Named where it first appears: a trace cut short (a crash, a full disk) still says what it read.
      this.batch += fileHeaderLine(file, ino, this.nameOf(ino));
    }
    const base = file * PAGE_RANGE;
    for (let page = first; page <= last; page++) this.batch += `${base + (page % PAGE_RANGE)}\n`;
    this.requests += count;
    if (this.batch.length >= BATCH_BYTES) this.flush();
  }

  status(): PageTraceStatus {
    return { recording: true, path: this.path, requests: this.requests, dropped: this.dropped, files: this.fileNumbers.size, started: this.started };
  }

  /** Write what is left and the file map, and close. Rejects if the file could not be written. */
  async stop(): Promise<PageTraceStatus> {
    this.flush();
    this.stream.write(`# ${this.requests} requests, ${this.dropped} dropped, ${this.fileNumbers.size} files\n`);
    const closed = once(this.stream, 'close');
    this.stream.end();
    await closed.catch(() => undefined);
    if (this.failure) throw this.failure;
    return { ...this.status(), recording: false };
  }

  private flush(): void {
    if (this.batch === '') return;
    this.stream.write(this.batch);
    this.batch = '';
  }
}
