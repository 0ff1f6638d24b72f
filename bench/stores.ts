/**
 * Store benchmarks: the kernel, the pager library and a StorePager over each
 * store class, so that a figure is what a mount would see from that store.
 * Per class: write-back (dirty pages evicted and written through writePages,
 * then sync), and page-in, sequential (128 KiB copies) and random (4 KiB),
 * with a cold cache (a fresh kernel; OS caches dropped when we may) and a
 * warm one (the kernel's cache flushed, the store's and the OS's warm).
 * postgres runs against a throwaway cluster on a Unix socket (fsync off:
 * the server's best case), when PostgreSQL is installed.
 * Figures only: nothing here asserts on time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { VM_PROT_READ, VM_PROT_WRITE, type VmWindow } from '../kernel/index.js';
import { StorePager } from '../daemon/pager/index.js';
import { servePager, type ServedPager } from './pager-rig.js';
import { acquireSqliteConnection, ChecksumStore, openStore, SqlitePageChecksums, type OpenOptions, type Store } from '../stores/index.js';
import { KiB, MiB, printTable, type BenchRow, type Print } from './table.js';
import { dropOsCaches } from './os-cache.js';
import { postgresBinDir, startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

const PAGE = 4 * KiB;
const BIG = 128 * KiB;

export interface StoreBenchOptions {
  print?: Print;
  /** Bytes of data per class. Default 64 MiB. */
  dataBytes?: number;
  /** Random 4 KiB reads per measurement. Default 20000. */
  randomReads?: number;
}

interface StoreClassBench {
  readonly label: string;
  /** A typed name for a fresh store of `size` bytes in `dir` (made ready first when it needs it). */
  name(dir: string, size: number): string | Promise<string>;
  readonly options: OpenOptions;
  /** Whether the data survives close (memory stores do not: no cold reopen). */
  readonly persistent: boolean;
  /** Open otherwise than by the name alone (a wrapper). */
  readonly open?: (dir: string, name: string, options: OpenOptions) => Promise<Store>;
}

/** A raw file with its pages' CRCs in a catalog database: what a file: filesystem store's inode gets. */
async function openChecksummed(dir: string, name: string, options: OpenOptions): Promise<Store> {
  const catalog = acquireSqliteConnection(join(dir, 'catalog.db'), { create: true });
  try {
    return new ChecksumStore(await openStore(name, options), new SqlitePageChecksums(catalog, 1), PAGE);
  } finally {
    catalog.release(); // the table holds its own reference
  }
}

/** The cluster the postgres class runs against, while benchStores runs. */
let cluster: PostgresCluster | undefined;

const classes: readonly StoreClassBench[] = [
  { label: 'memory', name: (_d, size) => `memory:${size}/${PAGE}`, options: {}, persistent: false },
  { label: 'file', name: (d) => `file:${join(d, 'data.img')}`, options: { blockSize: PAGE }, persistent: true },
  { label: 'file + page_crc', name: (d) => `file:${join(d, 'data.img')}`, options: { blockSize: PAGE }, persistent: true, open: openChecksummed },
  { label: 'sqlite', name: (d) => `sqlite:${join(d, 'data.db')}#1`, options: { blockSize: PAGE }, persistent: true },
  {
    label: 'postgres',
    async name() {
      if (!cluster) throw new Error('no PostgreSQL cluster');
      await cluster.createDatabase('bench');
      return `${cluster.uri('bench')}#1`;
    },
    options: { blockSize: PAGE },
    persistent: true,
  },
  {
    label: 'ileave (2 x file)',
    name: (d) => `ileave:${64 * KiB}:,file:${join(d, 'a.img')},file:${join(d, 'b.img')}`,
    options: {},
    persistent: true,
  },
];

function serve(store: Store, cacheBytes: number): Promise<ServedPager> {
  return servePager(new StorePager(store, { pageSize: PAGE }), store.size, { cacheSize: cacheBytes, pageSize: PAGE });
}

async function readSequential(window: VmWindow, bytes: number): Promise<number> {
  const buf = Buffer.alloc(BIG);
  const started = performance.now();
  for (let at = 0; at < bytes; at += BIG) {
    const { error } = await window.memcpy(at, buf, VM_PROT_READ);
    if (error) throw new Error(`read at ${at}: errno ${error}`);
  }
  return (performance.now() - started) / 1000;
}

