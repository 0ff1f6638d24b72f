/**
 * Real work, side by side (issue 12): each workload runs on
 * - the disk: a plain directory;
 * - the persisting floor: the bare passthrough (bench/fuse-passthrough.ts)
 *   to a directory on the same disk, direct_io, big_writes, fsync passed
 *   through;
 * - the in-memory floor: the bare FUSE memfs (bench/fuse-memfs.ts);
 * - machpager (SQLite store, direct mode) with the default cache (64M);
 * - machpager with a cache an eighth of the workload's data (at least 1M);
 * - machpager with the postgres: store and the default cache, when
 *   PostgreSQL is installed: a throwaway cluster on a Unix socket with fsync
 *   off (the server's best case), a new database per measurement.
 * Interleaved (every workload on every target, then again), medians of 3
 * (1 with --quick); each measurement on a fresh directory, mount and store.
 * Printed as time or throughput with ratios against the persisting floor
 * (pt) and the in-memory floor (mem), then the issue's aims against the
 * persisting floor and by how much each is missed.
 *
 * Needs root for the cold reads (the OS cache is dropped), and sqlite3,
 * git, tar, cp, fio. On its own: `node dist/bench/workloads.js [--quick]`.
 * MACHPAGER_BENCH_ONLY=KEY[,KEY...] runs only the workloads with those
 * measures (sqlite, tar, rm, git, fsync, cp, seqread, randread, stream).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startMemFs } from './fuse-floor.js';
import { startPassthrough } from './fuse-passthrough.js';
import { startMachpager } from './mount.js';
import { dropOsCaches } from './os-cache.js';
import { table } from '../daemon/cli/format.js';
import { KiB, MiB, formatValue, type BenchRow, type Print } from './table.js';
import { runBenchProgram } from './program.js';
import { postgresBinDir, startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

/**
 * `count` times: write the next 4 KiB of `file` and fsync it. Synchronous
 * calls, so the filesystem serving `file` must be another process.
 */
