/**
 * Block reads off the event loop: a worker thread with its own read-only
 * connection to the database (WAL: it reads the last commit while the
 * daemon's connection writes) reads a range of blocks, checks them
 * (sqlite-block-rows.ts, the same code as the synchronous read) into a
 * buffer transferred to it and back, and the daemon's thread only copies
 * them out. A SQLite read
 * costs ~4 µs a page plus the garbage of a Buffer per row; on the one JS
 * thread that also answers FUSE, a read-ahead window of 48 pages held every
 * reply queued behind it (docs/performance.md). In the worker the store
 * reads the next window while the thread answers the reads before it.
 * Opt-in (MACHPAGER_SQLITE_READER=1, readerEnabled below): measured, it did
 * not pay yet (the hand-off per request costs about a third of the read).
 *
 * The worker sees committed data only: its caller commits queued writes
 * first (SqliteConnection.readBlocksAsync). Every failure is a StoreError:
 * damaged data a DataError (EIO), SQLite's errors their errno, and a worker
 * that dies fails the reads it had with EIO (the next read starts a new one).
 */
import { Worker } from 'node:worker_threads';
import { DataError, StoreError } from './store.js';
import { sqliteErrnoCode } from './errno.js';
import { readBlockRows, type BlockDamage } from './sqlite-block-rows.js';
import { readerWorkerMain, type ReaderClose, type ReaderReply, type ReaderRequest, type ReaderWorkerData } from './sqlite-reader-worker.js';

/** Reads this large or larger go to the worker; a smaller one (a random 4 KiB fault) costs less on the thread than the round trip (~25 µs). */
export const READER_MIN_BYTES = 32 * 1024;

/**
 * MACHPAGER_SQLITE_READER=1 sends large reads to the worker. Off by default:
 * measured on the shared 2-core machine it lost to the thread's own read
 * (docs/performance.md): a stream may have only 50 pages requested at once
 * (ABSENT_MAX, Mach's vm_object_absent_max), so the worker never gets far
 * ahead, and every window costs two thread hand-offs that a loaded machine
 * makes slow.
 */
export function readerEnabled(): boolean {
  return process.env.MACHPAGER_SQLITE_READER === '1';
}

/** How long close() waits for the worker to close its database (so the daemon's connection closes last, and checkpoints). */
const CLOSE_WAIT_MS = 2000;
/** Transfer buffers kept for reuse, per size. */
const POOL_PER_SIZE = 4;

export interface SqliteReaderOptions {
  path: string;
  /** better-sqlite3's resolved module path (only sqlite-connection.ts loads the package). */
  sqliteModule: string;
  /** Block rows carry a crc column. */
  hasBlockCrc: boolean;
  busyTimeoutMs: number;
  damagedCrc: number;
}

interface Pending {
  space: number;
  first: number;
  blockSize: number;
  into: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The worker's source: the row reader and the worker body, as text (the same under vitest and in dist/). */
const WORKER_SOURCE = `'use strict';\nconst readBlockRows = ${readBlockRows.toString()};\n(${readerWorkerMain.toString()})(readBlockRows);\n`;

export class SqliteReader {
  private worker: Worker | undefined;
  private closedFlag: Int32Array | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Buffers back from the worker, by size, for the next reads. */
  private readonly pool = new Map<number, ArrayBuffer[]>();
  private closed = false;
  /** Reads answered by the worker, and workers lost (tests, diagnostics). */
  readonly counters = { reads: 0, failures: 0, restarts: 0 };

  constructor(private readonly options: SqliteReaderOptions) {}