async function readRandom(window: VmWindow, bytes: number, count: number, seed: number): Promise<number> {
  const buf = Buffer.alloc(PAGE);
  const pages = bytes / PAGE;
  let x = seed;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const { error } = await window.memcpy((x % pages) * PAGE, buf, VM_PROT_READ);
    if (error) throw new Error(`read: errno ${error}`);
  }
  return (performance.now() - started) / 1000;
}

export async function benchStores(options: StoreBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const bytes = options.dataBytes ?? 64 * MiB;
  const randomReads = options.randomReads ?? 20_000;
  const cache = Math.max(64 * PAGE, bytes / 8);
  const rows: BenchRow[] = [];
  const osNote = dropOsCaches() ? 'OS cache dropped' : 'OS cache not dropped (not root)';
  const data = Buffer.alloc(BIG);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);

  const postgres = postgresBinDir() !== undefined;
  if (!postgres) print('stores: postgres left out (PostgreSQL is not installed: scripts/setup)');
  cluster = postgres ? await startPostgresCluster('bench') : undefined;
  try {
    for (const cls of classes) if (cls.label !== 'postgres' || cluster) rows.push(...(await benchClass(cls, bytes, cache, randomReads, osNote, data)));
  } finally {
    await cluster?.destroy();
    cluster = undefined;
  }
  printTable('stores: page-in and write-back through the kernel and a StorePager (4 KiB pages)', rows, print);
  return rows;
}

async function benchClass(cls: StoreClassBench, bytes: number, cache: number, randomReads: number, osNote: string, data: Buffer): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'machpager-bench-'));
  try {
    const name = await cls.name(dir, bytes);
    if (cls.label.startsWith('ileave')) {
      for (const f of ['a.img', 'b.img']) await (await openStore(`file:${join(dir, f)}`, { create: true, size: bytes / 2, blockSize: PAGE })).close();
    }
    const open = (options: OpenOptions): Promise<Store> => (cls.open ? cls.open(dir, name, options) : openStore(name, options));
    let store = await open({ ...cls.options, create: !cls.label.startsWith('ileave'), size: bytes });
    let served = await serve(store, cache);
    const started = performance.now();
    for (let at = 0; at < bytes; at += BIG) {
      const { error } = await served.window.memcpy(at, data, VM_PROT_WRITE);
      if (error) throw new Error(`write at ${at}: errno ${error}`);
    }
    await served.pager.sync();
    await store.sync();
    let seconds = (performance.now() - started) / 1000;
    const written = served.kernel.statistics().pageouts;
    rows.push({
      name: `${cls.label}: write-back`,
      value: written / seconds,
      unit: 'pages/s',
      detail: `${((written * PAGE) / MiB / seconds).toFixed(0)} MiB/s, ${(bytes / MiB).toFixed(0)} MiB through a ${(cache / MiB).toFixed(0)} MiB cache, ${served.pager.stats.write_runs} writePages runs, then sync`,
    });

    // Cold: a fresh kernel (and, for stores that persist, a reopened store with the OS cache dropped).
    if (cls.persistent) {
      await served.close();
      await store.close();
      dropOsCaches();
      store = await open(cls.options);
      served = await serve(store, cache);
    } else {
      await served.pager.return();
    }
    for (const [temperature, note] of [
      ['cold', cls.persistent ? osNote : 'memory store'],
      ['warm', 'kernel cache flushed, store and OS warm'],
    ] as const) {
      if (temperature === 'warm') await served.pager.flush();
      const before = served.kernel.statistics().pageins;
      seconds = await readSequential(served.window, bytes);
      const pageins = served.kernel.statistics().pageins - before;
      rows.push({
        name: `${cls.label}: sequential page-in, ${temperature}`,
        value: pageins / seconds,
        unit: 'pages/s',
        detail: `${(bytes / MiB / seconds).toFixed(0)} MiB/s, 128 KiB copies, ${note}`,
      });
      await served.pager.flush();
      const beforeRandom = served.kernel.statistics();
      seconds = await readRandom(served.window, bytes, randomReads, temperature === 'cold' ? 7 : 11);
      const after = served.kernel.statistics();
      const randomPageins = after.pageins - beforeRandom.pageins;
      rows.push({
        name: `${cls.label}: random page-in, ${temperature}`,
        value: randomPageins / seconds,
        unit: 'pages/s',
        detail: `${((randomPageins * PAGE) / MiB / seconds).toFixed(1)} MiB/s, ${randomReads} reads of 4 KiB, ${after.hits - beforeRandom.hits} hits, ${(randomReads / seconds).toFixed(0)} reads/s`,
      });
    }
    await served.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
