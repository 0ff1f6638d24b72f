/**
 * The statistics and control commands against a real mount: the CLI
 * (`node dist/daemon/cli/main.js`) in child processes, a known workload run
 * by programs in child processes (dd), and the exact figures it must
 * produce; the control socket refusing a second uid; a malformed request
 * answered with an error, not a crash; the Prometheus endpoint showing the
 * same record.
 *
 * The workload (4K pages, a 2M cache, direct cache mode, so that every read
 * reaches the simulated cache):
 *   a 10-page file is written and the mount restarted, so that its object
 *   is new (no read-ahead history) and none of its pages is resident; then
 *   1. one read of the whole file (dd bs=40960 count=1): the first page
 *      faults, and the fault asks the pager for the 10 pages the read wants
 *      in one data_request; the pager answers with one data_supply of 10
 *      pages; the other 9 came with its cluster: misses, not hits.
 *      lookups +10, hits +0, faults +1, pageins +10, data_requests +1;
 *   2. the same read again: lookups +10, hits +10, nothing else;
 *   3. evict: the 10 pages go (and the object, left with no page and no
 *      mapping, with them); the next read is 1. again;
 *   4. one page written (dd conv=notrunc): a hit, the page dirty; sync
 *      returns it: pageouts +1, data_returns +1, dirty 0.
 *
 * Needs /dev/fuse, root (for the second uid) and the build (npm run build).
 */
import { chmod } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import type { FileRecord } from '../../daemon/control/protocol.js';
import { socketCandidates } from '../../daemon/control/socket-path.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { cleanupMounts, machpager, machpagerJson, mount, removeDir, sh, tempDir, type Mounted } from '../helpers/mounted.js';
import { exchange } from './exchange.js';

const NOBODY = { uid: 65534, gid: 65534 };
const PAGE = 4096;

let dir = '';
let mnt = '';
let store = '';
let m: Mounted | undefined;

const cli = machpager;
const json = machpagerJson;

const stats = (): Promise<StatsRecord> => json<StatsRecord>(['stats', mnt]);
const file = async (name: string): Promise<FileRecord> => {
  const list = await json<FileRecord[]>(['files', path.join(mnt, name)]);
  expect(list).toHaveLength(1);
  return list[0];
};

/** The change of each counter from `a` to `b`. */
function delta(a: StatsRecord, b: StatsRecord): Record<string, number> {
  const keys = ['lookups', 'hits', 'faults', 'pageins', 'pageouts', 'data_requests', 'data_returns', 'zero_fill_count', 'page_errors'] as const;
  return Object.fromEntries(keys.map((k) => [k, b[k] - a[k]]));
}

