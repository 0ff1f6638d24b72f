/**
 * The catalog image of a postgres: store (stores/postgres-catalog-image.ts):
 * what a flush writes is what the next load finds (tables, indexes, rows
 * with BLOBs, keys that changed), changes made while a flush is on the wire
 * go in the next, and a flush that fails keeps everything for the one after.
 */
import { describe, expect, it } from 'vitest';
import { acquirePostgresConnection, PostgresCatalogImage, type PostgresConnection } from '../../stores/index.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';
import { expectCode } from './conformance.js';

const cluster = usePostgresCluster('pgimage');
let serial = 0;

async function freshConnection(): Promise<PostgresConnection> {
  const db = `image${++serial}`;
  await cluster().createDatabase(db);
  return acquirePostgresConnection(cluster().uri(db), { create: true });
}

const quiet = (): void => undefined;

function dump(image: PostgresCatalogImage): unknown {
  const db = image.sqlite.db;
  return {
    entries: db.prepare('SELECT parent, name, ino FROM dirent ORDER BY parent, name').all(),
    xattrs: db.prepare('SELECT ino, name, value FROM xattr ORDER BY ino, name').all(),
    indexes: db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name").all(),
  };
}

describe('the catalog image of a postgres: store', () => {
  it('a load finds what the flushes before it wrote: tables, indexes, rows, BLOBs, moved keys, deletions', async () => {
    const connection = await freshConnection();
    const image = await PostgresCatalogImage.load(connection, { readOnly: false, log: quiet });
    const db = image.sqlite.db;
    db.exec(`
      CREATE TABLE dirent (parent INTEGER NOT NULL, name TEXT NOT NULL, ino INTEGER NOT NULL, PRIMARY KEY (parent, name)) WITHOUT ROWID;
      CREATE INDEX dirent_ino ON dirent (ino);
      CREATE TABLE xattr (ino INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ino, name)) WITHOUT ROWID;
      INSERT INTO dirent VALUES (1, 'a', 2), (1, 'b', 3), (1, 'it''s "quoted"', 4);
      INSERT INTO xattr VALUES (2, 'user.bin', x'00ff10');
    `);
    await image.flush();
    db.exec("UPDATE dirent SET parent = 2, name = 'moved' WHERE name = 'b'; DELETE FROM dirent WHERE name = 'a'");
    await image.flush();
    const expected = dump(image);
    await image.close();

    const again = await PostgresCatalogImage.load(connection, { readOnly: true });
    expect(dump(again)).toEqual(expected);
    expect(again.sqlite.db.prepare('SELECT value FROM xattr').pluck().get()).toEqual(Buffer.from([0, 0xff, 0x10]));
    await again.close();
    await connection.release();
  });

  it('changes made while a flush is on the wire go in the next one', async () => {
    const connection = await freshConnection();
    const image = await PostgresCatalogImage.load(connection, { readOnly: false, log: quiet });
    const db = image.sqlite.db;
    db.exec('CREATE TABLE orphan (ino INTEGER PRIMARY KEY); INSERT INTO orphan VALUES (1)');
    const first = image.flush();
    // The flush reads the rows it writes at its start (in a microtask): after one turn of the loop, it has.
    await new Promise((resolve) => setImmediate(resolve));
    db.exec('INSERT INTO orphan VALUES (2)');
    await first;
    expect(image.pending).toBeGreaterThan(0);
    await image.flush();
    expect(image.pending).toBe(0);
    await image.close();
    const again = await PostgresCatalogImage.load(connection, { readOnly: true });
    expect(again.sqlite.db.prepare('SELECT ino FROM orphan ORDER BY ino').pluck().all()).toEqual([1, 2]);
    await again.close();
    await connection.release();
  });

  it('a flush with the server gone fails with EIO and keeps every change for the next', async () => {
    const connection = await freshConnection();
    const image = await PostgresCatalogImage.load(connection, { readOnly: false, log: quiet });
    image.sqlite.db.exec('CREATE TABLE orphan (ino INTEGER PRIMARY KEY); INSERT INTO orphan VALUES (7)');
    await cluster().stop();
    try {
      await expectCode(image.flush(), 'EIO');
      expect(image.pending).toBeGreaterThan(0);
    } finally {
      await cluster().start();
    }
    await image.flush();
    expect(image.pending).toBe(0);
    await image.close();
    const again = await PostgresCatalogImage.load(connection, { readOnly: true });
    expect(again.sqlite.db.prepare('SELECT ino FROM orphan').pluck().all()).toEqual([7]);
    await again.close();
    await connection.release();
  }, 60_000);
});
