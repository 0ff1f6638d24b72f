/**
 * Damaged stored data through the kernel and a StorePager: the page that
 * fails its checksum faults with EIO and is counted in checksum_errors;
 * its neighbours, read in the same cluster, still read right.
 */
import { randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EIO } from '../../kernel/index.js';
import { StorePager } from '../../daemon/pager/index.js';
import { servePager } from '../../bench/pager-rig.js';
import { acquireSqliteConnection, ChecksumStore, FileStore, SqlitePageChecksums, SqliteStore, type Store } from '../../stores/index.js';
import { tempDir } from '../stores/tmp.js';

const PAGE = 4096;
const PAGES = 16;
const dir = tempDir('checksum-pager');

async function readThroughKernel(store: Store, check: (read: (page: number, count: number) => Promise<{ data: Buffer; error: number }>) => Promise<void>): Promise<{ checksum_errors: number; read_errors: number }> {
  const { pager, window, close } = await servePager(new StorePager(store, { pageSize: PAGE }), PAGES * PAGE, { cacheSize: 64 * PAGE });
  try {
    await check((page, count) => window.read(page * PAGE, count * PAGE));
    return { checksum_errors: pager.stats.checksum_errors, read_errors: pager.stats.read_errors };
  } finally {
    await close();
  }
}

describe('damaged pages through the pager', () => {
  it('SQLite: the damaged page is EIO, counted; the rest of its cluster reads right', async () => {
    const path = join(dir, 'a.db');
    const store = await SqliteStore.open({ path, space: 1, create: true, blockSize: PAGE, size: PAGES * PAGE });
    const data = randomBytes(PAGES * PAGE);
    await store.write(0, data);
    store.connection.db.prepare('UPDATE store_block SET data = ? WHERE space = 1 AND block = 5').run(randomBytes(PAGE));
    const stats = await readThroughKernel(store, async (read) => {
      // Good pages first: a sequential read clusters read-ahead over page 5.
      expect(await read(3, 2)).toEqual({ data: data.subarray(3 * PAGE, 5 * PAGE), error: 0 });
      expect((await read(5, 1)).error).toBe(EIO);
      expect(await read(6, 10)).toEqual({ data: data.subarray(6 * PAGE), error: 0 });
      expect(await read(0, 3)).toEqual({ data: data.subarray(0, 3 * PAGE), error: 0 });
      expect((await read(0, PAGES)).error).toBe(EIO);
    });
    expect(stats.checksum_errors).toBeGreaterThanOrEqual(1);
    expect(stats.read_errors).toBe(stats.checksum_errors);
    await store.close();
  });

  it('SQLite with the reader worker: a damaged page in a cluster the worker read is EIO; the rest reads right', async () => {
    process.env.MACHPAGER_SQLITE_READER = '1';
    try {
      const path = join(dir, 'worker.db');
      const store = await SqliteStore.open({ path, space: 1, create: true, blockSize: PAGE, size: PAGES * PAGE });
      const data = randomBytes(PAGES * PAGE);
      await store.write(0, data);
      store.connection.db.prepare('UPDATE store_block SET data = ? WHERE space = 1 AND block = 12').run(randomBytes(PAGE));
      const stats = await readThroughKernel(store, async (read) => {
        // One 16-page read: the pager's run goes to the worker, fails on page 12, and is read again page by page.
        expect((await read(0, PAGES)).error).toBe(EIO);
        expect(await read(0, 12)).toEqual({ data: data.subarray(0, 12 * PAGE), error: 0 });
        expect((await read(12, 1)).error).toBe(EIO);
        expect(await read(13, 3)).toEqual({ data: data.subarray(13 * PAGE), error: 0 });
      });
      expect(store.connection.readerStats()?.failures).toBeGreaterThanOrEqual(1);
      expect(stats.checksum_errors).toBeGreaterThanOrEqual(1);
      await store.close();
    } finally {
      delete process.env.MACHPAGER_SQLITE_READER;
    }
  });

  it('raw file: pages cut off the data file are EIO, not zeros', async () => {
    const catalog = acquireSqliteConnection(join(dir, 'catalog.db'), { create: true });
    try {
      const file = join(dir, 'data');
      const data = randomBytes(PAGES * PAGE);
      let store: Store = new ChecksumStore(await FileStore.open({ path: file, create: true }), new SqlitePageChecksums(catalog, 2), PAGE);
      await store.setSize(PAGES * PAGE);
      await store.write(0, data);
      await store.close();
      truncateSync(file, 10 * PAGE);
      store = new ChecksumStore(await FileStore.open({ path: file }), new SqlitePageChecksums(catalog, 2), PAGE);
      const stats = await readThroughKernel(store, async (read) => {
        expect(await read(0, 10)).toEqual({ data: data.subarray(0, 10 * PAGE), error: 0 });
        expect((await read(10, 1)).error).toBe(EIO);
        expect((await read(15, 1)).error).toBe(EIO);
      });
      expect(stats.checksum_errors).toBeGreaterThanOrEqual(2);
      await store.close();
    } finally {
      catalog.release();
    }
  });
});
