/**
 * Where the daemon spends its time (issue 12): `node --cpu-prof` on the
 * machpager daemon (SQLite store, direct mode) while one workload runs,
 * then the top self-time functions of its profile:
 * - cold sequential read miss: a file laid out by an earlier mount, the OS
 *   cache dropped, read once 128 KiB at a time through a cache an eighth of it;
 * - create: empty files made (open O_CREAT|O_EXCL, close) in one directory;
 * - fsync: write 4 KiB, fsync, again;
 * - write-back: a streaming write of ten times a small cache, fsync at the end;
 * - tar x: node_modules/typescript unpacked from a tarball on the disk;
 * - rm -rf: that tree removed again (unpacked by an earlier mount).
 * MACHPAGER_BENCH_ONLY=KEY[,KEY...] profiles only those (read, create,
 * fsync, writeback, tar, rm).
 * The profile covers the daemon's whole life; the summary counts only the
 * samples taken while the workload ran (both processes read the same
 * monotonic clock), so start-up (module loading, opening the store) and
 * the stop (sync, unmount) stay out of it; a write-back that the stop's
 * sync does is therefore not counted (the workloads fsync before they end). The .cpuprofile files are kept
 * (their directory is printed) for Chrome DevTools or speedscope.
 *
 * On its own: `node dist/bench/profile.js [--quick]`.
 */
import fs from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './fuse-floor.js';
import { startMachpager } from './mount.js';
import { dropOsCaches } from './os-cache.js';
import type { BenchRow, Print } from './table.js';
import { runBenchProgram } from './program.js';
import { onlyMeasures, writeFsyncs } from './workloads.js';

export interface ProfileBenchOptions {
  print?: Print;
  quick?: boolean;
  /** How many functions to list per workload. Default 12. */
  top?: number;
}

/** The parts of V8's .cpuprofile that the summary reads. */
interface CpuProfile {
  /** Microseconds on the monotonic clock (the one process.hrtime reads, on Linux). */
  readonly startTime: number;
  readonly endTime: number;
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  /** "name file:line", or V8's "(program)", "(garbage collector)", "(idle)". */
  readonly fn: string;
  readonly ms: number;
}