export function writeFsyncs(file: string, count: number): void {
  const block = Buffer.alloc(4 * KiB, 0x5a);
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < count; i++) {
      fs.writeSync(fd, block, 0, block.length, i * block.length);
      fs.fsyncSync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface WorkloadsBenchOptions {
  print?: Print;
  quick?: boolean;
  /** Runs per workload and target (median printed). Default 3 (quick: 1). */
  runs?: number;
}

type TargetKey = 'disk' | 'pt' | 'mem' | 'mpDefault' | 'mpSmall' | 'mpPostgres';

const TARGETS: readonly { key: TargetKey; label: string }[] = [
  { key: 'disk', label: 'disk' },
  { key: 'pt', label: 'persisting floor' },
  { key: 'mem', label: 'in-memory floor' },
  { key: 'mpDefault', label: 'machpager' },
  { key: 'mpSmall', label: 'machpager small' },
  { key: 'mpPostgres', label: 'machpager postgres' },
];

/** The cluster the postgres target runs against, while benchWorkloads runs (none: the target is left out). */
let cluster: PostgresCluster | undefined;

const DEFAULT_CACHE = '64M';

/** Where a workload runs, and how to make it cold (drop the OS cache; remount machpager). */
interface Place {
  readonly dir: string;
  cold(): Promise<void>;
}

/** One measured figure of a job. */
interface Measure {
  readonly key: string;
  readonly label: string;
  readonly unit: 's' | 'MB/s' | 'IOPS';
  /** The issue's aims against the persisting floor, for the default and the small cache: at most (time) or at least (throughput) this ratio. */
  readonly aim: { readonly default: number; readonly small: number };
}

/** One workload: what it measures and how; run() returns one figure per measure. */
interface Job {
  readonly measures: readonly Measure[];
  /** The data it moves, for the small cache (an eighth of it). */
  readonly dataBytes: number;
  /** Overrides the eighth: the small cache in MiB. */
  readonly smallCacheMiB?: number;
  run(place: Place): Promise<Record<string, number>>;
}

function command(file: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * MiB, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** Seconds that `work` takes. */
async function seconds(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
}

interface FioSide {
  readonly bw_bytes: number;
  readonly iops: number;
}

/** fio, psync, one job, on a file that exists; returns the read or write side. */
async function fio(dir: string, file: string, args: readonly string[], side: 'read' | 'write'): Promise<FioSide> {
  const out = JSON.parse(await command('fio', [
    '--name=bench', `--directory=${dir}`, `--filename=${file}`, '--ioengine=psync', '--invalidate=0',
    '--numjobs=1', '--output-format=json', ...args,
  ])) as { jobs: readonly { read: FioSide; write: FioSide }[] };
  const job = out.jobs[0];
  if (!job) throw new Error('fio: no job in its output');
  return job[side];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const META = { default: 1.25, small: 1.5 };

/** A small git repository with a branch: 300 files in 10 directories, then 60 changed and 20 added on "topic". */
async function prepareGit(gitSrc: string): Promise<void> {
  await mkdir(gitSrc);
  const git = (...args: string[]) => command('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'init.defaultBranch=main', ...args], { cwd: gitSrc });
  await git('init', '-q');
  const text = (i: number, salt: string): string => `// file ${i} ${salt}\n${`export const value${i} = ${i}; // ${salt}\n`.repeat(40 + (i % 7) * 40)}`;
  for (let i = 0; i < 300; i++) {
    await mkdir(path.join(gitSrc, `dir${i % 10}`), { recursive: true });
    await writeFile(path.join(gitSrc, `dir${i % 10}`, `file${i}.ts`), text(i, 'main'));
  }
  await git('add', '-A');
  await git('commit', '-q', '-m', 'main');
  await git('checkout', '-q', '-b', 'topic');
  for (let i = 0; i < 80; i++) await writeFile(path.join(gitSrc, `dir${i % 10}`, `file${i < 60 ? i : 300 + i}.ts`), text(i, 'topic'));
  await git('add', '-A');
  await git('commit', '-q', '-m', 'topic');
  await git('checkout', '-q', 'main');
}

/** The workloads, with their inputs prepared under `work` (outside every target); `only`: just the workloads with these measures. */
async function makeJobs(work: string, quick: boolean, only: ReadonlySet<string> | undefined): Promise<Job[]> {
  const wanted = (...keys: string[]): boolean => only === undefined || keys.some((k) => only.has(k));
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const nodeModules = await realpath(path.join(repo, 'node_modules'));

  // sqlite3: each INSERT its own transaction (autocommit), default journal mode.
  const inserts = 400;
  const sql = path.join(work, 'inserts.sql');
  const statements = ['CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, body TEXT);'];
  for (let i = 0; i < inserts; i++) statements.push(`INSERT INTO t(name, body) VALUES ('row ${i}', '${'x'.repeat(200)}');`);
  await writeFile(sql, statements.join('\n') + '\n');

  // tar x of node_modules/typescript, from a tarball on the disk.
  const tarball = path.join(work, 'typescript.tar');
  if (wanted('tar', 'rm')) await command('tar', ['cf', tarball, '-C', nodeModules, 'typescript']);
  const tarBytes = wanted('tar', 'rm') ? fs.statSync(tarball).size : 0;

  // A small git repository with a branch: 300 files in 10 directories, then 60 changed and 20 added on "topic".
  const gitSrc = path.join(work, 'git-src');
  if (wanted('git')) await prepareGit(gitSrc);

  // cp -a of a source tree: this repo's node_modules (~4,900 entries, ~130 MB); quick: node_modules/typescript.
  const cpSource = quick ? path.join(nodeModules, 'typescript') : nodeModules;
  const cpBytes = wanted('cp') ? Number((await command('du', ['-sb', cpSource])).split('\t')[0]) : 0;

  const readMiB = quick ? 64 : 256;
  const randomSec = quick ? 2 : 5;
  const streamSmallMiB = quick ? 4 : 8;
  const fsyncs = 200;

  // Data for the reads and the streaming write: random (a store may treat zero pages apart), from the OS cache.
  const random = path.join(work, 'random.dat');
  const randomMiB = Math.max(readMiB, streamSmallMiB * 10);
  if (wanted('seqread', 'randread', 'stream')) {
    const out = fs.openSync(random, 'w');
    try {
      for (let i = 0; i < randomMiB; i++) fs.writeSync(out, randomBytes(MiB));
    } finally {
      fs.closeSync(out);
    }
  }

  const jobs: Job[] = [
    {
      measures: [{ key: 'sqlite', label: `sqlite3: ${inserts} inserts, each its own transaction`, unit: 's', aim: META }],
      dataBytes: 1 * MiB,
      run: async ({ dir }) => ({ sqlite: await seconds(() => command('sqlite3', [path.join(dir, 'bench.db'), `.read ${sql}`])) }),
    },
    {
      measures: [
        { key: 'tar', label: `tar x of node_modules/typescript (${formatValue(tarBytes / 1e6)} MB)`, unit: 's', aim: META },
        { key: 'rm', label: 'rm -rf of that tree', unit: 's', aim: META },
      ],
      dataBytes: tarBytes,
      run: async ({ dir }) => ({
        tar: await seconds(() => command('tar', ['xf', tarball, '-C', dir])),
        rm: await seconds(() => command('rm', ['-rf', path.join(dir, 'typescript')])),
      }),
    },
    {
      measures: [{ key: 'git', label: 'git clone of a local repo (300 files) + checkout of a branch', unit: 's', aim: META }],
      dataBytes: 4 * MiB,
      run: async ({ dir }) => {
        const clone = path.join(dir, 'clone');
        return {
          git: await seconds(async () => {
            await command('git', ['clone', '-q', '--no-hardlinks', gitSrc, clone]);
            await command('git', ['-C', clone, 'checkout', '-q', 'topic']);
          }),
        };
      },
    },
    {
      measures: [{ key: 'fsync', label: `${fsyncs} x (write 4 KiB, fsync)`, unit: 's', aim: { default: 1.2, small: 1.2 } }],
      dataBytes: fsyncs * 4 * KiB,
      // Synchronous calls from this process: the filesystem serving `dir` is another process.
      run: ({ dir }) => {
        const t0 = performance.now();
        writeFsyncs(path.join(dir, 'fsync.dat'), fsyncs);
        return Promise.resolve({ fsync: (performance.now() - t0) / 1000 });
      },
    },
    {
      measures: [{ key: 'cp', label: `cp -a of a source tree (${formatValue(cpBytes / 1e6)} MB, ${quick ? 'node_modules/typescript' : 'node_modules'})`, unit: 's', aim: META }],
      dataBytes: cpBytes,
      run: async ({ dir }) => ({ cp: await seconds(() => command('cp', ['-a', cpSource, path.join(dir, 'tree')])) }),
    },
    {
      measures: [
        { key: 'seqread', label: `cold sequential read of ${readMiB} MiB (dd, 128 KiB reads)`, unit: 'MB/s', aim: { default: 1.0, small: 1.0 } },
        { key: 'randread', label: `cold random read 4 KiB, 1 job, ${randomSec} s`, unit: 'IOPS', aim: { default: 0.7, small: 0.7 } },
      ],
      dataBytes: readMiB * MiB,
      run: async (place) => {
        const file = path.join(place.dir, 'read.dat');
        await command('dd', [`if=${random}`, `of=${file}`, 'bs=1M', `count=${readMiB}`, 'conv=fsync', 'status=none']);
        await place.cold();
        const seq = await seconds(() => command('dd', [`if=${file}`, 'of=/dev/null', 'bs=128k', 'status=none']));
        await place.cold();
        const rnd = await fio(place.dir, 'read.dat', [`--size=${readMiB}m`, '--rw=randread', '--bs=4k', '--time_based', `--runtime=${randomSec}`], 'read');
        return { seqread: (readMiB * MiB) / seq / 1e6, randread: rnd.iops };
      },
    },
    {
      measures: [{ key: 'stream', label: `streaming write of ${streamSmallMiB * 10} MiB (10x the small cache; dd 128 KiB, fsync at end)`, unit: 'MB/s', aim: { default: 0.7, small: 0.7 } }],
      dataBytes: streamSmallMiB * 10 * MiB,
      smallCacheMiB: streamSmallMiB,
      // dd, timed here: the figure includes the fsync that puts the data on the store.
      run: async ({ dir }) => {
        const t = await seconds(() => command('dd', [`if=${random}`, `of=${path.join(dir, 'stream.dat')}`, 'bs=128k', `count=${streamSmallMiB * 10 * 8}`, 'conv=fsync', 'status=none']));
        return { stream: (streamSmallMiB * 10 * MiB) / t / 1e6 };
      },
    },
  ];
  const known = new Set(jobs.flatMap((job) => job.measures.map((m) => m.key)));
  const unknown = [...(only ?? [])].filter((k) => !known.has(k));
  if (unknown.length > 0) throw new Error(`MACHPAGER_BENCH_ONLY: no workload measures ${unknown.join(', ')} (have: ${[...known].join(', ')})`);
  return jobs.filter((job) => job.measures.some((m) => wanted(m.key)));
}

/** MACHPAGER_BENCH_ONLY: the measure keys to run (every workload that has one of them); undefined: all. */
export function onlyMeasures(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> | undefined {
  const value = env.MACHPAGER_BENCH_ONLY?.trim();
  if (!value) return undefined;
  return new Set(value.split(',').map((k) => k.trim()).filter((k) => k !== ''));
}

function dropForCold(): Promise<void> {
  dropOsCaches();
  return Promise.resolve();
}

function smallCache(job: Job): string {
  return `${job.smallCacheMiB ?? Math.max(1, Math.round(job.dataBytes / MiB / 8))}M`;
}

/** Run `job` once on `target`: a fresh directory (and mount, and store) under `work`, removed afterwards. */
async function runOn(job: Job, target: TargetKey, work: string, seq: number): Promise<Record<string, number>> {
  const base = path.join(work, `${target}-${seq}`);
  await mkdir(base);
  const stops: (() => Promise<void>)[] = [];
  try {
    if (target === 'disk') {
      const dir = path.join(base, 'dir');
      await mkdir(dir);
      return await job.run({ dir, cold: dropForCold });
    }
    const mnt = path.join(base, 'mnt');
    await mkdir(mnt);
    if (target === 'pt' || target === 'mem') {
      let stop: () => Promise<void>;
      if (target === 'pt') {
        const backing = path.join(base, 'backing');
        await mkdir(backing);
        stop = await startPassthrough(mnt, backing, { directIo: true });
      } else {
        stop = await startMemFs(mnt, { directIo: true, fsname: 'machpager-floor', subtype: 'memfs' });
      }
      stops.push(stop);
      return await job.run({ dir: mnt, cold: dropForCold });
    }
    let store = `sqlite:${path.join(base, 'fs.db')}`;
    if (target === 'mpPostgres') {
      if (!cluster) throw new Error('no PostgreSQL cluster');
      await cluster.createDatabase(`w${seq}`);
      store = cluster.uri(`w${seq}`);
    }
    const cache = target === 'mpSmall' ? smallCache(job) : DEFAULT_CACHE;
    let stop = await startMachpager(store, mnt, cache);
    stops.push(stop);
    const cold = async (): Promise<void> => {
      stops.pop();
      await stop();
      dropOsCaches();
      stop = await startMachpager(store, mnt, cache);
      stops.push(stop);
    };
    return await job.run({ dir: mnt, cold });
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(base, { recursive: true, force: true });
  }
}

/** "aim ≤1.25x: 1.67x, missed by 0.42x" / "aim ≥1.00x: 1.10x, met". */
export function aimVerdict(ratio: number, aim: number, lowerIsBetter: boolean): string {
  const missed = lowerIsBetter ? ratio - aim : aim - ratio;
  return `aim ${lowerIsBetter ? '≤' : '≥'}${aim.toFixed(2)}x: ${ratio.toFixed(2)}x, ${missed > 0 ? `missed by ${missed.toFixed(2)}x` : 'met'}`;
}

function show(value: number, unit: Measure['unit']): string {
  if (unit === 's') return `${value < 0.1 ? value.toFixed(3) : value.toFixed(2)} s`;
  if (unit === 'IOPS') return value >= 1000 ? `${(value / 1000).toFixed(1)}k IOPS` : `${value.toFixed(0)} IOPS`;
  return `${formatValue(value)} MB/s`;
}

export async function benchWorkloads(options: WorkloadsBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick ?? false;
  const runs = options.runs ?? (quick ? 1 : 3);
  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-workloads-'));
  if (postgresBinDir() === undefined) print('workloads: the postgres: store left out (PostgreSQL is not installed: scripts/setup)');
  else cluster = await startPostgresCluster('bench-workloads');
  const targets = TARGETS.filter((t) => t.key !== 'mpPostgres' || cluster);
  try {
    const jobs = await makeJobs(work, quick, onlyMeasures());
    const figures = new Map<string, number[]>(); // `${measure}/${target}` → one figure per run
    let seq = 0;
    for (let r = 0; r < runs; r++) {
      for (const job of jobs) {
        for (const { key: target } of targets) {
          const got = await runOn(job, target, work, seq++);
          for (const m of job.measures) {
            const v = got[m.key];
            if (v === undefined) throw new Error(`workload ${m.key} gave no figure on ${target}`);
            const k = `${m.key}/${target}`;
            figures.set(k, [...(figures.get(k) ?? []), v]);
          }
        }
      }
    }
    const dropped = dropOsCaches();
    const fig = (m: Measure, t: TargetKey): number => median(figures.get(`${m.key}/${t}`) ?? [NaN]);
    // Time over time (above 1: slower), throughput over throughput (below 1: slower), as the issue writes them.
    const ratio = (m: Measure, t: TargetKey, of: TargetKey): number => fig(m, t) / fig(m, of);

    const rows: BenchRow[] = [];
    const grid: string[][] = [];
    const aims: string[] = [];
    for (const job of jobs) {
      for (const m of job.measures) {
        const cell = (t: TargetKey): string => {
          const v = fig(m, t);
          const parts = t === 'pt' || t === 'disk' ? [] : [`${ratio(m, t, 'pt').toFixed(2)}x pt`];
          if (t !== 'mem' && t !== 'disk') parts.push(`${ratio(m, t, 'mem').toFixed(2)}x mem`);
          return `${show(v, m.unit)}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
        };
        const postgres = cluster ? [`${show(fig(m, 'mpPostgres'), m.unit)} (${ratio(m, 'mpPostgres', 'mpDefault').toFixed(2)}x sqlite)`] : [];
        grid.push([m.label, cell('disk'), cell('pt'), cell('mem'), cell('mpDefault'), `${cell('mpSmall')} @${smallCache(job)}`, ...postgres]);
        for (const t of targets) {
          rows.push({ name: `workloads: ${m.label}: ${t.label}`, value: fig(m, t.key), unit: m.unit, detail: `${ratio(m, t.key, 'pt').toFixed(2)}x pt, ${ratio(m, t.key, 'mem').toFixed(2)}x mem, ${ratio(m, t.key, 'disk').toFixed(2)}x disk` });
        }
        const lower = m.unit === 's';
        const fromDisk = (t: TargetKey): string => (lower ? '' : `; ${ratio(m, t, 'disk').toFixed(2)}x the disk`);
        aims.push(`  ${m.label}, cache ${DEFAULT_CACHE}: ${aimVerdict(ratio(m, 'mpDefault', 'pt'), m.aim.default, lower)}${fromDisk('mpDefault')}`);
        aims.push(`  ${m.label}, cache ${smallCache(job)}: ${aimVerdict(ratio(m, 'mpSmall', 'pt'), m.aim.small, lower)}${fromDisk('mpSmall')}`);
      }
    }
    print('');
    print(`workloads: real work on the disk, the two floors and machpager (SQLite store, direct mode; postgres: store beside it when installed); medians of ${runs}, interleaved; ${dropped ? 'OS cache dropped for cold reads' : 'OS cache NOT dropped (not root): cold reads are warm'}`);
    print('ratios: time over the floor\'s time, throughput over the floor\'s throughput (pt: persisting floor, mem: in-memory floor)');
    const header = ['workload', 'disk', 'persisting floor (pt)', 'in-memory floor (mem)', `machpager ${DEFAULT_CACHE}`, 'machpager small cache'];
    if (cluster) header.push(`machpager postgres: ${DEFAULT_CACHE}`);
    for (const line of table(header, grid, ['left', ...header.slice(1).map(() => 'right' as const)], { gap: 2, rule: true })) print(line);
    print('');
    print('aims (issue 12, machpager against the persisting floor):');
    for (const a of aims) print(a);
    return rows;
  } finally {
    await cluster?.destroy();
    cluster = undefined;
    await rm(work, { recursive: true, force: true });
  }
}

runBenchProgram(import.meta.url, benchWorkloads);
