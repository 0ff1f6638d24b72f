/**
 * The SQLite reader worker (stores/sqlite-reader.ts): large reads leave the
 * event loop for a worker with its own read-only connection, and come back
 * the same as a read on the connection's thread: data, holes, writes just
 * made, and every failure as EIO (damaged pages, a worker that cannot read,
 * a worker that died).
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAMAGED_CRC, DataError, READER_MIN_BYTES, SqliteReader, SqliteStore, StoreError } from '../../stores/index.js';
import { pattern } from './conformance.js';
import { tempDir } from './tmp.js';

const dir = tempDir('sqlite-reader');
let serial = 0;
const dbPath = () => join(dir, `db-${++serial}.db`);
const PAGE = 4096;
const PAGES = 64;

const opened: SqliteStore[] = [];
beforeEach(() => {
  process.env.MACHPAGER_SQLITE_READER = '1';
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  delete process.env.MACHPAGER_SQLITE_READER;
});

/** A store of PAGES pages, every even page written with its own pattern (odd pages are holes). */
async function filledStore(path = dbPath()): Promise<SqliteStore> {
  const store = await SqliteStore.open({ path, space: 3, create: true, size: PAGES * PAGE });
  opened.push(store);
  for (let p = 0; p < PAGES; p += 2) await store.write(p * PAGE, pattern(PAGE, p + 1));
  return store;
}

function expected(): Buffer {
  const all = Buffer.alloc(PAGES * PAGE);
  for (let p = 0; p < PAGES; p += 2) pattern(PAGE, p + 1).copy(all, p * PAGE);
  return all;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('sqlite reader worker', () => {
  it('reads large ranges in the worker: data, holes and the writes just made', async () => {
    const store = await filledStore();
    const into = Buffer.alloc(PAGES * PAGE);
    expect(await store.read(0, into)).toBe(into.length);
    expect(into.equals(expected())).toBe(true);
    expect(store.connection.readerStats()).toEqual({ reads: 1, failures: 0, restarts: 0 });
    // A write queued just before the read: the read commits it first, so the worker sees it.
    const write = store.write(PAGE, pattern(PAGE, 99));
    const again = Buffer.alloc(PAGES * PAGE);
    await store.read(0, again);
    await write;
    expect(again.subarray(PAGE, 2 * PAGE).equals(pattern(PAGE, 99))).toBe(true);
    expect(store.connection.readerStats()?.reads).toBe(2);
  });

  it('keeps small reads on the connection thread (no worker round trip for a 4 KiB fault)', async () => {
    const store = await filledStore();
    const into = Buffer.alloc(READER_MIN_BYTES - PAGE);
    await store.read(0, into);
    expect(into.equals(expected().subarray(0, into.length))).toBe(true);
    expect(store.connection.readerStats()).toBeUndefined();
  });

  it('answers the same without MACHPAGER_SQLITE_READER=1 (every read on the thread, the default)', async () => {
    delete process.env.MACHPAGER_SQLITE_READER;
    const store = await filledStore();
    const into = Buffer.alloc(PAGES * PAGE);
    await store.read(0, into);
    expect(into.equals(expected())).toBe(true);
    expect(store.connection.readerStats()).toBeUndefined();
  });

  it('fails a read over a page whose checksum does not match with EIO, naming that page', async () => {
    const store = await filledStore();
    store.connection.db.prepare('UPDATE store_block SET data = ? WHERE space = 3 AND block = 10').run(pattern(PAGE, 7));
    const err = await rejection(store.read(0, Buffer.alloc(PAGES * PAGE)));
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ code: 'EIO', kind: 'checksum', offset: 10 * PAGE });
    expect(store.connection.readerStats()).toMatchObject({ reads: 1, failures: 1 });
    // The good pages around it still read (the pager reads a damaged run again page by page).
    const good = Buffer.alloc(8 * PAGE);
    await store.read(16 * PAGE, good);
    expect(good.equals(expected().subarray(16 * PAGE, 24 * PAGE))).toBe(true);
  });

  it('fails a read over a page fsck marked damaged with EIO', async () => {
    const store = await filledStore();
    store.connection.db.prepare('UPDATE store_block SET crc = ? WHERE space = 3 AND block = 4').run(DAMAGED_CRC);
    const err = await rejection(store.read(0, Buffer.alloc(PAGES * PAGE)));
    expect(err).toMatchObject({ code: 'EIO', kind: 'marked', offset: 4 * PAGE });
  });

  it('gives EIO when the worker cannot read the database (not a SQLite file)', async () => {
    const path = dbPath();
    const store = await filledStore(path);
    // Everything into the main file (else the worker would read it all from the WAL), then the
    // daemon's connection keeps its open file while the worker, opening the name, finds garbage.
    store.connection.sync();
    store.connection.db.pragma('wal_checkpoint(TRUNCATE)');
    renameSync(path, `${path}.moved`);
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const err = await rejection(store.read(0, Buffer.alloc(PAGES * PAGE)));
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'EIO', errno: 5 });
  });

  it('gives EIO to the reads of a worker that dies, and starts another for the next read', async () => {
    const bad = new SqliteReader({ path: dbPath(), sqliteModule: join(dir, 'no-such-module.js'), hasBlockCrc: true, busyTimeoutMs: 100, damagedCrc: DAMAGED_CRC });
    try {
      const reads = [bad.read(0, 0, PAGE, Buffer.alloc(8 * PAGE)), bad.read(0, 8, PAGE, Buffer.alloc(8 * PAGE))];
      for (const read of reads) expect(await rejection(read)).toMatchObject({ code: 'EIO' });
      expect(bad.counters.failures).toBe(2);
      expect(bad.counters.restarts).toBeGreaterThanOrEqual(1);
    } finally {
      bad.close();
    }

    const store = await filledStore();
    const into = Buffer.alloc(PAGES * PAGE);
    await store.read(0, into);
    const reader = store.connection.readerForTest;
    const first = reader?.threadId;
    await reader?.killWorker();
    expect(reader?.threadId).toBeUndefined();
    into.fill(1);
    await store.read(0, into);
    expect(into.equals(expected())).toBe(true);
    expect(reader?.threadId).not.toBe(first);
    expect(store.connection.readerStats()?.restarts).toBe(1);
  });

  it('closes the worker before the connection, so the last close still checkpoints and removes the WAL', async () => {
    const path = dbPath();
    const store = await filledStore(path);
    await store.read(0, Buffer.alloc(PAGES * PAGE));
    expect(store.connection.readerForTest?.threadId).toBeDefined();
    opened.splice(opened.indexOf(store), 1);
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = await SqliteStore.open({ path, space: 3 });
    opened.push(reopened);
    const into = Buffer.alloc(PAGES * PAGE);
    await reopened.read(0, into);
    expect(into.equals(expected())).toBe(true);
  });
});
