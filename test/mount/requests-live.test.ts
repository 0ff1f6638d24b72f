/**
 * `machpager requests` and `machpager regions` on a live mount, with a
 * request held by a stalled store (made as in stalled-pager.test.ts: mount
 * A keeps page data in raw files, and the data file of one file is a link
 * to a file on mount B, whose daemon is stopped). While B is stopped, dd's
 * read of that file waits in A: `requests` shows it (dd's pid and command,
 * the file, offset 0, waiting for its page data on mount B), `regions` shows
 * the file's window, and once B continues the read finishes and `stats`
 * counts one suspended request with its wait.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RegionRecord, RequestRecord } from '../../daemon/control/protocol.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { cleanupMounts, machpager, machpagerJson, mount, removeDir, shOk, tempDir } from '../helpers/mounted.js';

let dir: string;
let stopped: number | undefined;

beforeAll(async () => {
  dir = await tempDir('requests');
});

afterEach(async () => {
  // Never leave B stopped: A's unmount syncs through it.
  if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
  stopped = undefined;
  await cleanupMounts();
});

afterAll(async () => {
  await removeDir(dir);
});

/** `check` until it gives a value, at most `timeoutMs`. */
async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
  }
}

describe('requests and regions on a live mount', () => {
  it('a read held by a stalled store is listed with its process, file, offset and wait; stats counts it', async () => {
    const ref = path.join(dir, 'ref');
    const storeA = path.join(dir, 'a');
    const mntA = path.join(dir, 'mnt-a');
    const mntB = path.join(dir, 'mnt-b');
    await shOk(`mkdir -p ${ref} && head -c 65536 /dev/urandom > ${ref}/stalled`);

    const b = await mount({ store: `sqlite:${dir}/b.db`, mnt: mntB });
    let a = await mount({ store: `file:${storeA}`, mnt: mntA });
    await a.shOk(`cp ${ref}/stalled . && sync -f .`);
    const ino = (await a.shOk('stat -c %i stalled')).trim();
    expect(await a.stop()).toBe(0);
    await shOk(`cp ${storeA}/data/${ino} ${mntB}/blob && rm ${storeA}/data/${ino} && ln -s ${mntB}/blob ${storeA}/data/${ino}`);

    // A generous pager timeout: the read waits for as long as B is stopped.
    a = await mount({ store: `file:${storeA}`, mnt: mntA, options: ['allow_other', 'default_permissions', 'pager_timeout=60s'] });
    const pid = b.child.pid;
    if (pid === undefined) throw new Error('mount B has no pid');
    // The file is opened while B answers (its store opens through the link); then B stops and dd reads.
    const reading = a.sh(`exec 3< stalled; kill -STOP ${pid}; dd bs=4096 count=1 status=none of=/dev/null <&3 && echo "read: ok"`, { timeoutMs: 90_000 });
    stopped = pid;

    const held = await until(
      async () => (await machpagerJson<RequestRecord[]>(['requests', mntA])).find((r) => r.command === 'dd'),
      30_000,
      "dd's read in machpager requests",
    );
    expect(held).toMatchObject({ op: 'read', path: '/stalled', ino: Number(ino), offset: 0, waits_for: 'other_mount', other_mount: mntB });
    expect(held.pid).toBeGreaterThan(0);
    expect(held.waited_ms).toBeGreaterThanOrEqual(0);
    const table = await machpager(['requests', mntA]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^ *${held.pid} +dd +read +/stalled +0 +\\S+ +other_mount +\\S+ +${mntB}$`, 'm'));

    // The file's window is a region of the filesystem's task, and it grows with the file.
    const regions = await machpagerJson<RegionRecord[]>(['regions', mntA]);
    expect(regions).toContainEqual(expect.objectContaining({ task: 'fs', path: '/stalled', ino: Number(ino), protection: 'rwx', offset: 0, growable: true }));
    const window = regions.find((r) => r.path === '/stalled');
    expect(window?.size).toBeGreaterThanOrEqual(65536);
    const text = await machpager(['regions', mntA]);
    expect(text.stdout).toMatch(/^fs +[0-9a-f]+-[0-9a-f]+ +rwx\/rwx +copy +- +\S+\+ +0x[0-9a-f]+ +00000000 +\/stalled$/m);

    // B continues: the read completes, and stats counted it.
    process.kill(pid, 'SIGCONT');
    stopped = undefined;
    expect((await reading).stdout).toBe('read: ok\n');
    expect(await machpagerJson<RequestRecord[]>(['requests', mntA])).toEqual([]);
    const stats = await machpagerJson<StatsRecord>(['stats', mntA]);
    expect(stats.requests.suspended).toBeGreaterThanOrEqual(1);
    expect(stats.requests.suspended_now).toBe(0);
    expect(stats.requests.wait.count).toBe(stats.requests.suspended);
    expect(stats.requests.longest_us).toBeGreaterThanOrEqual(held.waited_ms * 1000);
  });

  it('a read waiting on a slow store of its own shows data_request', async () => {
    const mnt = path.join(dir, 'mnt-slow');
    // Every store read takes 3 s (fault injection's latency), long enough to be seen.
    const m = await mount({ store: `sqlite:${dir}/slow.db`, mnt, args: ['--inject', ''] });
    await m.shOk('head -c 16384 /dev/urandom > f && sync -f .');
    await machpagerJson(['evict', '--all', mnt]);
    expect((await machpager(['inject', mnt, 'read-latency=3000'])).code).toBe(0);
    const reading = m.sh('dd if=f bs=4096 count=1 status=none of=/dev/null && echo "read: ok"', { timeoutMs: 60_000 });
    const held = await until(async () => (await machpagerJson<RequestRecord[]>(['requests', mnt])).find((r) => r.command === 'dd'), 20_000, "dd's read");
    expect(held).toMatchObject({ op: 'read', path: '/f', offset: 0, waits_for: 'data_request' });
    expect(held.other_mount).toBeUndefined();
    expect((await reading).stdout).toBe('read: ok\n');
  });
});
