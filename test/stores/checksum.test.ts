/**
 * Checksums at the store level: SQLite block rows and raw files with their
 * CRCs in page_crc (ChecksumStore). Damaged data is a DataError (EIO) naming
 * the page; holes stay zeros; a store written before checksums still reads.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  acquireSqliteConnection,
  ChecksumStore,
  DataError,
  FileStore,
  markPageDamaged,
  SqlitePageChecksums,
  SqliteStore,
  STORE_FORMAT_VERSION,
  STORE_READONLY,
  type SqliteConnection,
} from '../../stores/index.js';
import { crc32, crc32Portable, DAMAGED_CRC } from '../../stores/crc32.js';
import { tempDir } from './tmp.js';

const PAGE = 4096;
const dir = tempDir('checksum');
let serial = 0;

/** Read `length` bytes at `offset`; the DataError if the read fails with one. */
async function readOrError(store: { read(offset: number, into: Buffer): Promise<number> }, offset: number, length: number): Promise<Buffer | DataError> {
  const into = Buffer.alloc(length);
  try {
    await store.read(offset, into);
    return into;
  } catch (err) {
    if (err instanceof DataError) return err;
    throw err;
  }
}

describe('crc32', () => {
  it('the portable table gives what zlib gives', () => {
    for (const n of [0, 1, 7, 4096, 10_000]) {
      const data = randomBytes(n);
      expect(crc32Portable(data)).toBe(crc32(data));
      const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
      if (native) expect(crc32(data)).toBe(native(data));
    }
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('SQLite store checksums', () => {
  async function written(): Promise<{ path: string; store: SqliteStore; data: Buffer }> {
    const path = join(dir, `s${++serial}.db`);
    const store = await SqliteStore.open({ path, space: 3, create: true, blockSize: PAGE });
    const data = randomBytes(8 * PAGE);
    data.fill(0, 5 * PAGE, 6 * PAGE); // a page of zeros: a hole, no row
    await store.write(0, data);
    return { path, store, data };
  }

  it('a block whose bytes changed inside the database reads as EIO naming it; the others and holes read right', async () => {
    const { store, data } = await written();
    store.connection.db.prepare('UPDATE store_block SET data = ? WHERE space = 3 AND block = 2').run(randomBytes(PAGE));
    const bad = await readOrError(store, 0, 8 * PAGE);
    expect(bad).toBeInstanceOf(DataError);
    expect((bad as DataError).code).toBe('EIO');
    expect((bad as DataError).kind).toBe('checksum');
    expect((bad as DataError).offset).toBe(2 * PAGE);
    expect(await readOrError(store, 0, 2 * PAGE)).toEqual(data.subarray(0, 2 * PAGE));
    expect(await readOrError(store, 3 * PAGE, 5 * PAGE)).toEqual(data.subarray(3 * PAGE));
    expect(await readOrError(store, 100 * PAGE, PAGE)).toEqual(Buffer.alloc(PAGE));
    expect(store.stats().errors).toBe(1);
    // Written again, it is good again.
    await store.write(2 * PAGE, data.subarray(2 * PAGE, 3 * PAGE));
    expect(await readOrError(store, 0, 8 * PAGE)).toEqual(data);
    await store.close();
  });

  it('a short or mistyped value is corrupt, a marked block is EIO until written again', async () => {
    const { store, data } = await written();
    const db = store.connection.db;
    db.prepare('UPDATE store_block SET data = ? WHERE space = 3 AND block = 1').run(Buffer.alloc(100, 1));
    db.prepare("UPDATE store_block SET data = 'text' WHERE space = 3 AND block = 4").run();
    expect(await readOrError(store, PAGE, PAGE)).toMatchObject({ kind: 'corrupt', offset: PAGE });
    expect(await readOrError(store, 4 * PAGE, PAGE)).toMatchObject({ kind: 'corrupt', offset: 4 * PAGE });
    await store.connection.markBlockDamaged(3, 7);
    expect(await readOrError(store, 7 * PAGE, PAGE)).toMatchObject({ kind: 'marked', offset: 7 * PAGE });
    await store.write(7 * PAGE, data.subarray(7 * PAGE));
    expect(await readOrError(store, 7 * PAGE, PAGE)).toEqual(data.subarray(7 * PAGE));
    await store.close();
  });

  it('a store of format 1 (no crc) reads read-only as it is, and is migrated on a writable open', async () => {
    const { path, store, data } = await written();
    const db = store.connection.db;
    // What format 1 looked like.
    db.exec("ALTER TABLE store_block DROP COLUMN crc; DROP TABLE page_crc; UPDATE machpager_meta SET value = 1 WHERE key = 'version'");
    await store.close();

    const ro = acquireSqliteConnection(path, { readOnly: true });
    try {
      expect(ro.hasBlockCrc).toBe(false);
      expect(ro.hasPageCrc).toBe(false);
      const old = await SqliteStore.open({ path, space: 3, flags: STORE_READONLY });
      expect(await readOrError(old, 0, 8 * PAGE)).toEqual(data);
      const table = new SqlitePageChecksums(ro, 3);
      expect(table.get(0, 10).size).toBe(0);
      table.close();
      await old.close();
    } finally {
      ro.release();
    }

    const rw = await SqliteStore.open({ path, space: 3 });
    expect(rw.connection.hasBlockCrc).toBe(true);
    expect(rw.connection.db.prepare("SELECT value FROM machpager_meta WHERE key = 'version'").pluck().get()).toBe(STORE_FORMAT_VERSION);
    // Rows from before carry no CRC: trusted.
    expect(rw.connection.db.prepare('SELECT count(*) FROM store_block WHERE crc IS NULL').pluck().get()).toBe(7);
    expect(await readOrError(rw, 0, 8 * PAGE)).toEqual(data);
    await rw.write(0, data.subarray(0, PAGE));
    expect(rw.connection.db.prepare('SELECT crc FROM store_block WHERE space = 3 AND block = 0').pluck().get()).toBe(crc32(data.subarray(0, PAGE)));
    await rw.close();
  });
});

describe('raw file store with CRCs in page_crc', () => {
  interface Opened {
    store: ChecksumStore;
    catalog: SqliteConnection;
    file: string;
  }

  async function open(file: string, catalogPath: string): Promise<Opened> {
    const catalog = acquireSqliteConnection(catalogPath, { create: true });
    const raw = await FileStore.open({ path: file, create: true, size: 0 });
    const store = new ChecksumStore(raw, new SqlitePageChecksums(catalog, 9), PAGE);
    return { store, catalog, file };
  }

  async function close(o: Opened): Promise<void> {
    await o.store.close();
    o.catalog.release();
  }

  async function written(): Promise<{ o: Opened; data: Buffer; catalogPath: string }> {
    const n = ++serial;
    const catalogPath = join(dir, `catalog${n}.db`);
    const o = await open(join(dir, `data${n}`), catalogPath);
    const data = randomBytes(6 * PAGE);
    await o.store.setSize(6 * PAGE);
    await o.store.write(0, data);
    await o.store.sync();
    return { o, data, catalogPath };
  }

  it('writes one CRC per page; reads check them; flipped bytes are EIO naming the page, the rest reads right', async () => {
    const { o, data } = await written();
    expect(o.catalog.db.prepare('SELECT count(*) FROM page_crc WHERE file = 9').pluck().get()).toBe(6);
    expect(await readOrError(o.store, 0, 6 * PAGE)).toEqual(data);
    const bytes = readFileSync(o.file);
    bytes[3 * PAGE + 17] ^= 0xff;
    writeFileSync(o.file, bytes);
    expect(await readOrError(o.store, 0, 6 * PAGE)).toMatchObject({ kind: 'checksum', offset: 3 * PAGE, code: 'EIO' });
    expect(await readOrError(o.store, 0, 3 * PAGE)).toEqual(data.subarray(0, 3 * PAGE));
    expect(await readOrError(o.store, 4 * PAGE, 2 * PAGE)).toEqual(data.subarray(4 * PAGE));
    await close(o);
  });

  it('a truncated or deleted data file: the recorded pages are EIO (missing), not zeros', async () => {
    const { o, data, catalogPath } = await written();
    await close(o);
    truncateSync(o.file, 2 * PAGE + 100);
    let again = await open(o.file, catalogPath);
    expect(again.store.size).toBe(6 * PAGE);
    expect(await readOrError(again.store, 0, 2 * PAGE)).toEqual(data.subarray(0, 2 * PAGE));
    expect(await readOrError(again.store, 2 * PAGE, PAGE)).toMatchObject({ kind: 'missing', offset: 2 * PAGE });
    expect(await readOrError(again.store, 5 * PAGE, PAGE)).toMatchObject({ kind: 'missing', offset: 5 * PAGE });
    await close(again);
    unlinkSync(o.file);
    again = await open(o.file, catalogPath);
    expect(await readOrError(again.store, 0, PAGE)).toMatchObject({ kind: 'missing', offset: 0 });
    // Written again, a page is good again.
    await again.store.write(0, data.subarray(0, PAGE));
    expect(await readOrError(again.store, 0, PAGE)).toEqual(data.subarray(0, PAGE));
    await close(again);
  });

  it('holes read as zeros; a truncate drops the CRCs of the pages it removes; a marked page is EIO', async () => {
    const { o: first, data, catalogPath } = await written();
    let o = first;
    await o.store.setSize(10 * PAGE);
    expect(await readOrError(o.store, 6 * PAGE, 4 * PAGE)).toEqual(Buffer.alloc(4 * PAGE));
    await o.store.setSize(2 * PAGE);
    expect(o.catalog.db.prepare('SELECT max(page) FROM page_crc WHERE file = 9').pluck().get()).toBe(1);
    await o.store.setSize(6 * PAGE);
    expect(await readOrError(o.store, 2 * PAGE, 4 * PAGE)).toEqual(Buffer.alloc(4 * PAGE));
    // fsck marks pages of a store nobody has open.
    await close(o);
    const catalog = acquireSqliteConnection(catalogPath);
    await markPageDamaged(catalog, 9, 1);
    catalog.release();
    o = await open(o.file, catalogPath);
    expect(o.catalog.db.prepare('SELECT crc FROM page_crc WHERE file = 9 AND page = 1').pluck().get()).toBe(DAMAGED_CRC);
    expect(await readOrError(o.store, 0, 2 * PAGE)).toMatchObject({ kind: 'marked', offset: PAGE });
    expect(await readOrError(o.store, 0, PAGE)).toEqual(data.subarray(0, PAGE));
    await close(o);
  });

  it('pages written before checksums (no CRC) are trusted', async () => {
    const n = ++serial;
    const file = join(dir, `old${n}`);
    const data = randomBytes(3 * PAGE);
    writeFileSync(file, data);
    const o = await open(file, join(dir, `oldcatalog${n}.db`));
    expect(await readOrError(o.store, 0, 3 * PAGE)).toEqual(data);
    await close(o);
  });
});
