/**
 * The inspection and control commands (stats, files, top, sync, evict,
 * policy, cache-size), run in this process against a fake daemon
 * (test/control/fake-daemon.ts): what they ask the daemon, what they print
 * (the human text and --json), and how they fail (one line, an exit code).
 * The mount table is a fake one listing temporary directories as
 * fuse.machpager mounts; paths in them are real files, so resolving
 * relative paths and symlinks is real.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { ENTER_SCREEN, LEAVE_SCREEN } from '../../daemon/cli/commands/top.js';
import { renderStats, terseHeader, terseLine } from '../../daemon/cli/stats-view.js';
import { humanSize, table } from '../../daemon/cli/format.js';
import { printTable } from '../../bench/table.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { FakeDaemon, fakeTerminal, fileRecord, hello, ok, removeDir, runIn, sequence, statsRecord, tempDir, WORKLOAD, type CliSetup, type Handler } from '../control/fake-daemon.js';

let tmp = '';
let run = '';
let mnt = '';
let daemons: FakeDaemon[] = [];

beforeEach(async () => {
  tmp = await tempDir('inspect');
  run = path.join(tmp, 'run');
  mnt = path.join(tmp, 'mnt');
  await mkdir(path.join(mnt, 'dir', 'sub'), { recursive: true });
  await writeFile(path.join(mnt, 'dir', 'a'), '');
  await writeFile(path.join(mnt, 'dir', 'sub', 'b'), '');
  await writeFile(path.join(mnt, 'big'), '');
  daemons = [];
});

afterEach(async () => {
  for (const d of daemons) await d.close();
  await removeDir(tmp);
});

async function daemon(handlers: Record<string, Handler>, mountpoint = mnt): Promise<FakeDaemon> {
  const d = await FakeDaemon.start(mountpoint, run, { hello: ok(hello(mountpoint)), ...handlers });
  daemons.push(d);
  return d;
}

function cli(argv: string[], over: Partial<CliSetup> = {}): ReturnType<typeof runIn> {
  return runIn({ cwd: tmp, mounts: [mnt], runtimeDir: run, ...over }, argv);
}

/** A workload's record: 100 active, 20 inactive; 400 lookups, 300 hits; ... */
const R1 = statsRecord({
  ...WORKLOAD,
  object_lookups: 4,
  object_hits: 1,
  messages_sent: { memory_object_data_request: 110, memory_object_init: 3 },
  messages_received: { memory_object_data_supply: 110, memory_object_ready: 3 },
  store: { reads: 110, bytes_read: 450560 },
  pager: { data_requests: 110, pages_read: 110 },
  fs: { mountpoint: '/mnt/x', files_open: 2 },
});

