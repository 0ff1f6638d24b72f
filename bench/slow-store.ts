/**
 * A slow store through a real mount: every store write takes `latency` ms
 * (`--inject write-latency=MS`) while dd streams ten times the cache into a
 * new file. Printed beside the same stream on the same store class with no
 * latency, in the same run: the daemon's peak resident memory over its idle
 * figure (as a multiple of the cache) and the throughput. Bounded memory
 * means the slow row's peak stays near the fast row's: returned pages are
 * laundry until written, so the kernel double-pages to swap instead of the
 * pager queueing what the store cannot take.
 */
import { readFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './fuse-floor.js';
import { startMachpager } from './mount.js';
import { MiB, printTable, type BenchRow, type Print } from './table.js';

export interface SlowStoreBenchOptions {
  print?: Print;
  quick?: boolean;
}

async function rss(pid: number): Promise<number> {
  const kb = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

interface Stream {
  idle: number;
  peak: number;
  bytesPerSec: number;
}

async function stream(work: string, label: string, cacheMiB: number, extra: readonly string[]): Promise<Stream> {
  const store = `sqlite:${path.join(work, `${label}.db`)}`;
  const mnt = path.join(work, `${label}-mnt`);
  await mkdir(mnt);
  const stop = await startMachpager(store, mnt, `${cacheMiB}M`, extra);
  try {
    const idle = await rss(stop.pid);
    let peak = idle;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rss(stop.pid));
        await sleep(20);
      }
    })();
    const bytes = 10 * cacheMiB * MiB;
    const started = performance.now();
    try {
      await run('dd', ['if=/dev/urandom', `of=${path.join(mnt, 'big')}`, 'bs=1M', `count=${bytes / MiB}`, 'conv=fsync', 'status=none'], 600_000);
    } finally {
      sampling = false;
      await sampler;
    }
    return { idle, peak, bytesPerSec: bytes / ((performance.now() - started) / 1000) };
  } finally {
    await stop();
  }
}

export async function benchSlowStore(options: SlowStoreBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const cacheMiB = options.quick === true ? 4 : 16;
  const latency = 50;
  const work = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-slow-'));
  try {
    const fast = await stream(work, 'fast', cacheMiB, []);
    const slow = await stream(work, 'slow', cacheMiB, ['--inject', `write-latency=${latency}`]);
    const cache = cacheMiB * MiB;
    const over = (s: Stream): string => `peak ${((s.peak - s.idle) / MiB).toFixed(0)} MiB over idle (${((s.peak - s.idle) / cache).toFixed(2)}x cache)`;
    const rows: BenchRow[] = [
      {
        name: `slow store (${latency} ms per write): stream 10x cache, peak RSS`,
        value: slow.peak / MiB,
        unit: 'MiB',
        detail: `${over(slow)}; ${(slow.peak / fast.peak).toFixed(2)}x the fast store's peak; ${(slow.bytesPerSec / MiB).toFixed(1)} MiB/s (${(slow.bytesPerSec / fast.bytesPerSec).toFixed(2)}x fast)`,
      },
      {
        name: 'fast store (no latency): stream 10x cache, peak RSS',
        value: fast.peak / MiB,
        unit: 'MiB',
        detail: `${over(fast)}; ${(fast.bytesPerSec / MiB).toFixed(1)} MiB/s`,
      },
    ];
    printTable(`slow store: dd of ${10 * cacheMiB} MiB through a ${cacheMiB} MiB cache (SQLite store, direct_io), daemon RSS from /proc`, rows, print);
    return rows;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