  /**
   * Fill `into` from the blocks of `space` from block `first` (holes are
   * zeros). Rejects with a DataError for damaged data, the SQLite error's
   * errno otherwise, EIO when the worker dies.
   */
  read(space: number, first: number, blockSize: number, into: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('EBADF', `reader of ${this.options.path} is closed`));
    const worker = this.worker ?? this.start();
    const bytes = into.length;
    const id = this.nextId++;
    const buffer = this.take(bytes);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { space, first, blockSize, into, resolve, reject });
      if (this.pending.size === 1) worker.ref();
      const request: ReaderRequest = { op: 'read', id, space, first, blockSize, bytes, buffer };
      worker.postMessage(request, [buffer]);
    });
  }

  /** Stop the worker, waiting (briefly) until it has closed its connection. Reads still pending fail with EBADF. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    const flag = this.closedFlag;
    this.worker = undefined;
    this.pool.clear();
    this.failAll(new StoreError('EBADF', `reader of ${this.options.path} closed`));
    if (!worker || !flag) return;
    worker.removeAllListeners();
    worker.on('error', () => undefined); // it is going anyway
    const close: ReaderClose = { op: 'close' };
    worker.postMessage(close);
    // Synchronous on purpose: the caller closes its own connection next, and must be the last (it checkpoints).
    Atomics.wait(flag, 0, 0, CLOSE_WAIT_MS);
    void worker.terminate();
  }

  /** @internal For tests: the worker's thread id (undefined when none runs). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  /** @internal For tests: stop the worker as if it had crashed. */
  async killWorker(): Promise<void> {
    await this.worker?.terminate();
  }

  private start(): Worker {
    const closed = new SharedArrayBuffer(4);
    const crc = this.options.hasBlockCrc ? 'crc' : 'NULL AS crc';
    const workerData: ReaderWorkerData = {
      path: this.options.path,
      sqlite: this.options.sqliteModule,
      select: `SELECT block, ${crc}, data FROM store_block WHERE space = ? AND block >= ? AND block < ? ORDER BY block`,
      busyTimeoutMs: this.options.busyTimeoutMs,
      damagedCrc: this.options.damagedCrc,
      closed,
    };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData, stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (reply: ReaderReply) => this.answer(reply));
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`exited with code ${code}`)));
    this.worker = worker;
    this.closedFlag = new Int32Array(closed);
    return worker;
  }

  private answer(reply: ReaderReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    this.counters.reads++;
    try {
      if (reply.error) throw this.failure(reply.error, p);
      if (reply.damage) throw this.damaged(reply.damage, p);
      Buffer.from(reply.buffer, 0, p.into.length).copy(p.into);
      p.resolve();
    } catch (err) {
      p.reject(err);
    } finally {
      this.give(reply.buffer);
    }
  }

  /** The worker is gone (an error or an exit): its reads fail with EIO, and the next read starts another. */
  private lost(worker: Worker, why: unknown): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.counters.restarts++;
    this.failAll(new StoreError('EIO', `reader of ${this.options.path}: worker ${String(why)}`, { cause: why }));
  }

  private failAll(err: StoreError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      this.counters.failures++;
      p.reject(err);
    }
  }

  private where(p: Pending, block: number): string {
    return `space ${p.space} of ${this.options.path}, block ${block} (offset ${block * p.blockSize})`;
  }

  private damaged(d: BlockDamage, p: Pending): DataError {
    this.counters.failures++;
    return new DataError(d.kind, d.block * p.blockSize, `${this.where(p, d.block)}: ${d.detail}`);
  }

  private failure(e: NonNullable<ReaderReply['error']>, p: Pending): StoreError {
    this.counters.failures++;
    const cause = Object.assign(new Error(e.message), { code: e.code });
    if (e.code !== undefined && (e.code.startsWith('SQLITE_CORRUPT') || e.code.startsWith('SQLITE_NOTADB'))) {
      // The B-tree itself is damaged: which block is unknown, so the whole range is.
      return new DataError('corrupt', p.first * p.blockSize, `${this.where(p, p.first)} and on: ${e.message}`, { cause });
    }
    return new StoreError((e.code !== undefined ? sqliteErrnoCode(e.code) : undefined) ?? 'EIO', `read of ${this.where(p, p.first)}: ${e.message}`, { cause });
  }

  private take(bytes: number): ArrayBuffer {
    const size = 2 ** Math.ceil(Math.log2(Math.max(bytes, 4096)));
    return this.pool.get(size)?.pop() ?? new ArrayBuffer(size);
  }

  private give(buffer: ArrayBuffer): void {
    if (this.closed) return;
    const free = this.pool.get(buffer.byteLength) ?? [];
    if (free.length < POOL_PER_SIZE) free.push(buffer);
    this.pool.set(buffer.byteLength, free);
  }
}