describe('stats', () => {
  it('prints the vm_stat-style list: the header, Mach names, values ending in periods, the sections', async () => {
    const d = await daemon({ stats: ok(R1) });
    const r = await cli(['stats']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(renderStats(R1));
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Mach Virtual Memory Statistics: (page size of 4096 bytes)');
    expect(lines).toContain('Pages free:                                 392.');
    expect(lines).toContain('Pages active:                               100.');
    expect(lines).toContain('Pages inactive:                              20.');
    expect(lines).toContain('Pages wired down:                             0.');
    expect(lines).toContain('Page faults:                                120.');
    expect(lines).toContain('Pages zero filled:                           10.');
    expect(lines).toContain('Pageins:                                    110.');
    expect(lines).toContain('Pageouts:                                     5.');
    expect(lines).toContain('Page lookups:                               400.');
    expect(lines).toContain('Page hits:                                  300.');
    expect(lines).toContain('Hit ratio:                                75.0%.');
    expect(lines).toContain('Pages evicted dirty:                          5.');
    expect(lines).toContain('Object cache: 1 hits of 4 lookups (25.0% hit rate)');
    expect(lines).toContain('  Policy:                      mach.');
    expect(lines).toContain('  memory_object_data_request  110        0');
    expect(lines).toContain('  memory_object_data_supply     0      110');
    expect(lines).toContain('  Bytes read:                            450560.');
    expect(lines).toContain('  p99:                                      410.');
    expect(lines).toContain('  Mountpoint:                  /mnt/x.');
    for (const section of ['Page cache:', 'Pager traffic (messages, as the kernel counts them):', 'Pager:', 'Store I/O:', 'Fault service latency (microseconds):', 'Mount:']) {
      expect(lines).toContain(section);
    }
    expect(d.requests).toEqual([{ id: 1, method: 'stats', params: {} }]);
  });

  it('--json prints the record exactly as the daemon gave it (Mach names as keys)', async () => {
    const extra = { ...R1, something_new: 7 };
    await daemon({ stats: ok(extra) });
    const r = await cli(['stats', '--json', mnt]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(extra);
    for (const key of ['pagesize', 'free_count', 'active_count', 'inactive_count', 'wire_count', 'zero_fill_count', 'reactivations', 'pageins', 'pageouts', 'faults', 'cow_faults', 'lookups', 'hits']) {
      expect(Object.keys(JSON.parse(r.stdout) as object)).toContain(key);
    }
  });

  it('-w SECONDS COUNT: the first line since the start, then per-interval differences of the counters, gauges as they are', async () => {
    const r2 = statsRecord({ ...R1, free_count: 380, active_count: 112, faults: 150, lookups: 600, hits: 470, pageins: 140, timestamp: R1.timestamp + 1000 });
    const r3 = statsRecord({ ...r2, free_count: 300, faults: 150, lookups: 600, hits: 470, pageouts: 9, evictions_clean: 3, timestamp: R1.timestamp + 2000 });
    const slept: number[] = [];
    await daemon({ stats: sequence([{ result: R1 }, { result: r2 }, { result: r3 }]) });
    const r = await cli(['stats', '-w', '0.5', '3'], { sleep: (ms) => (slept.push(ms), Promise.resolve()) });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual([
      '   free    actv   inact  wired  pfaults    lkups     hits   hrat   rapgs   rahit   pgins  pgouts  zeroed  react  evcln  evdty  perr',
      '    392     100      20      0      120      400      300    75%       0       0     110       5      10      0      0      5     0',
      '    380     112      20      0       30      200      170    85%       0       0      30       0       0      0      0      0     0',
      '    300     112      20      0        0        0        0      -       0       0       0       4       0      0      3      0     0',
      '',
    ]);
    expect(slept).toEqual([500, 500]);
  });

  it('-w repeats the header every screen on a terminal, every 20 lines otherwise; --json gives one record per line', async () => {
    await daemon({ stats: ok(R1) });
    const onTerminal = await cli(['stats', '-w', '1', '-c', '7'], { terminal: fakeTerminal({ columns: 120, rows: 4 }) });
    const headers = onTerminal.stdout.split('\n').flatMap((l, i) => (l === terseHeader() ? [i] : []));
    expect(headers).toEqual([0, 4, 8]);
    const piped = await cli(['stats', '-w', '1', '25']);
    expect(piped.stdout.split('\n').flatMap((l, i) => (l === terseHeader() ? [i] : []))).toEqual([0, 21]);
    const json = await cli(['stats', '--json', '-w', '1', '3']);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(JSON.parse(l)).toEqual(R1);
  });

  it('-w SECONDS with COUNT and MOUNTPOINT either way round', async () => {
    const d = await daemon({ stats: ok(R1) });
    for (const argv of [['stats', '-w', '1', '2', mnt], ['stats', mnt, '-w', '1', '2'], ['stats', '-w', '1', mnt, '2']]) {
      const r = await cli(argv, { mounts: [] });
      expect({ argv, code: r.code, lines: r.stdout.trimEnd().split('\n').length }).toEqual({ argv, code: 0, lines: 3 });
    }
    expect(d.requests).toHaveLength(6);
  });

  it('terseLine: the hit ratio of the interval, "-" when nothing was looked up', () => {
    const a = statsRecord({ lookups: 10, hits: 10 });
    expect(terseLine(a, undefined)).toContain('100%');
    expect(terseLine(a, a)).toMatch(/ - /);
  });

  it('COUNT without -w, two mountpoints, a bad interval: usage errors (2)', async () => {
    for (const [argv, line] of [
      [['stats', 'a', '5'], 'machpager: stats a 5: COUNT goes with -w SECONDS\n'],
      [['stats', '-w', 'x'], 'machpager: -w x: not a positive number of seconds\n'],
      [['stats', '-w', '1', '0'], 'machpager: COUNT 0: not a positive whole number\n'],
      [['stats', mnt, '-m', tmp], `machpager: stats ${mnt}: and -m ${tmp} name two mounts; give one\n`],
    ] as const) {
      const r = await cli([...argv]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.USAGE, stderr: line });
    }
  });

  it('a malformed record is one line naming the field (76), not a crash', async () => {
    const noPager: Partial<StatsRecord> = { ...R1 };
    delete noPager.pager;
    for (const [answer, why] of [
      [{ ...R1, hits: 'many' }, 'hits is not a number'],
      [noPager, 'pager is not an object'],
      [{ ...R1, store: { ...R1.store, bytes_read: undefined } }, 'store.bytes_read is missing'],
      [[1, 2], 'the stats record is not an object'],
    ] as const) {
      for (const d of daemons) await d.close();
      daemons = [];
      await daemon({ stats: ok(answer) });
      const r = await cli(['stats']);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: EXIT.PROTOCOL, stderr: `machpager: ${mnt}: malformed answer from the daemon: ${why}\n`, stdout: '' });
    }
  });
});

