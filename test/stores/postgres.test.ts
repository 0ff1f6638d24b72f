/**
 * What the postgres: store adds to the conformance suite: its names, the
 * refusal of a foreign or newer database, checksums, and a server that goes
 * away and comes back (EIO meanwhile, then service again).
 */
import { describe, expect, it } from 'vitest';
import { DataError, openStore, parsePostgresName, PostgresStore, POSTGRES_FORMAT_VERSION } from '../../stores/index.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';
import { expectCode, pattern } from './conformance.js';

const cluster = usePostgresCluster('pgstore');
let serial = 0;

async function freshDatabase(): Promise<string> {
  const db = `store${++serial}`;
  await cluster().createDatabase(db);
  return db;
}

describe('postgres: names', () => {
  it('takes libpq URIs with an optional #SPACE', () => {
    expect(parsePostgresName('//me@db.example/files')).toEqual({ uri: 'postgres://me@db.example/files', space: 0 });
    expect(parsePostgresName('///files?host=/run/sock&user=me#7')).toEqual({ uri: 'postgres:///files?host=/run/sock&user=me', space: 7 });
    expect(parsePostgresName('///?dbname=files&host=/s')).toEqual({ uri: 'postgres:///?dbname=files&host=/s', space: 0 });
  });

  it('refuses names that are no URI or name no database', async () => {
    await expectCode(openStore('postgres:files'), 'EINVAL');
    await expectCode(openStore('postgres://host/'), 'EINVAL');
    await expectCode(openStore('postgres://host/db#x'), 'EINVAL');
  });

  it('postgresql: is the same class', async () => {
    const db = await freshDatabase();
    const s = await openStore(`${cluster().uri(db).replace(/^postgres:/, 'postgresql:')}#2`, { create: true, size: 65536 });
    expect(s.className).toBe('postgres');
    expect(s.name).toBe(`${cluster().uri(db)}#2`);
    await s.close();
  });
});

describe('postgres: databases that are not ours', () => {
  it('refuses a database with other tables in one line and writes nothing', async () => {
    const db = await freshDatabase();
    await cluster().sql(db, 'CREATE TABLE accounts (id INTEGER PRIMARY KEY)');
    const err = await expectCode(openStore(cluster().uri(db), { create: true }), 'EINVAL');
    expect(err.message).toMatch(/is not a machpager store \(a database with other tables: accounts\)/);
    expect(err.message).not.toContain('\n');
    const tables = await cluster().sql(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(['accounts']);
  });

  it('an empty database is no store without create', async () => {
    const db = await freshDatabase();
    const err = await expectCode(openStore(cluster().uri(db)), 'ENOENT');
    expect(err.message).toMatch(/no machpager store in .* \(an empty database\)/);
  });

  it('refuses a newer format', async () => {
    const db = await freshDatabase();
    await (await openStore(cluster().uri(db), { create: true })).close();
    await cluster().sql(db, "UPDATE machpager_meta SET value = $1 WHERE key = 'version'", [String(POSTGRES_FORMAT_VERSION + 1)]);
    const err = await expectCode(openStore(cluster().uri(db)), 'EINVAL');
    expect(err.message).toMatch(new RegExp(`has store format ${POSTGRES_FORMAT_VERSION + 1}; this machpager knows up to ${POSTGRES_FORMAT_VERSION}`));
  });

  it('a missing database is ENOENT', async () => {
    await expectCode(openStore(cluster().uri('nosuchdb')), 'ENOENT');
  });
});

describe('postgres: checksums', () => {
  it('a block changed behind the store reads as EIO, never as its bytes', async () => {
    const db = await freshDatabase();
    const s = await PostgresStore.open({ uri: cluster().uri(db), space: 1, create: true, size: 65536 });
    await s.write(0, pattern(8192, 1));
    await cluster().sql(db, "UPDATE store_block SET data = overlay(data placing '\\x00ff'::bytea from 5) WHERE space = 1 AND block = 1");
    const err = await s.read(0, Buffer.alloc(8192)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).kind).toBe('checksum');
    expect((err as DataError).offset).toBe(4096);
    const first = Buffer.alloc(4096);
    await s.read(0, first);
    expect(first.equals(pattern(8192, 1).subarray(0, 4096))).toBe(true);
    await s.close();
  });
});

describe('postgres: the server goes away', () => {
  it('gives EIO while it is gone and serves again when it is back, keeping what was written', async () => {
    const db = await freshDatabase();
    const s = await PostgresStore.open({ uri: cluster().uri(db), space: 1, create: true, size: 65536 });
    await s.write(0, pattern(4096, 2));
    await cluster().stop();
    try {
      await expectCode(s.read(0, Buffer.alloc(4096)), 'EIO');
      await expectCode(s.write(4096, pattern(4096, 3)), 'EIO');
    } finally {
      await cluster().start();
    }
    const back = Buffer.alloc(4096);
    await s.read(0, back);
    expect(back.equals(pattern(4096, 2))).toBe(true);
    await s.write(4096, pattern(4096, 3));
    await s.read(4096, back);
    expect(back.equals(pattern(4096, 3))).toBe(true);
    await s.close();
  }, 60_000);
});
