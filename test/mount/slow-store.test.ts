/**
 * A slow store on a real mount (issue 10, bounded memory): with every store
 * write taking 50 ms, a program streams ten times the cache through the
 * mount. Returned pages count as the kernel's laundry until the pager has
 * written them, so the kernel sends the pager no more than a quarter of the
 * cache and double-pages the rest to the default pager (swap); the daemon's
 * resident memory grows by at most the cache plus 96 MiB over what it was
 * right after mounting (node, SQLite, the live curve: about 80 MiB, which
 * grows with features and is not what this test is about); every byte reads
 * back right.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { cleanupMounts, machpagerJson, mount, removeDir, shOk, STORE_KINDS, tempDir } from '../helpers/mounted.js';

const MiB = 1024 * 1024;
const CACHE = 8 * MiB;
const STREAM = 10 * CACHE;

/** The process's resident set, from /proc (VmRSS, kB). */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

let dir = '';
let src = '';

beforeAll(async () => {
  dir = await tempDir('slow');
  src = path.join(dir, 'src');
  await shOk(`head -c ${STREAM} /dev/urandom > ${src}`);
});

afterEach(async () => {
  await cleanupMounts();
});

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

describe.each(STORE_KINDS)('a slow $kind store', ({ kind, store }) => {
  it('streaming ten times the cache with 50 ms store writes: RSS grows by at most cache + 96 MiB, the kernel double-pages, every byte intact', async () => {
    const label = kind.replace(/\W/g, '');
    await shOk(`mkdir -p ${dir}/${label}`);
    const m = await mount({ store: store(path.join(dir, label)), mnt: path.join(dir, `${label}-mnt`), cacheSize: '8M', args: ['--inject', 'write-latency=50'] });
    const pid = m.child.pid;
    if (pid === undefined) throw new Error('no daemon pid');
    const atMount = await rss(pid);
    let most = atMount;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await rss(pid));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await m.shOk(`dd if=${src} of=big bs=1M conv=fsync status=none`, { timeoutMs: 240_000 });
    } finally {
      sampling = false;
      await sampler;
    }
    const stats = await machpagerJson<StatsRecord>(['stats', m.mnt]);
    // The pager's laundry was full while memory was short: the kernel double-paged, and every
    // double-paged page reached the store in the end (the fsync above waited for them).
    expect(stats.double_paged).toBeGreaterThan(0);
    expect(stats.double_paged_delivered).toBe(stats.double_paged);
    expect(stats.laundry_writing).toBe(0);
    process.stdout.write(`${kind}: RSS ${(atMount / MiB).toFixed(0)} MiB at mount, ${(most / MiB).toFixed(0)} MiB at most while streaming\n`);
    expect(most - atMount).toBeLessThanOrEqual(CACHE + 96 * MiB);
    await m.shOk(`cmp big ${src}`);
  }, 300_000);
});
