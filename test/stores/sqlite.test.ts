/**
 * The SQLite store: spaces, the refusal of foreign files, shared
 * transactions, durability.
 */
import { copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acquireSqliteConnection,
  MACHPAGER_APPLICATION_ID,
  openSqliteDatabases,
  openStore,
  parseSqliteName,
  SqliteStore,
} from '../../stores/index.js';
import { expectCode, pattern } from './conformance.js';
import { tempDir } from './tmp.js';

const dir = tempDir('sqlite');
let serial = 0;
const dbPath = () => join(dir, `db-${++serial}.db`);

/**
 * Make a SQLite database that is not ours, through SQLite itself (ATTACH on a
 * scratch machpager database), so that only the store files import
 * better-sqlite3.
 */
function foreignDatabase(path: string, applicationId = 0): void {
  const scratch = acquireSqliteConnection(dbPath(), { create: true });
  try {
    scratch.db.prepare('ATTACH DATABASE ? AS foreign_db').run(path);
    scratch.db.exec('CREATE TABLE foreign_db.people (name TEXT)');
    scratch.db.exec("INSERT INTO foreign_db.people VALUES ('ada')");
    if (applicationId) scratch.db.pragma(`foreign_db.application_id = ${applicationId}`);
    scratch.db.exec('DETACH DATABASE foreign_db');
  } finally {
    scratch.release();
  }
}

