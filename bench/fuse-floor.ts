/**
 * The FUSE floor: fio on the bare in-memory filesystem (bench/fuse-memfs.ts,
 * "JS-mem" in the performance notes: FUSE + libfuse + N-API + the event
 * loop, no cache, no store) and, side by side in the same run, on a plain
 * directory of the backing disk. Later benches print their figures as
 * ratios to these rows.
 *
 * Workloads (fio, psync engine, time-based, one file):
 *   sequential write 128 KiB, sequential read 128 KiB,
 *   random read 4 KiB with 1 job and with 4 jobs.
 * The FUSE mount uses direct_io by default, so that every read reaches the
 * daemon (the kernel's page cache would otherwise answer re-reads); the disk
 * runs warm (Linux page cache), as in the notes.
 *
 * Call it from bench/run.ts (after `npm run build`; it spawns
 * dist/bench/fuse-memfs.js, and needs fio, /dev/fuse and the FUSE binding):
 *
 *     import { benchFuseFloor } from './fuse-floor.js';
 *     { name: 'fuse-floor', run: (print, quick) => benchFuseFloor({ print, quick }) }
 *
 * or on its own: `node dist/bench/fuse-floor.js [--quick]`.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FuseMountOptions } from '../daemon/fs/fuse/options.js';
import { findMount, fusermount } from '../daemon/fs/fuse/mount-table.js';
import { printTable, type BenchRow, type Print } from './table.js';
import { runBenchProgram } from './program.js';

export interface FuseFloorOptions {
  print?: Print;
  /** Short runs on a small file (a smoke run). */
  quick?: boolean;
  /** Seconds per fio job. Default 5 (quick: 1). */
  runtimeSec?: number;
  /** File size in MiB. Default 64 (quick: 16). */
  sizeMiB?: number;
  /** The plain directory to compare with. Default: a fresh directory under os.tmpdir(). */
  diskDir?: string;
  /** Mount the in-memory filesystem with direct_io. Default true. */
  directIo?: boolean;
}

export interface Workload {
  readonly key: string;
  readonly label: string;
  readonly rw: 'read' | 'write' | 'randread';
  readonly bs: string;
  readonly jobs: number;
  /** What is reported: bandwidth in MB/s or IOPS. */
  readonly measure: 'MB/s' | 'IOPS';
}

// Writes first: the sequential write lays the file out for the reads.
export const WORKLOADS: readonly Workload[] = [
  { key: 'seqwrite', label: 'sequential write 128 KiB', rw: 'write', bs: '128k', jobs: 1, measure: 'MB/s' },
  { key: 'seqread', label: 'sequential read 128 KiB', rw: 'read', bs: '128k', jobs: 1, measure: 'MB/s' },
  { key: 'randread1', label: 'random read 4 KiB, 1 job', rw: 'randread', bs: '4k', jobs: 1, measure: 'IOPS' },
  { key: 'randread4', label: 'random read 4 KiB, 4 jobs', rw: 'randread', bs: '4k', jobs: 4, measure: 'IOPS' },
];

const FIXTURE = fileURLToPath(new URL('./fuse-memfs.js', import.meta.url));

