/**
 * Memory-mapped reads of a SQLite store's database (stores/sqlite-mmap.ts):
 * opt-in (a disk error on a mapped page is SIGBUS, not EIO): with
 * MACHPAGER_SQLITE_MMAP=BYTES every connection a store opens maps that much
 * of the database for reads, unset or 0 none; and data read through
 * the mapping is the data written, also after a reopen (pages in the
 * database file, not the WAL).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, StoreError } from '../../stores/index.js';
import { openDatabase } from '../../stores/sqlite-schema.js';
import { DEFAULT_MMAP_BYTES, mmapBytes } from '../../stores/sqlite-mmap.js';
import { pattern } from './conformance.js';
import { tempDir } from './tmp.js';

const dir = tempDir('sqlite-mmap');
let serial = 0;
const dbPath = () => join(dir, `db-${++serial}.db`);
const PAGE = 4096;

afterEach(() => {
  delete process.env.MACHPAGER_SQLITE_MMAP;
});

describe('mmapBytes', () => {
  it('is off unless MACHPAGER_SQLITE_MMAP asks for a size; 0 is off; anything but a byte count is EINVAL', () => {
    expect(DEFAULT_MMAP_BYTES).toBe(0);
    expect(mmapBytes({})).toBe(DEFAULT_MMAP_BYTES);
    expect(mmapBytes({ MACHPAGER_SQLITE_MMAP: '' })).toBe(DEFAULT_MMAP_BYTES);
    expect(mmapBytes({ MACHPAGER_SQLITE_MMAP: '0' })).toBe(0);
    expect(mmapBytes({ MACHPAGER_SQLITE_MMAP: '1048576' })).toBe(1048576);
    for (const bad of ['-1', '1G', '1.5', 'x']) expect(() => mmapBytes({ MACHPAGER_SQLITE_MMAP: bad })).toThrow(StoreError);
  });
});

describe('a store database', () => {
  it('is mapped for reads when opened read-write and read-only, by the size asked for', async () => {
    const path = dbPath();
    await (await SqliteStore.open({ path, space: 1, create: true, size: 4 * PAGE })).close();
    const unmapped = openDatabase(path, false, false);
    expect(unmapped.pragma('mmap_size', { simple: true })).toBe(0);
    unmapped.close();
    process.env.MACHPAGER_SQLITE_MMAP = String(1024 * 1024 * 1024);
    const rw = openDatabase(path, false, false);
    expect(rw.pragma('mmap_size', { simple: true })).toBe(1024 * 1024 * 1024);
    rw.close();
    process.env.MACHPAGER_SQLITE_MMAP = '0';
    const ro = openDatabase(path, false, true);
    expect(ro.pragma('mmap_size', { simple: true })).toBe(0);
    ro.close();
  });

  it('reads back through the mapping what was written, after a reopen (the pages in the database file)', async () => {
    const path = dbPath();
    const pages = 64;
    const store = await SqliteStore.open({ path, space: 2, create: true, size: pages * PAGE });
    for (let p = 0; p < pages; p++) await store.write(p * PAGE, pattern(PAGE, p + 1));
    await store.close();
    const again = await SqliteStore.open({ path, space: 2 });
    try {
      const into = Buffer.alloc(pages * PAGE);
      await again.read(0, into);
      for (let p = 0; p < pages; p++) expect(into.subarray(p * PAGE, (p + 1) * PAGE).equals(pattern(PAGE, p + 1))).toBe(true);
    } finally {
      await again.close();
    }
  });
});
