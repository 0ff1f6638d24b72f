/**
 * The daemon's memory (issue 12): its resident set right after mounting
 * with `--cache-size 2G` (aim: under 150 MB; frames cost memory only from
 * their first use), and after filling the cache: a file the size of the
 * cache written through the mount and read back. --quick fills a 256M
 * cache instead (its own mount); the figure after mounting is still 2G's.
 *
 * RSS and its peak (VmHWM) are read from /proc/PID/status of the daemon
 * (`machpager mount` in the foreground: the child is the daemon).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from './fuse-floor.js';
import { startMachpager, type MachpagerStop } from './mount.js';
import { printTable, type BenchRow, type Print } from './table.js';
import { runBenchProgram } from './program.js';

export interface MemoryBenchOptions {
  print?: Print;
  quick?: boolean;
}

const RSS_AIM_MB = 150;

/** VmRSS and VmHWM of `pid` in MB (10^6 bytes). */
async function residentMB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
    return (Number(m[1]) * 1024) / 1e6;
  };
  return { rss: kB('VmRSS'), peak: kB('VmHWM') };
}

/** Write `mib` MiB through the mount (fsync at the end) and read it back. */
async function fill(mnt: string, mib: number): Promise<void> {
  const file = path.join(mnt, 'fill.dat');
  await run('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fsync', 'status=none'], 1_800_000);
  await run('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none'], 1_800_000);
}

export async function benchMemory(options: MemoryBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const quick = options.quick ?? false;
  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-memory-'));
  const mnt = path.join(work, 'mnt');
  await mkdir(mnt);
  let stop: MachpagerStop | undefined;
  const rows: BenchRow[] = [];
  try {
    stop = await startMachpager(`sqlite:${path.join(work, 'fs.db')}`, mnt, '2G');
    // Let start-up garbage settle the way a mount left alone would.
    await new Promise((r) => setTimeout(r, 1000));
    const mounted = await residentMB(stop.pid);
    const missed = mounted.rss - RSS_AIM_MB;
    rows.push({ name: 'daemon RSS right after mounting, --cache-size 2G', value: mounted.rss, unit: 'MB', detail: `aim <${RSS_AIM_MB} MB: ${missed < 0 ? 'met' : `missed by ${missed.toFixed(0)} MB`}` });

    const fillMiB = quick ? 256 : 2048;
    if (quick) {
      await stop();
      stop = undefined;
      await rm(path.join(work, 'fs.db'), { force: true });
      stop = await startMachpager(`sqlite:${path.join(work, 'fs2.db')}`, mnt, `${fillMiB}M`);
      const before = await residentMB(stop.pid);
      rows.push({ name: `daemon RSS right after mounting, --cache-size ${fillMiB}M`, value: before.rss, unit: 'MB' });
    }
    await fill(mnt, fillMiB);
    const filled = await residentMB(stop.pid);
    const cache = quick ? `${fillMiB}M` : '2G';
    rows.push({ name: `daemon RSS after filling the cache, --cache-size ${cache}`, value: filled.rss, unit: 'MB', detail: `${fillMiB} MiB written (fsync) and read back; peak ${filled.peak.toFixed(0)} MB; ${(filled.rss - fillMiB * 1.048576).toFixed(0)} MB over the data` });
    printTable('memory: the daemon\'s resident set (SQLite store, direct mode)', rows, print);
    return rows;
  } finally {
    if (stop) await stop();
    await rm(work, { recursive: true, force: true });
  }
}

runBenchProgram(import.meta.url, benchMemory);