export function run(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

interface FioSide {
  readonly bw_bytes: number;
  readonly iops: number;
}

interface FioOutput {
  readonly jobs: readonly { readonly read: FioSide; readonly write: FioSide }[];
}

/** Run one workload in `dir`; returns MB/s or IOPS. */
export async function fio(dir: string, w: Workload, sizeMiB: number, runtimeSec: number): Promise<number> {
  const args = [
    `--name=${w.key}`, `--directory=${dir}`, '--filename=floor.dat', `--size=${sizeMiB}m`,
    `--rw=${w.rw}`, `--bs=${w.bs}`, `--numjobs=${w.jobs}`, '--ioengine=psync', '--invalidate=0',
    '--time_based', `--runtime=${runtimeSec}`, '--group_reporting', '--output-format=json',
  ];
  const out = JSON.parse(await run('fio', args, (runtimeSec + 60) * 1000)) as FioOutput;
  const job = out.jobs[0];
  if (!job) throw new Error(`fio ${w.key}: no job in its output`);
  const side = w.rw === 'write' ? job.write : job.read;
  return w.measure === 'MB/s' ? side.bw_bytes / 1e6 : side.iops;
}

/** Start the fixture on `mountpoint`; resolves with a stop function once it is mounted. */
export function startMemFs(mountpoint: string, options: FuseMountOptions): Promise<() => Promise<void>> {
  return startFuseFixture(FIXTURE, [mountpoint, JSON.stringify(options)], mountpoint, 'the in-memory filesystem');
}

/**
 * Run a bench FUSE program (`node SCRIPT ...args`) that prints
 * {"type":"ready"} once it has mounted `mountpoint`, as fuse-memfs.js and
 * fuse-passthrough.js do; resolves with a stop function (SIGTERM, then
 * fusermount if the mount is still there).
 */
export async function startFuseFixture(script: string, args: readonly string[], mountpoint: string, what: string): Promise<() => Promise<void>> {
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build`);
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    for (let i = 0; i < 3 && (await findMount(mountpoint)); i++) await fusermount(mountpoint, { lazy: i > 0 }).catch(() => undefined);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} did not mount within 15 s`)), 15_000);
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const event = JSON.parse(line) as { type?: string; message?: string };
        if (event.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (event.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${what} failed to mount: ${event.message ?? ''}`));
        }
      });
      lines.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`${what} exited before it mounted`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}

/**
 * Measure the FUSE floor and the disk side by side; print a table; return
 * one row per workload and target (name "FUSE memfs: ..." / "disk: ...",
 * the FUSE rows' detail giving the ratio to the disk).
 */
export async function benchFuseFloor(options: FuseFloorOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick ?? false;
  const runtimeSec = options.runtimeSec ?? (quick ? 1 : 5);
  const sizeMiB = options.sizeMiB ?? (quick ? 16 : 64);
  const directIo = options.directIo ?? true;
  await run('fio', ['--version'], 10_000).catch((err: unknown) => {
    throw new Error('fio is not installed (scripts/setup installs it)', { cause: err });
  });

  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-fuse-floor-'));
  const mnt = path.join(work, 'mnt');
  const disk = options.diskDir ?? path.join(work, 'disk');
  await mkdir(mnt);
  await mkdir(disk, { recursive: true });
  const results = new Map<string, { fuse: number; disk: number }>();
  let stop: (() => Promise<void>) | undefined;
  try {
    stop = await startMemFs(mnt, { directIo, fsname: 'machpager-floor', subtype: 'memfs' });
    for (const w of WORKLOADS) results.set(w.key, { fuse: await fio(mnt, w, sizeMiB, runtimeSec), disk: 0 });
    await stop();
    stop = undefined;
    for (const w of WORKLOADS) {
      const r = results.get(w.key);
      if (r) r.disk = await fio(disk, w, sizeMiB, runtimeSec);
    }
  } finally {
    if (stop) await stop();
    if (!(await findMount(mnt))) await rm(work, { recursive: true, force: true });
    if (options.diskDir !== undefined) await rm(path.join(disk, 'floor.dat'), { force: true });
  }

  const rows: BenchRow[] = [];
  const conditions = `fio psync, ${sizeMiB} MiB file, ${runtimeSec} s`;
  for (const w of WORKLOADS) {
    const r = results.get(w.key);
    if (!r) continue;
    const ratio = r.disk > 0 ? (r.fuse / r.disk).toFixed(3) : 'n/a';
    rows.push({ name: `FUSE memfs: ${w.label}`, value: r.fuse, unit: w.measure, detail: `${directIo ? 'direct_io, ' : ''}big_writes; ${ratio}x disk; ${conditions}` });
  }
  for (const w of WORKLOADS) {
    const r = results.get(w.key);
    if (r) rows.push({ name: `disk: ${w.label}`, value: r.disk, unit: w.measure, detail: `warm page cache; ${conditions}` });
  }
  printTable('FUSE floor: the bare in-memory filesystem vs the backing disk', rows, print);
  return rows;
}

runBenchProgram(import.meta.url, benchFuseFloor);
