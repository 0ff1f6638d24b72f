/**
 * Cold reads through a small cache: fio reads of a file eight times the
 * page cache, sequential (128 KiB) and random (4 KiB, one job), on a fresh
 * machpager mount per workload (SQLite store, direct_io, OS cache dropped
 * when we may), printed as ratios of the bare in-memory FUSE floor. Every
 * read misses or is read ahead: this is where read-ahead (kernel/vm/
 * readahead.ts) shows, and the bench prints the mount's read-ahead counters
 * and its demand hit ratio beside each figure.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatsRecord } from '../daemon/control/stats-record.js';
import { fio, run, startMemFs, WORKLOADS } from './fuse-floor.js';
import { startMachpager } from './mount.js';
import { dropOsCaches } from './os-cache.js';
import { runBenchProgram } from './program.js';
import { printTable, type BenchRow, type Print } from './table.js';

const MACHPAGER = fileURLToPath(new URL('../daemon/cli/main.js', import.meta.url));

export interface ColdReadsOptions {
  print?: Print;
  quick?: boolean;
}

const READS = WORKLOADS.filter((w) => w.key === 'seqread' || w.key === 'randread1');

async function statsOf(mnt: string): Promise<StatsRecord> {
  return JSON.parse(await run(process.execPath, [MACHPAGER, 'stats', '--json', mnt], 30_000)) as StatsRecord;
}

/** Lay out fio's file (floor.dat) in `dir`, whole: fio then reads it as it is, with no layout of its own. */
async function layOut(dir: string, sizeMiB: number): Promise<void> {
  await run('dd', ['if=/dev/urandom', `of=${path.join(dir, 'floor.dat')}`, 'bs=1M', `count=${sizeMiB}`, 'conv=fsync', 'status=none'], 120_000);
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

export async function benchColdReads(options: ColdReadsOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick ?? false;
  const runtimeSec = quick ? 1 : 5;
  const sizeMiB = quick ? 16 : 64;
  const cache = `${sizeMiB / 8}M`;
  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-cold-'));
  const stops: (() => Promise<void>)[] = [];
  const rows: BenchRow[] = [];
  try {
    const floorMnt = path.join(work, 'floor');
    const mnt = path.join(work, 'mnt');
    for (const d of [floorMnt, mnt]) await mkdir(d);

    const stopFloor = await startMemFs(floorMnt, { directIo: true, fsname: 'machpager-floor', subtype: 'memfs' });
    stops.push(stopFloor);
    await layOut(floorMnt, sizeMiB);
    const floor = new Map<string, number>();
    for (const w of READS) floor.set(w.key, await fio(floorMnt, w, sizeMiB, runtimeSec));
    await stopFloor();
    stops.pop();

    // Lay the file out once; each read workload then starts from a fresh mount, its cache empty.
    const store = `sqlite:${path.join(work, 'fs.db')}`;
    let stop = await startMachpager(store, mnt, cache);
    stops.push(stop);
    await layOut(mnt, sizeMiB);
    await stop();
    stops.pop();
    const dropped = dropOsCaches();
    for (const w of READS) {
      dropOsCaches();
      stop = await startMachpager(store, mnt, cache);
      stops.push(stop);
      const value = await fio(mnt, w, sizeMiB, runtimeSec);
      const s = await statsOf(mnt);
      await stop();
      stops.pop();
      const of = floor.get(w.key) ?? 0;
      rows.push({
        name: `cold reads, cache ${cache}: ${w.label}`,
        value,
        unit: w.measure,
        detail:
          `${of > 0 ? (value / of).toFixed(2) : 'n/a'}x floor (${of.toFixed(w.measure === 'IOPS' ? 0 : 1)} ${w.measure}); ` +
          `demand hits ${percent(s.hits, s.lookups)}, read ahead ${s.readahead_pages} pages (${percent(s.readahead_hits, s.readahead_pages)} used), ` +
          `${s.data_requests} data_requests; ${sizeMiB} MiB file, ${runtimeSec} s, ${dropped ? 'OS cache dropped' : 'OS cache not dropped (not root)'}`,
      });
    }
    printTable('cold reads: fio through machpager with a cache an eighth of the file vs the bare FUSE floor', rows, print);
    return rows;
  } finally {
    for (const s of stops.reverse()) await s().catch((err: unknown) => print(`bench: stopping a mount: ${String(err)}`));
    await rm(work, { recursive: true, force: true });
  }
}

runBenchProgram(import.meta.url, benchColdReads);