describe('finding the daemon', () => {
  it('no daemon: one line and 69; no mount at all: 66; several and none here: 2, listing them', async () => {
    const r = await cli(['stats', mnt]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.UNAVAILABLE, stderr: `machpager: ${mnt}: no machpager daemon serving it (is it mounted?)\n` });
    const none = await cli(['stats'], { mounts: [] });
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: EXIT.NOINPUT, stderr: 'machpager: no machpager mount (mount one with: machpager mount STORE MOUNTPOINT)\n' });
    const other = path.join(tmp, 'other');
    const several = await cli(['stats'], { mounts: [mnt, other] });
    expect({ code: several.code, stderr: several.stderr }).toEqual({ code: EXIT.USAGE, stderr: `machpager: 2 machpager mounts and the current directory is in none; name one: ${mnt}, ${other}\n` });
  });

  it('the mount of the current directory, else the only one; -m takes any path in the mount', async () => {
    const other = path.join(tmp, 'other');
    await mkdir(other);
    const a = await daemon({ stats: ok(statsRecord({ policy: 'lru' })) });
    const b = await daemon({ stats: ok(statsRecord({ policy: 'fifo' })) }, other);
    const json = async (argv: string[], over: Partial<CliSetup>): Promise<string> => (JSON.parse((await cli(argv, over)).stdout) as StatsRecord).policy;
    expect(await json(['stats', '--json'], { mounts: [mnt, other], cwd: path.join(mnt, 'dir') })).toBe('lru');
    expect(await json(['stats', '--json'], { mounts: [other] })).toBe('fifo');
    expect(await json(['stats', '--json', '-m', path.join(mnt, 'dir', 'a')], { mounts: [mnt, other] })).toBe('lru');
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(1);
  });

  it('a daemon that hangs up, or does not answer within --timeout: 69', async () => {
    await daemon({ stats: () => ({ close: true }), policy: () => ({ silent: true }) });
    const gone = await cli(['stats']);
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: EXIT.UNAVAILABLE, stderr: `machpager: ${mnt}: the daemon closed the connection before answering\n` });
    const slow = await cli(['policy', '--timeout', '0.2']);
    expect({ code: slow.code, stderr: slow.stderr }).toEqual({ code: EXIT.UNAVAILABLE, stderr: `machpager: ${mnt}: no answer to policy within 0.2 s\n` });
  });

  it("a mount of another user (mountinfo's user_id) without a socket we can reach: permission denied (77)", async () => {
    const r = await cli(['stats'], { owner: 4321 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: EXIT.NOPERM, stderr: `machpager: ${mnt}: permission denied: the mount belongs to another user (uid 4321)\n` });
  });
});