async function read(name: string): Promise<void> {
  const r = await sh(`dd if=${JSON.stringify(path.join(mnt, name))} of=/dev/null bs=40960 count=1 status=none`);
  expect(r, r.stderr).toMatchObject({ code: 0 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  dir = await tempDir('control-real');
  await chmod(dir, 0o755);
  mnt = path.join(dir, 'mnt');
  store = `sqlite:${path.join(dir, 'fs.db')}`;
  // Write the file, then restart the mount: its object starts afresh.
  const first = await mount({ store, mnt, cacheSize: '2M', pageSize: '4K' });
  await first.shOk('dd if=/dev/urandom of=ten bs=40960 count=1 status=none && mkdir -p d/e && echo x > d/one && echo y > d/e/two');
  expect(await first.stop()).toBe(0);
});

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

describe('a known workload through a real mount', () => {
  beforeAll(async () => {
    m = await mount({ store, mnt, cacheSize: '2M', pageSize: '4K' });
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('the figures of each step, in stats and in files', async () => {
    const s0 = await stats();
    expect(s0).toMatchObject({ pagesize: PAGE, frames: 512, cache_size: 2 * 1024 * 1024, policy: 'mach' });
    expect(s0.fs).toMatchObject({ mountpoint: mnt, store, cache_mode: 'direct' });

    // 1. The first read: one fault brings the whole file in. The nine pages that came with the
    // fault's cluster are misses, not hits (cachestat's count: hits are demand hits).
    await read('ten');
    const s1 = await stats();
    expect(delta(s0, s1)).toEqual({ lookups: 10, hits: 0, faults: 1, pageins: 10, pageouts: 0, data_requests: 1, data_returns: 0, zero_fill_count: 0, page_errors: 0 });
    expect(s1.messages_sent.memory_object_data_request).toBe((s0.messages_sent.memory_object_data_request ?? 0) + 1);
    expect(s1.messages_received.memory_object_data_supply).toBe((s0.messages_received.memory_object_data_supply ?? 0) + 1);
    expect(s1.pager.pages_read - s0.pager.pages_read).toBe(10);
    expect(s1.fault_latency.count - s0.fault_latency.count).toBe(1);
    expect(await file('ten')).toMatchObject({ path: '/ten', size: 40960, pages: 10, resident_pages: 10, dirty_pages: 0, resident_fraction: 1, faults: 1, hits: 0, pageins: 10 });

    // 2. Again: every page a hit.
    await read('ten');
    const s2 = await stats();
    expect(delta(s1, s2)).toEqual({ lookups: 10, hits: 10, faults: 0, pageins: 0, pageouts: 0, data_requests: 0, data_returns: 0, zero_fill_count: 0, page_errors: 0 });
    expect(await file('ten')).toMatchObject({ resident_pages: 10, faults: 1, hits: 10 });

    // 3. Evicted: the pages go, and the next read is the first one again.
    const ev = await cli(['evict', path.join(mnt, 'ten')]);
    expect(ev).toMatchObject({ code: 0, stdout: `evicted 10 pages of 1 file (${path.join(mnt, 'ten')})\n` });
    expect(await file('ten')).toMatchObject({ resident_pages: 0, dirty_pages: 0, resident_fraction: 0 });
    const s3 = await stats();
    await read('ten');
    const s4 = await stats();
    expect(delta(s3, s4)).toMatchObject({ lookups: 10, hits: 0, faults: 1, pageins: 10, data_requests: 1 });
    // (The evicted object, left with no page and no mapping, is terminated: the file's counters start again.)
    expect(await file('ten')).toMatchObject({ resident_pages: 10, faults: 1, hits: 0, pageins: 10 });

    // 4. One page written: a hit that dirties it; sync returns it.
    const w = await sh(`dd if=/dev/zero of=${JSON.stringify(path.join(mnt, 'ten'))} bs=4096 count=1 conv=notrunc status=none`);
    expect(w.code, w.stderr).toBe(0);
    const s5 = await stats();
    expect(delta(s4, s5)).toMatchObject({ lookups: 1, hits: 1, faults: 0, pageouts: 0 });
    expect(await file('ten')).toMatchObject({ size: 40960, resident_pages: 10, dirty_pages: 1 });
    expect(await cli(['sync', path.join(mnt, 'ten')])).toMatchObject({ code: 0, stdout: `synced ${path.join(mnt, 'ten')}\n` });
    const s6 = await stats();
    expect(delta(s5, s6)).toMatchObject({ pageouts: 1, data_returns: 1, lookups: 0, faults: 0 });
    expect(s6.pager.pages_written - s5.pager.pages_written).toBe(1);
    expect(await file('ten')).toMatchObject({ resident_pages: 10, dirty_pages: 0 });
  });

  it('the human views show the same figures: stats, files, stats -w, top', async () => {
    const record = await stats();
    const text = await cli(['stats', mnt]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Mach Virtual Memory Statistics: \(page size of 4096 bytes\)\n/);
    expect(text.stdout).toMatch(/^Pages free: +\d+\.$/m);
    expect(text.stdout).toContain(`  Mountpoint:                  ${mnt}.`);
    const f = await cli(['files', path.join(mnt, 'ten')]);
    expect(f.stdout.split('\n')[1]).toMatch(new RegExp(`^ *40K +10 +0B +40K 100\\.0% +\\d+ +\\d+ ${path.join(mnt, 'ten')}$`));
    const w = await cli(['stats', '-w', '0.2', '2', mnt]);
    const lines = w.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]?.trim().split(/ +/)[5]).toBe(String(record.lookups));
    const top = await cli(['top', '-n', '1', mnt]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain(`machpager top - ${mnt}: ${store}, direct, policy mach`);
    expect(top.stdout).toContain(`${mnt}/ten`);
    expect(top.stdout).not.toContain('\x1b');
  });

  it('files -R walks a tree; a directory without -R lists its own files', async () => {
    const tree = await json<FileRecord[]>(['files', '-R', path.join(mnt, 'd')]);
    expect(tree.map((r) => r.path).sort()).toEqual(['/d/e/two', '/d/one']);
    const flat = await json<FileRecord[]>(['files', path.join(mnt, 'd')]);
    expect(flat.map((r) => r.path)).toEqual(['/d/one']);
  });

  it('evict takes a directory as files does: its own files, the whole tree with -R', async () => {
    await read('d/one');
    await read('d/e/two');
    expect(await cli(['evict', path.join(mnt, 'd')])).toMatchObject({ code: 0, stdout: expect.stringMatching(/ of 1 file \(/) as unknown });
    expect(await file('d/e/two')).toMatchObject({ resident_fraction: 1 });
    expect(await cli(['evict', '-R', path.join(mnt, 'd')])).toMatchObject({ code: 0, stdout: expect.stringMatching(/ of 1 file \(/) as unknown });
    expect(await file('d/e/two')).toMatchObject({ resident_pages: 0 });
  });

  it('policy and cache-size change while mounted, and stats shows it', async () => {
    expect(await cli(['policy', '-m', mnt])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^policy: mach \(available: .*lru.*\)\n$/) as unknown });
    expect(await cli(['policy', 'lru', '-m', mnt])).toMatchObject({ code: 0, stdout: 'policy: mach -> lru\n' });
    expect((await stats()).policy).toBe('lru');
    const bad = await cli(['policy', 'nope', '-m', mnt]);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/^machpager: policy nope: unknown policy/);
    expect(await cli(['cache-size', '1M', '-m', mnt])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^cache size: 2M -> 1M \(256 frames of 4K/) as unknown });
    const after = await stats();
    expect([after.frames, after.cache_size]).toEqual([256, 1024 * 1024]);
    expect(await cli(['cache-size', '2M', '-m', mnt])).toMatchObject({ code: 0 });
    expect(await cli(['policy', 'mach', '-m', mnt])).toMatchObject({ code: 0 });
  });

  it('the control socket refuses a second uid: one line, exit 77', async () => {
    // The socket is there and answers its owner...
    expect((await cli(['stats', mnt])).code).toBe(0);
    // ...and nobody else.
    const r = await cli(['stats', mnt], { as: NOBODY, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.NOPERM, stderr: `machpager: ${mnt}: permission denied: the mount belongs to another user (uid 0)\n` });
    // And at the socket itself: connect() is refused by the file system.
    const socketPath = socketCandidates(mnt, { uid: 0, env: {} })[0] ?? '';
    const probe = `require('net').createConnection(${JSON.stringify(socketPath)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`;
    const raw = await sh(`setpriv --reuid=${NOBODY.uid} --regid=${NOBODY.gid} --clear-groups ${JSON.stringify(process.execPath)} -e ${JSON.stringify(probe)}`);
    expect(raw.stdout.trim()).toBe('EACCES');
  });

  it('a malformed request gets an error answer; the daemon and the connection go on', async () => {
    const socketPath = socketCandidates(mnt, { uid: 0, env: {} })[0] ?? '';
    const answers = await exchange(socketPath, 'this is not json\n{"id": 1}\n{"id": 2, "method": "nope"}\n{"id": 3, "method": "hello"}\n', 4);
    expect(answers[0]).toMatchObject({ id: null, error: { code: 'EPROTO' } });
    expect(answers[1]).toMatchObject({ id: 1, error: { code: 'EPROTO' } });
    expect(answers[2]).toMatchObject({ id: 2, error: { code: 'ENOSYS' } });
    expect(answers[3]).toMatchObject({ id: 3, result: { protocol: 1, mountpoint: mnt, page_size: PAGE } });
    expect(m?.running).toBe(true);
    expect((await cli(['stats', mnt])).code).toBe(0);
  });
});

describe('the Prometheus endpoint of a real mount', () => {
  it('--metrics serves the same record: counters and gauges match stats --json', async () => {
    const port = await freePort();
    const pm = await mount({ store, mnt, cacheSize: '2M', pageSize: '4K', options: ['allow_other', 'default_permissions', `metrics=127.0.0.1:${port}`] });
    try {
      await read('ten');
      const record = await stats();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const value = (name: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${name} `));
        return Number(line?.slice(name.length + 1));
      };
      expect(value('machpager_lookups_total')).toBe(record.lookups);
      expect(value('machpager_hits_total')).toBe(record.hits);
      expect(value('machpager_faults_total')).toBe(record.faults);
      expect(value('machpager_pageins_total')).toBe(record.pageins);
      expect(value('machpager_pages{state="free"}')).toBe(record.free_count);
      expect(value('machpager_cache_size_bytes')).toBe(2 * 1024 * 1024);
      expect(value('machpager_messages_sent_total{msg="data_request"}')).toBe(record.messages_sent.memory_object_data_request);
    } finally {
      await pm.stop();
    }
  });
});
