/**
 * fio through a real machpager mount, side by side in one run with the
 * backing disk and the bare in-memory FUSE filesystem (the floor any Node
 * FUSE filesystem pays), printed as ratios. machpager runs with the
 * embedded SQLite store, direct_io, in two conditions:
 * - warm cache: a page cache larger than the file, read once before (every
 *   read a cache hit: the simulation's own cost over the floor);
 * - cold store: a fresh mount whose page cache is an eighth of the file,
 *   with the OS cache dropped when we may: reads keep faulting to the pager
 *   and the store.
 * The aim on cache hits is at least 0.9x the floor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findMount, fusermount } from '../daemon/fs/fuse/mount-table.js';
import { fio, run, startMemFs, WORKLOADS, type Workload } from './fuse-floor.js';
import { printTable, type BenchRow, type Print } from './table.js';
import { dropOsCaches } from './os-cache.js';
import { runBenchProgram } from './program.js';

const MACHPAGER = fileURLToPath(new URL('../daemon/cli/main.js', import.meta.url));

export interface MountBenchOptions {
  print?: Print;
  quick?: boolean;
}

/** A stop function for a mount the bench made, and its daemon's pid. */
export type MachpagerStop = (() => Promise<void>) & { readonly pid: number };

/**
 * `machpager mount STORE MNT --cache-size SIZE [extra...]` in the foreground
 * of a child (`node [nodeArgs...] main.js`, e.g. --cpu-prof); resolves once
 * mounted.
 */
export async function startMachpager(store: string, mnt: string, cacheSize: string, extra: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<MachpagerStop> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, MACHPAGER, 'mount', store, mnt, '--cache-size', cacheSize, ...extra], { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await findMount(mnt))) {
    if (child.exitCode !== null) throw new Error('machpager exited before mounting');
    if (Date.now() > deadline) throw new Error('machpager did not mount within 30 s');
    await sleep(50);
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    if (await findMount(mnt)) await fusermount(mnt, { lazy: true });
  };
  return Object.assign(stop, { pid: child.pid ?? 0 });
}

export async function benchMount(options: MountBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick ?? false;
  const runtimeSec = quick ? 1 : 5;
  const sizeMiB = quick ? 16 : 64;
  const cache = `${sizeMiB * 2}M`;
  const coldCache = `${sizeMiB / 8}M`;
  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-mount-'));
  const results = new Map<string, { disk: number; floor: number; warm: number; cold: number }>();
  const stops: (() => Promise<void>)[] = [];
  try {
    const disk = path.join(work, 'disk');
    const floorMnt = path.join(work, 'floor');
    const mpMnt = path.join(work, 'mnt');
    for (const d of [disk, floorMnt, mpMnt]) await mkdir(d);
    for (const w of WORKLOADS) results.set(w.key, { disk: await fio(disk, w, sizeMiB, runtimeSec), floor: 0, warm: 0, cold: 0 });

    const stopFloor = await startMemFs(floorMnt, { directIo: true, fsname: 'machpager-floor', subtype: 'memfs' });
    stops.push(stopFloor);
    for (const w of WORKLOADS) (results.get(w.key) as { floor: number }).floor = await fio(floorMnt, w, sizeMiB, runtimeSec);
    await stopFloor();
    stops.pop();

    const store = `sqlite:${path.join(work, 'fs.db')}`;
    // Warm: writes lay the file out; a first read fills the cache; then every read is a hit.
    let stop = await startMachpager(store, mpMnt, cache);
    stops.push(stop);
    const result = (w: Workload) => results.get(w.key) as { warm: number; cold: number };
    result(WORKLOADS[0]).warm = await fio(mpMnt, WORKLOADS[0], sizeMiB, runtimeSec);
    await run('dd', [`if=${path.join(mpMnt, 'floor.dat')}`, 'of=/dev/null', 'bs=1M', 'status=none'], 60_000);
    for (const w of WORKLOADS.slice(1)) result(w).warm = await fio(mpMnt, w, sizeMiB, runtimeSec);
    await stop();
    stops.pop();
    // Cold: a fresh mount of the same store for each read workload.
    const dropped = dropOsCaches();
    for (const w of WORKLOADS.slice(1)) {
      dropOsCaches();
      stop = await startMachpager(store, mpMnt, coldCache);
      stops.push(stop);
      result(w).cold = await fio(mpMnt, w, sizeMiB, runtimeSec);
      await stop();
      stops.pop();
    }
    const rows: BenchRow[] = [];
    const cond = `fio psync, ${sizeMiB} MiB file, ${runtimeSec} s`;
    for (const w of WORKLOADS) {
      const r = results.get(w.key) as { disk: number; floor: number; warm: number; cold: number };
      const ratio = (v: number, of: number) => (of > 0 ? (v / of).toFixed(2) : 'n/a');
      rows.push({ name: `machpager warm cache: ${w.label}`, value: r.warm, unit: w.measure, detail: `${ratio(r.warm, r.floor)}x floor, ${ratio(r.warm, r.disk)}x disk; ${cond}, cache ${cache}` });
      if (w.rw !== 'write') {
        rows.push({ name: `machpager cold store: ${w.label}`, value: r.cold, unit: w.measure, detail: `${ratio(r.cold, r.floor)}x floor; fresh mount, cache ${coldCache}, ${dropped ? 'OS cache dropped' : 'OS cache not dropped (not root)'}` });
      }
      rows.push({ name: `floor (bare FUSE memfs): ${w.label}`, value: r.floor, unit: w.measure, detail: `${ratio(r.floor, r.disk)}x disk` });
      rows.push({ name: `disk: ${w.label}`, value: r.disk, unit: w.measure, detail: 'warm page cache' });
    }
    printTable('mount: fio through machpager (SQLite store, direct_io) vs the bare FUSE floor vs the disk', rows, print);
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => print(`bench: stopping a mount: ${String(err)}`));
    await rm(work, { recursive: true, force: true });
  }
}

runBenchProgram(import.meta.url, benchMount);