describe('files', () => {
  const A = fileRecord('/dir/a', { ino: 3, size: 40960, pages: 10, resident_pages: 8, dirty_pages: 2, resident_fraction: 0.8, faults: 10, hits: 30 });
  const B = fileRecord('/dir/sub/b', { ino: 4, size: 1000, pages: 1, resident_pages: 1, resident_fraction: 1, faults: 1, hits: 0 });
  const BIG = fileRecord('/big', { ino: 5, size: 10 << 20, pages: 2560, resident_pages: 100, faults: 100, hits: 5, cached: true });

  it('without PATH: every file the daemon reports, fincore columns, sizes human-readable, sorted by name', async () => {
    const d = await daemon({ files: ok([A, BIG]) });
    const r = await cli(['files']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual([
      ' RES PAGES DIRTY SIZE  RES% FAULTS HITS FILE',
      `400K   100    0B  10M  3.9%    100    5 ${mnt}/big`,
      ` 32K     8    8K  40K 80.0%     10   30 ${mnt}/dir/a`,
      '',
    ]);
    expect(d.params('files')).toEqual([{}]);
  });

  it('-b exact bytes; -c a total line; nothing held: no output', async () => {
    await daemon({ files: sequence([{ result: [A, BIG] }, { result: [] }]) });
    const r = await cli(['files', '-b', '-c']);
    expect(r.stdout.split('\n')).toEqual([
      '   RES PAGES DIRTY     SIZE  RES% FAULTS HITS FILE',
      `409600   100     0 10485760  3.9%    100    5 ${mnt}/big`,
      ` 32768     8  8192    40960 80.0%     10   30 ${mnt}/dir/a`,
      `442368   108  8192 10526720  4.2%    110   35 total`,
      '',
    ]);
    expect(await cli(['files'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('PATHs (relative, through a symlink) are asked as paths inside the mount, and printed as typed', async () => {
    await symlink(path.join(mnt, 'dir'), path.join(tmp, 'link'));
    const d = await daemon({ files: ok([A, B]) });
    const r = await cli(['files', '-R', 'link', 'mnt/big'], { cwd: tmp });
    expect(r.code).toBe(0);
    expect(d.params('files')).toEqual([{ paths: ['/dir', '/big'], recursive: true }]);
    expect(r.stdout.split('\n').map((l) => l.split(' ').pop())).toEqual(['FILE', 'link/a', 'link/sub/b', '']);
  });

  it('--json: the records as the daemon gave them, each with its mountpoint; a file with no name left', async () => {
    const gone = fileRecord('', { ino: 9, resident_pages: 1, pages: 1 });
    await daemon({ files: ok([A, gone]) });
    const r = await cli(['files', '--json']);
    expect(JSON.parse(r.stdout)).toEqual([
      { ...gone, mountpoint: mnt },
      { ...A, mountpoint: mnt },
    ]);
    const text = await cli(['files']);
    expect(text.stdout).toContain('(deleted, inode 9)');
  });

  it('a path in no machpager mount (66), a missing page size (76), the daemon saying ENOENT (66)', async () => {
    const outside = await cli(['files', 'run']);
    expect({ code: outside.code, stderr: outside.stderr }).toEqual({ code: EXIT.NOINPUT, stderr: `machpager: run: not in a machpager mount (mounts: ${mnt})\n` });
    await daemon({ hello: ok({ protocol: 1 }), files: ok([]) });
    const bad = await cli(['files', 'mnt/big']);
    expect(bad.code).toBe(EXIT.PROTOCOL);
    expect(bad.stderr).toMatch(/^machpager: mnt\/big: malformed answer from the daemon: hello: pid is missing\n$/);
    for (const d of daemons) await d.close();
    daemons = [];
    await daemon({ files: () => ({ error: { code: 'ENOENT', message: '/nope: no such file' } }) });
    const missing = await cli(['files', 'mnt/nope']);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: EXIT.NOINPUT, stderr: 'machpager: mnt/nope: /nope: no such file\n' });
  });

  it('table: aligned columns, the last left-aligned one unpadded; the bench tables are the same table, two spaces apart with a rule', () => {
    expect(table(['name', 'n', 'what'], [['a', '10', 'x'], ['bbb', '2', '']], ['left', 'right', 'left'])).toEqual(['name  n what', 'a    10 x', 'bbb   2']);
    const lines: string[] = [];
    printTable('title', [{ name: 'reads', value: 1234.5, unit: 'MiB/s', detail: '4K' }, { name: 'w', value: 2, unit: 'op/s' }], (l) => lines.push(l));
    expect(lines).toEqual(['', 'title', 'benchmark  value  unit   detail', '---------  -----  -----  ------', 'reads      1,235  MiB/s  4K', 'w              2  op/s']);
  });

  it('humanSize as fincore prints sizes', () => {
    expect([0, 512, 1024, 1536, 4096, 1048576, 1572864, 10 << 20, 1023 * 1024 + 1000].map(humanSize)).toEqual(['0B', '512B', '1K', '1.5K', '4K', '1M', '1.5M', '10M', '1M']);
  });
});

describe('sync, evict, policy, cache-size', () => {
  it('sync PATH asks for that file; sync (or sync MOUNTPOINT) for the whole mount', async () => {
    const d = await daemon({ sync: (p) => ({ result: { synced: typeof p.path === 'string' ? p.path : '/' } }) });
    expect(await cli(['sync', 'mnt/dir/a'])).toMatchObject({ code: 0, stdout: 'synced mnt/dir/a\n' });
    expect(await cli(['sync'], { cwd: path.join(mnt, 'dir') })).toMatchObject({ code: 0, stdout: `synced ${mnt}\n` });
    expect(await cli(['sync', mnt])).toMatchObject({ code: 0, stdout: `synced ${mnt}\n` });
    expect(JSON.parse((await cli(['sync', '--json', 'mnt/big'])).stdout)).toEqual({ synced: '/big' });
    expect(d.params('sync')).toEqual([{ path: '/dir/a' }, {}, {}, { path: '/big' }]);
  });

  it('evict PATH... one request per path, summed; --all [MOUNTPOINT]; neither: usage', async () => {
    const d = await daemon({ evict: (p) => ({ result: p.all === true ? { evicted_pages: 120, files: 3 } : { evicted_pages: 8, files: 1 } }) });
    expect(await cli(['evict', 'mnt/dir/a', 'mnt/big'])).toMatchObject({ code: 0, stdout: 'evicted 16 pages of 2 files (mnt/dir/a mnt/big)\n' });
    expect(await cli(['evict', '--all', mnt])).toMatchObject({ code: 0, stdout: `evicted 120 pages of 3 files (${mnt})\n` });
    // -R goes into directories, as files -R does.
    expect(await cli(['evict', '-R', 'mnt/dir'])).toMatchObject({ code: 0 });
    expect(JSON.parse((await cli(['evict', '--all', '--json'])).stdout)).toEqual({ evicted_pages: 120, files: 3 });
    expect(d.params('evict')).toEqual([{ path: '/dir/a' }, { path: '/big' }, { all: true }, { path: '/dir', recursive: true }, { all: true }]);
    const neither = await cli(['evict']);
    expect({ code: neither.code, stderr: neither.stderr }).toEqual({ code: EXIT.USAGE, stderr: 'machpager: evict: name the files (PATH...) or say --all\n' });
  });

  it('policy shows, and switches; an unknown name is the daemon\'s EINVAL: one line, exit 2', async () => {
    let current = 'mach';
    const d = await daemon({
      policy: (p) => {
        if (p.name === undefined) return { result: { policy: current, policies: ['mach', 'fifo', 'lru'] } };
        if (p.name === 'nope') return { error: { code: 'EINVAL', message: 'unknown policy (known: mach, fifo, lru)' } };
        const previous = current;
        current = typeof p.name === 'string' ? p.name : '?';
        return { result: { policy: current, previous, policies: ['mach', 'fifo', 'lru'] } };
      },
    });
    expect(await cli(['policy'])).toMatchObject({ code: 0, stdout: 'policy: mach (available: mach, fifo, lru)\n' });
    expect(await cli(['policy', 'lru'])).toMatchObject({ code: 0, stdout: 'policy: mach -> lru\n' });
    expect(JSON.parse((await cli(['policy', '--json'])).stdout)).toEqual({ policy: 'lru', policies: ['mach', 'fifo', 'lru'] });
    const bad = await cli(['policy', 'nope']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: EXIT.USAGE, stderr: 'machpager: policy nope: unknown policy (known: mach, fifo, lru)\n' });
    expect(d.params('policy')).toEqual([{}, { name: 'lru' }, {}, { name: 'nope' }]);
    // The mount the way stats takes it: a path alone shows, NAME MOUNTPOINT switches.
    expect(await cli(['policy', mnt], { mounts: [mnt, path.join(tmp, 'other')] })).toMatchObject({ code: 0, stdout: 'policy: lru (available: mach, fifo, lru)\n' });
    expect(await cli(['policy', 'fifo', mnt], { mounts: [mnt, path.join(tmp, 'other')] })).toMatchObject({ code: 0, stdout: 'policy: lru -> fifo\n' });
    expect(d.params('policy').slice(4)).toEqual([{}, { name: 'fifo' }]);
  });

  it('cache-size shows, and resizes (K/M/G sizes sent in bytes); a bad size is refused before asking', async () => {
    const d = await daemon({
      cacheSize: (p) => ({ result: typeof p.size === 'number' ? { cache_size: p.size, frames: p.size / 4096, page_size: 4096, previous: 2 << 20 } : { cache_size: 2 << 20, frames: 512, page_size: 4096 } }),
    });
    expect(await cli(['cache-size'])).toMatchObject({ code: 0, stdout: 'cache size: 2M (512 frames of 4K)\n' });
    expect(await cli(['cache-size', '1M'])).toMatchObject({ code: 0, stdout: 'cache size: 2M -> 1M (256 frames of 4K)\n' });
    expect(JSON.parse((await cli(['cache-size', '--json', '512K'])).stdout)).toEqual({ cache_size: 524288, frames: 128, page_size: 4096, previous: 2097152 });
    const bad = await cli(['cache-size', '12Q']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: EXIT.USAGE, stderr: 'machpager: cache-size 12Q: not a size (a number with an optional K, M or G suffix: 64M, 512K)\n' });
    expect(d.params('cacheSize')).toEqual([{}, { size: 1048576 }, { size: 524288 }]);
    // A path alone is the mount; SIZE MOUNTPOINT resizes it.
    expect(await cli(['cache-size', mnt], { mounts: [mnt, path.join(tmp, 'other')] })).toMatchObject({ code: 0, stdout: 'cache size: 2M (512 frames of 4K)\n' });
    expect(await cli(['cache-size', '1M', mnt], { mounts: [mnt, path.join(tmp, 'other')] })).toMatchObject({ code: 0, stdout: 'cache size: 2M -> 1M (256 frames of 4K)\n' });
    expect(d.params('cacheSize').slice(3)).toEqual([{}, { size: 1048576 }]);
  });
});

describe('top', () => {
  const r2 = statsRecord({ ...R1, faults: 150, lookups: 600, hits: 500, pageins: 140, timestamp: R1.timestamp + 2000 });
  const files = [
    fileRecord('/dir/a', { ino: 3, size: 40960, pages: 10, resident_pages: 8, dirty_pages: 2, resident_fraction: 0.8, faults: 10, hits: 30 }),
    fileRecord('/big', { ino: 5, size: 10 << 20, pages: 2560, resident_pages: 100, faults: 100, hits: 5 }),
    fileRecord('/cold', { ino: 6, size: 4096, pages: 1, cached: true }),
  ];

  it('not a terminal: plain screens, one per interval, no escape sequences', async () => {
    await daemon({ stats: sequence([{ result: R1 }, { result: r2 }]), files: ok(files) });
    const slept: number[] = [];
    const r = await cli(['top', '-n', '2', '-i', '2'], { sleep: (ms) => (slept.push(ms), Promise.resolve()) });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).not.toContain('\x1b');
    const screens = r.stdout.split('\n\nmachpager top - ');
    expect(screens).toHaveLength(2);
    expect(slept).toEqual([2000]);
    const second = screens[1]?.split('\n') ?? [];
    expect(second).toContain('Per s:   faults 15, lookups 100, hits 100, read ahead 0, pageins 15, pageouts 0, zero fills 0, evictions 0 clean 0 dirty');
    expect(second).toContain('Totals:  faults 150, lookups 600, hits 500 (83.3%), read ahead 0 (0 used, 0 unused), pageins 140, pageouts 5, reactivated 0, page errors 0');
    expect(second.find((l) => l.startsWith('Hit ratio: '))).toMatch(/^Hit ratio: 100\.0% \|█ {39}\| last 1 interval of 2s$/);
    const resident = second.slice(second.indexOf('Most resident') + 1, second.indexOf('Most resident') + 4);
    expect(resident.map((l) => l.split(' ').pop())).toEqual(['FILE', '/mnt/x/big', '/mnt/x/dir/a']);
    const dirty = second.slice(second.indexOf('Most dirty') + 1);
    expect(dirty.filter((l) => l !== '').map((l) => l.split(' ').pop())).toEqual(['FILE', '/mnt/x/dir/a']);
  });

  it('on a terminal: the alternate screen, redrawn in place, q quits and restores the terminal', async () => {
    await daemon({ stats: ok(R1), files: ok(files) });
    let frames = 0;
    const terminal = fakeTerminal({ columns: 60, rows: 20 });
    const r = await cli(['top'], {
      terminal,
      env: { TERM: 'xterm-256color' },
      sleep: () => {
        if (++frames === 3) terminal.press('q');
        return Promise.resolve();
      },
    });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.startsWith(`${ENTER_SCREEN}\x1b[H`)).toBe(true);
    expect(r.stdout.endsWith(LEAVE_SCREEN)).toBe(true);
    expect(r.stdout.split('\x1b[H')).toHaveLength(1 + 3);
    expect(r.stdout).toContain('\x1b[1mMost resident\x1b[22m');
    expect(terminal.listening).toBe(0);
    for (const frame of r.stdout.split('\x1b[H')) {
      // eslint-disable-next-line no-control-regex -- the escape sequences are what is stripped
      const lines = frame.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').split('\n');
      expect(lines.length).toBeLessThanOrEqual(20);
      for (const line of lines) expect([...line].length).toBeLessThanOrEqual(60);
    }
  });

  it('NO_COLOR: no colour on a terminal; FORCE_COLOR: colour in a pipe; Ctrl-C quits too', async () => {
    await daemon({ stats: ok(R1), files: ok(files) });
    const terminal = fakeTerminal({ columns: 80, rows: 30 }, (t) => t.press('\x03'));
    const plain = await cli(['top'], { terminal, env: { TERM: 'xterm-256color', NO_COLOR: '1' } });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(ENTER_SCREEN);
    expect(plain.stdout).not.toContain('\x1b[1m');
    const forced = await cli(['top', '-n', '1'], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain('\x1b[1mMost resident');
    expect(forced.stdout).not.toContain(ENTER_SCREEN);
  });

  it('the daemon going away mid-way: the terminal is restored, then one line and 69', async () => {
    await daemon({ stats: sequence([{ result: R1 }, { close: true }]), files: ok(files) });
    const terminal = fakeTerminal({ columns: 80, rows: 30 });
    const r = await cli(['top'], { terminal });
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.stdout.endsWith(LEAVE_SCREEN)).toBe(true);
    expect(r.stderr).toBe(`machpager: ${mnt}: the daemon closed the connection before answering\n`);
    expect(terminal.listening).toBe(0);
  });
});

describe('--help', () => {
  it('lists the commands; each documents its options', async () => {
    const top = await cli(['--help']);
    for (const c of ['stats [options] [MOUNTPOINT] [COUNT]', 'files [options] [PATH...]', 'top [options] [MOUNTPOINT]', 'sync [options] [PATH]', 'evict [options] PATH... | --all [MOUNTPOINT]', 'policy [options] [NAME]', 'cache-size [options] [SIZE]']) {
      expect(top.stdout).toContain(c);
    }
    expect(top.stdout).toMatch(/^ {2}76 /m);
    const stats = await cli(['stats', '--help']);
    for (const w of ['--json', '-w, --wait <seconds>', '-m, --mount <path>', 'pfaults']) expect(stats.stdout).toContain(w);
    const files = await cli(['files', '--help']);
    for (const w of ['-R, --recursive', '-b, --bytes', 'RES bytes resident']) expect(files.stdout).toContain(w);
  });
});
