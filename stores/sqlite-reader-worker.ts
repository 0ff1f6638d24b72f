/**
 * The body of the SQLite reader worker (sqlite-reader.ts starts it): its
 * own read-only connection to the database, answering block reads one at a
 * time into the shared buffer each request brings, while the daemon's
 * thread goes on answering FUSE.
 *
 * The worker runs this function from its source text (an eval worker: the
 * same text under vitest's TypeScript and in dist/), so it stands alone:
 * it requires what it needs by the paths in workerData, and gets the row
 * reader (sqlite-block-rows.ts) as its argument.
 */
import type { BlockDamage, BlockRowQuery, readBlockRows } from './sqlite-block-rows.js';

/** What the worker uses of better-sqlite3 (loaded by path: only sqlite-connection.ts names the package). */
interface ReaderDatabase {
  prepare(sql: string): { raw(): BlockRowQuery };
  close(): void;
}
type ReaderDatabaseClass = new (path: string, options: { readonly: boolean; fileMustExist: boolean; timeout: number }) => ReaderDatabase;

/** What the worker is started with. */
export interface ReaderWorkerData {
  /** The database file. */
  path: string;
  /** better-sqlite3's resolved module path. */
  sqlite: string;
  /** The SELECT of [block, crc, data] rows of a space's range (crc NULL on a format-1 database). */
  select: string;
  busyTimeoutMs: number;
  /** CRC the fsck marks a damaged block with. */
  damagedCrc: number;
  /** Int32Array over it: [0] becomes 1 once the worker closed its database (the closer waits for it). */
  closed: SharedArrayBuffer;
}

/**
 * A read: fill the first `bytes` of `buffer` with blocks of `space` from
 * `first`. The buffer is transferred both ways, not shared: V8 copies into
 * and out of a SharedArrayBuffer byte by byte (relaxed atomics), which cost
 * more than the SQLite read itself (~1.5 µs a page, measured).
 */
export interface ReaderRequest {
  op: 'read';
  id: number;
  space: number;
  first: number;
  blockSize: number;
  bytes: number;
  buffer: ArrayBuffer;
}

/** Close the database and stop. */
export interface ReaderClose {
  op: 'close';
}

/** The answer to request `id`, with its buffer back: done, damaged, or a failure with SQLite's code. */
export interface ReaderReply {
  id: number;
  buffer: ArrayBuffer;
  damage?: BlockDamage;
  error?: { code: string | undefined; message: string };
}

/** Run in the worker: `rows` is readBlockRows, brought in as source text. */
export function readerWorkerMain(rows: typeof readBlockRows): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- an eval worker has only require */
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const { parentPort } = threads;
  const data = threads.workerData as ReaderWorkerData;
  const Database = require(data.sqlite) as ReaderDatabaseClass;
  const { crc32 } = require('node:zlib') as { crc32: (data: Uint8Array) => number };
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (!parentPort) return;
  const port = parentPort;
  const closed = new Int32Array(data.closed);
  let db: ReaderDatabase | undefined;
  let select: BlockRowQuery | undefined;
  const close = (): void => {
    try {
      db?.close();
    } finally {
      db = undefined;
      Atomics.store(closed, 0, 1);
      Atomics.notify(closed, 0);
      port.close();
    }
  };
  port.on('message', (msg: ReaderRequest | ReaderClose) => {
    if (msg.op === 'close') {
      close();
      return;
    }
    const reply: ReaderReply = { id: msg.id, buffer: msg.buffer };
    try {
      // Opened at the first read: a failure here is that read's (and the next one's) EIO.
      db ??= new Database(data.path, { readonly: true, fileMustExist: true, timeout: data.busyTimeoutMs });
      select ??= db.prepare(data.select).raw();
      reply.damage = rows(select, crc32, data.damagedCrc, msg.space, msg.first, msg.blockSize, new Uint8Array(msg.buffer, 0, msg.bytes));
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      reply.error = { code: typeof code === 'string' ? code : undefined, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, [reply.buffer]);
  });
}