/** Self time per function (summed over its call sites), most first; only samples taken within `window` (µs, the profile's clock) if given. */
export function selfTimes(profile: CpuProfile, window?: { readonly from: number; readonly to: number }): SelfTime[] {
  const names = new Map<number, string>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    names.set(n.id, url === '' ? name : `${name} ${url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')}:${lineNumber + 1}`);
  }
  const us = new Map<string, number>();
  // timeDeltas[i] is the time since the sample before samples[i]; samples[i] is charged the time until the next one.
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.from || at > window.to)) continue;
    const fn = names.get(profile.samples[i] ?? -1) ?? '(unknown)';
    us.set(fn, (us.get(fn) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return [...us].map(([fn, t]) => ({ fn, ms: t / 1000 })).sort((a, b) => b.ms - a.ms);
}

interface ProfiledWorkload {
  /** What MACHPAGER_BENCH_ONLY names it by. */
  readonly key: string;
  readonly name: string;
  readonly cache: string;
  /** Before the profiled mount (with a mount of its own when it needs one). */
  prepare?(store: string, mnt: string): Promise<void>;
  /** On the profiled mount. */
  work(mnt: string): Promise<unknown>;
}

function workloads(quick: boolean, tarball: string): ProfiledWorkload[] {
  const readMiB = quick ? 64 : 256;
  const creates = quick ? 500 : 2000;
  const fsyncs = quick ? 200 : 1000;
  const streamCacheMiB = quick ? 4 : 8;
  return [
    {
      key: 'read',
      name: `cold sequential read miss: ${readMiB} MiB, 128 KiB reads, cache ${readMiB / 8}M`,
      cache: `${readMiB / 8}M`,
      prepare: async (store, mnt) => {
        const stop = await startMachpager(store, mnt, `${readMiB / 8}M`);
        try {
          await run('dd', ['if=/dev/urandom', `of=${path.join(mnt, 'read.dat')}`, 'bs=1M', `count=${readMiB}`, 'conv=fsync', 'status=none'], 600_000);
        } finally {
          await stop();
        }
        dropOsCaches();
      },
      work: (mnt) => run('dd', [`if=${path.join(mnt, 'read.dat')}`, 'of=/dev/null', 'bs=128k', 'status=none'], 600_000),
    },
    {
      key: 'create',
      name: `create: ${creates} empty files in one directory`,
      cache: '64M',
      // Synchronous calls from this process: the daemon serving the mount is another process.
      work: (mnt) => {
        const dir = path.join(mnt, 'files');
        fs.mkdirSync(dir);
        for (let i = 0; i < creates; i++) fs.closeSync(fs.openSync(path.join(dir, `f${i}`), 'wx'));
        return Promise.resolve();
      },
    },
    {
      key: 'fsync',
      name: `fsync: ${fsyncs} x (write 4 KiB, fsync)`,
      cache: '64M',
      work: (mnt) => {
        writeFsyncs(path.join(mnt, 'fsync.dat'), fsyncs);
        return Promise.resolve();
      },
    },
    {
      key: 'writeback',
      name: `write-back: streaming write of ${streamCacheMiB * 10} MiB through a ${streamCacheMiB}M cache, 128 KiB writes, fsync at end`,
      cache: `${streamCacheMiB}M`,
      work: (mnt) => run('dd', ['if=/dev/urandom', `of=${path.join(mnt, 'stream.dat')}`, 'bs=128k', `count=${streamCacheMiB * 10 * 8}`, 'conv=fsync', 'status=none'], 600_000),
    },
    {
      key: 'tar',
      name: 'tar x of node_modules/typescript',
      cache: '64M',
      work: (mnt) => run('tar', ['xf', tarball, '-C', mnt], 600_000),
    },
    {
      key: 'rm',
      name: 'rm -rf of that tree (unpacked by an earlier mount)',
      cache: '64M',
      prepare: async (store, mnt) => {
        const stop = await startMachpager(store, mnt, '64M');
        try {
          await run('tar', ['xf', tarball, '-C', mnt], 600_000);
        } finally {
          await stop();
        }
      },
      work: (mnt) => run('rm', ['-rf', path.join(mnt, 'typescript')], 600_000),
    },
  ];
}

export async function benchProfile(options: ProfileBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick ?? false;
  const top = options.top ?? 12;
  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-profile-'));
  const kept = await mkdtemp(path.join(os.tmpdir(), 'machpager-profiles-'));
  const rows: BenchRow[] = [];
  try {
    print('');
    print(`profile: node --cpu-prof on the daemon (SQLite store, direct mode); self time per function; profiles kept in ${kept}`);
    const nodeModules = fileURLToPath(new URL('../../node_modules', import.meta.url));
    const tarball = path.join(work, 'typescript.tar');
    await run('tar', ['chf', tarball, '-C', nodeModules, 'typescript'], 600_000);
    const only = onlyMeasures();
    for (const [i, w] of workloads(quick, tarball).entries()) {
      if (only && !only.has(w.key)) continue;
      const base = path.join(work, `w${i}`);
      const mnt = path.join(base, 'mnt');
      const profDir = path.join(kept, `w${i}`);
      await mkdir(mnt, { recursive: true });
      const store = `sqlite:${path.join(base, 'fs.db')}`;
      await w.prepare?.(store, mnt);
      const stop = await startMachpager(store, mnt, w.cache, [], ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
      let from: number;
      let to: number;
      try {
        from = Number(process.hrtime.bigint() / 1000n);
        await w.work(mnt);
        to = Number(process.hrtime.bigint() / 1000n);
      } finally {
        await stop();
      }
      const wallMs = (to - from) / 1000;
      const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
      if (file === undefined) throw new Error(`no .cpuprofile in ${profDir}: did the daemon exit cleanly?`);
      const profile = JSON.parse(await readFile(path.join(profDir, file), 'utf8')) as CpuProfile;
      // Only the workload's own window, when the daemon's clock is ours (it is on Linux: both monotonic, in µs); else the whole life.
      const inWindow = from >= profile.startTime && to <= profile.endTime;
      const times = selfTimes(profile, inWindow ? { from, to } : undefined);
      const total = times.reduce((s, t) => s + t.ms, 0);
      const busy = times.filter((t) => t.fn !== '(idle)').reduce((s, t) => s + t.ms, 0);
      print('');
      print(`${w.name}: workload ${(wallMs / 1000).toFixed(2)} s; daemon ${inWindow ? 'during it' : 'over its whole life (start and stop included)'} ${(total / 1000).toFixed(2)} s, on CPU ${(busy / 1000).toFixed(2)} s (${file}, in w${i}/)`);
      print('   self ms  % of CPU  function');
      for (const t of times.filter((x) => x.fn !== '(idle)').slice(0, top)) {
        print(`${t.ms.toFixed(0).padStart(10)}  ${((100 * t.ms) / busy).toFixed(1).padStart(8)}  ${t.fn}`);
      }
      rows.push({ name: `profile: ${w.name}`, value: busy, unit: 'ms on CPU', detail: `top: ${times.find((t) => t.fn !== '(idle)')?.fn ?? 'none'}` });
    }
    return rows;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

runBenchProgram(import.meta.url, benchProfile);
