/**
 * The conformance suite (conformance.ts) against every class. Persistent
 * composites are built over SQLite spaces and files so that reopening them
 * by name finds the data again. postgres: runs against a throwaway cluster
 * (test/helpers/postgres-cluster.ts).
 */
import { join } from 'node:path';
import { FileStore, openStore, SqliteStore, type Store } from '../../stores/index.js';
import { conformance } from './conformance.js';
import { tempDir } from './tmp.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';

const dir = tempDir('conformance');
const SIZE = 256 * 1024;
let serial = 0;
const unique = (stem: string) => join(dir, `${stem}-${++serial}`);

/** A fresh SQLite space of SIZE bytes; returns its typed name. */
async function sqliteSpace(path: string, space: number, blockSize?: number): Promise<string> {
  const s = await SqliteStore.open({ path, space, create: true, size: SIZE, blockSize });
  await s.close();
  return s.name;
}

async function sparseFile(size = SIZE): Promise<string> {
  const s = await FileStore.open({ path: unique('file'), create: true, size });
  await s.close();
  return s.name;
}

const open = (name: string): Promise<Store> => openStore(name);

const cluster = usePostgresCluster('conformance');
let database: Promise<void> | undefined;

/** A fresh space in the cluster's database (made on first use). */
async function postgresSpace(): Promise<Store> {
  database ??= cluster().createDatabase('conformance');
  await database;
  return openStore(`${cluster().uri('conformance')}#${++serial}`, { create: true, size: SIZE });
}

conformance({
  className: 'memory',
  create: () => open('memory:256K'),
  persistent: false,
  keepsData: true,
  resizable: true,
  holes: 'exact',
});

conformance({
  className: 'zero',
  create: () => open('zero:256K/4K'),
  persistent: false,
  keepsData: false,
  resizable: false,
  holes: 'always',
});

conformance({
  className: 'file',
  create: () => openStore(`file:${unique('file')}`, { create: true, size: SIZE }),
  persistent: true,
  keepsData: true,
  resizable: true,
  holes: 'never',
});

conformance({
  className: 'sqlite',
  create: () => openStore(`sqlite:${unique('db')}#3`, { create: true, size: SIZE }),
  persistent: true,
  keepsData: true,
  resizable: true,
  holes: 'exact',
});

conformance({
  className: 'postgres',
  create: postgresSpace,
  persistent: true,
  keepsData: true,
  resizable: true,
  holes: 'exact',
});

conformance({
  className: 'concat',
  async create() {
    const db = unique('db');
    // Two spaces of one database with different block sizes: the concat's is the larger.
    return open(`concat:;${await sqliteSpace(db, 0, 1024)};${await sqliteSpace(db, 1)}`);
  },
  persistent: true,
  keepsData: true,
  resizable: false,
  holes: 'exact',
});

conformance({
  className: 'ileave',
  create: () => open('ileave:8K:memory:,128K,128K/4K'),
  persistent: false,
  keepsData: true,
  resizable: false,
  holes: 'exact',
});

conformance({
  className: 'remap',
  async create() {
    return open(`remap:0+128,256+:${await sparseFile(2 * SIZE)}`);
  },
  persistent: true,
  keepsData: true,
  resizable: false,
  holes: 'never',
});

conformance({
  className: 'copy',
  async create() {
    return open(`copy:${await sqliteSpace(unique('db'), 0)}`);
  },
  persistent: false,
  keepsData: true,
  resizable: true,
  holes: 'exact',
});

conformance({
  className: 'fault',
  create: () => open('fault::memory:256K/4K'),
  persistent: false,
  keepsData: true,
  resizable: true,
  holes: 'exact',
});