describe('sqlite store', () => {
  it('keeps spaces of one database independent, over one shared connection', async () => {
    const path = dbPath();
    const a = await SqliteStore.open({ path, space: 0, create: true, size: 64 * 4096 });
    const b = await SqliteStore.open({ path, space: 7, create: true, size: 32 * 1024, blockSize: 1024 });
    try {
      expect(a.connection).toBe(b.connection);
      expect(openSqliteDatabases().filter((p) => p === a.connection.path)).toHaveLength(1);
      await a.write(0, pattern(4096, 1));
      await b.write(0, pattern(1024, 2));
      const buf = Buffer.alloc(4096);
      await a.read(0, buf);
      expect(buf.equals(pattern(4096, 1))).toBe(true);
      await b.read(0, buf);
      expect(buf.subarray(0, 1024).equals(pattern(1024, 2))).toBe(true);
      expect(buf.subarray(1024).equals(Buffer.alloc(3072))).toBe(true);
      await b.setSize(0);
      await a.read(0, buf);
      expect(buf.equals(pattern(4096, 1))).toBe(true);
      expect(a.connection.listSpaces()).toEqual([
        { space: 0, blockSize: 4096, size: 64 * 4096 },
        { space: 7, blockSize: 1024, size: 0 },
      ]);
    } finally {
      await a.close();
      await b.close();
    }
    expect(openSqliteDatabases()).not.toContain(a.connection.path);
    // Size and block size come back with the name alone.
    const again = await openStore(`sqlite:${path}#7`);
    expect({ size: again.size, blockSize: again.blockSize }).toEqual({ size: 0, blockSize: 1024 });
    await again.close();
    await expectCode(openStore(`sqlite:${path}#7`, { blockSize: 4096 }), 'EINVAL');
    await expectCode(openStore(`sqlite:${path}#8`), 'ENOENT');
  });

  it('refuses a foreign SQLite database and leaves its file unchanged', async () => {
    const path = dbPath();
    foreignDatabase(path);
    const before = readFileSync(path);
    const err = await expectCode(openStore(`sqlite:${path}`), 'EINVAL');
    expect(err.message).toMatch(/not a machpager store/);
    await expectCode(openStore(`sqlite:${path}`, { create: true }), 'EINVAL');
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}-wal`) || existsSync(`${path}-shm`)).toBe(false);
    // Our application_id without our tables: refused too, and unchanged.
    const marked = dbPath();
    foreignDatabase(marked, MACHPAGER_APPLICATION_ID);
    const markedBefore = readFileSync(marked);
    expect((await expectCode(openStore(`sqlite:${marked}`), 'EINVAL')).message).toMatch(/not a machpager store/);
    expect(readFileSync(marked).equals(markedBefore)).toBe(true);
    expect(openSqliteDatabases()).not.toContain(marked);
  });

  it('refuses a file that is not SQLite at all, and an empty one without create', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'these are my notes, not a database\n'.repeat(10));
    const before = readFileSync(path);
    expect((await expectCode(openStore(`sqlite:${path}`, { create: true }), 'EINVAL')).message).toMatch(/not a machpager store/);
    expect(readFileSync(path).equals(before)).toBe(true);
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    await expectCode(openStore(`sqlite:${empty}`), 'EINVAL');
    await expectCode(openStore(`sqlite:${join(dir, 'missing.db')}`), 'ENOENT');
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
    // An empty file with create becomes a store.
    const s = await openStore(`sqlite:${empty}`, { create: true, size: 4096 });
    await s.close();
  });

  it('refuses a damaged machpager database without changing it', async () => {
    const path = dbPath();
    const s = await openStore(`sqlite:${path}`, { create: true, size: 8192 });
    await s.close();
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 100, 4096);
    writeFileSync(path, bytes);
    expect((await expectCode(openStore(`sqlite:${path}`), 'EINVAL')).message).toMatch(/not a machpager store \(or is damaged\)/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('shares one transaction among writes started in the same tick, and reads see queued writes', async () => {
    const s = await SqliteStore.open({ path: dbPath(), create: true, size: 1 << 20 });
    try {
      const before = s.connection.stats();
      const writes = Array.from({ length: 20 }, (_, i) => s.write(i * 4096, pattern(4096, i)));
      // A read started before the writes settle still sees them.
      const buf = Buffer.alloc(4096);
      await s.read(5 * 4096, buf);
      expect(buf.equals(pattern(4096, 5))).toBe(true);
      await Promise.all(writes);
      const after = s.connection.stats();
      expect(after.transactions - before.transactions).toBe(1);
      expect(after.jobs - before.jobs).toBe(20);
      // Writes of many blocks are one job, one transaction.
      await s.write(0, pattern(64 * 4096, 99));
      expect(s.connection.stats().transactions - after.transactions).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('keeps holes: an all-zero block has no row', async () => {
    const s = await SqliteStore.open({ path: dbPath(), create: true, size: 1 << 20 });
    try {
      await s.write(0, pattern(8192, 1));
      expect(await s.isHole(0, 8192)).toBe(false);
      await s.write(4096, Buffer.alloc(4096));
      expect(await s.isHole(4096, 4096)).toBe(true);
      expect(await s.isHole(0, 4096)).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('has every resolved write after a crash of the process, and syncs only when something changed', async () => {
    const path = dbPath();
    const s = await SqliteStore.open({ path, create: true, size: 1 << 20 });
    try {
      await s.write(0, pattern(4096, 1));
      await s.sync();
      const syncs = s.connection.stats().syncs;
      await s.sync();
      expect(s.connection.stats().syncs).toBe(syncs);
      await s.write(8192, pattern(3 * 4096, 2));
      // What a killed process leaves behind: the database and its WAL as they are now.
      const crashed = join(dir, 'crashed.db');
      copyFileSync(path, crashed);
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${crashed}-wal`);
      const after = await openStore(`sqlite:${crashed}`);
      try {
        const buf = Buffer.alloc(4 * 4096);
        await after.read(0, buf);
        expect(buf.subarray(0, 4096).equals(pattern(4096, 1))).toBe(true);
        expect(buf.subarray(8192).equals(pattern(3 * 4096, 2).subarray(0, 8192))).toBe(true);
      } finally {
        await after.close();
      }
      await s.sync();
      expect(s.connection.stats().syncs).toBe(syncs + 1);
    } finally {
      await s.close();
    }
  });

  it('destroy removes a space and its blocks', async () => {
    const path = dbPath();
    const s = await SqliteStore.open({ path, space: 2, create: true, size: 8192 });
    const keep = await SqliteStore.open({ path, space: 3, create: true, size: 8192 });
    await s.write(0, pattern(8192, 1));
    await s.destroy();
    expect(keep.connection.listSpaces().map((r) => r.space)).toEqual([3]);
    await keep.close();
    await expectCode(openStore(`sqlite:${path}#2`), 'ENOENT');
    const fresh = await openStore(`sqlite:${path}#2`, { create: true, size: 8192 });
    expect(await fresh.isHole(0, 8192)).toBe(true);
    await fresh.close();
  });

  it('parses PATH[#SPACE] and writes the space back always', () => {
    expect(parseSqliteName('/a.db')).toEqual({ path: '/a.db', space: 0 });
    expect(parseSqliteName('/a.db#12')).toEqual({ path: '/a.db', space: 12 });
    expect(parseSqliteName('/x#y.db')).toEqual({ path: '/x#y.db', space: 0 });
    expect(parseSqliteName('/x#5#0')).toEqual({ path: '/x#5', space: 0 });
  });
});

describe('the shared connection', () => {
  it('one database opened by two names (a symlink) is one connection; a name finds it while it is open, and the next open after the last release is a new one', () => {
    const path = dbPath();
    const link = join(dir, `link-${serial}.db`);
    const a = acquireSqliteConnection(path, { create: true });
    symlinkSync(path, link);
    const b = acquireSqliteConnection(link);
    const c = acquireSqliteConnection(path);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(openSqliteDatabases().filter((p) => p === a.path)).toHaveLength(1);
    a.release();
    b.release();
    c.release();
    expect(openSqliteDatabases()).not.toContain(a.path);
    const again = acquireSqliteConnection(link);
    expect(again).not.toBe(a);
    expect(again.path).toBe(a.path);
    again.release();
  });
});
