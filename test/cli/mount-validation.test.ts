/**
 * `machpager mount` with bad input, run in this process with a recording
 * filesystem factory: every failure is ONE line "machpager: <what>: <why>"
 * on stderr and the documented exit code, the filesystem is not opened,
 * and nothing appears on disk (no store, no store directory, no lock).
 * Also: the default store's location, store names, the precedence of
 * flags, -o and the environment, --help, --dry-run.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { DEFAULT_PAGER_TIMEOUT_MS, policyNames } from '../../kernel/index.js';
import { resolveMountPlan, type Given } from '../../daemon/cli/mount-plan.js';
import { defaultStoreDir, resolveStore } from '../../daemon/cli/store-location.js';
import { parseFsStoreName } from '../../stores/fs-store.js';
import { given, mountInput } from '../helpers/mount-input.js';
import { removeTemp, runInProcess, tempDir, type InProcess } from './harness.js';

let tmp = '';
let home = '';

/** Every file and directory under `dir`, relative. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

async function mount(argv: string[], options: Partial<Parameters<typeof runInProcess>[1]> = {}): Promise<InProcess> {
  return runInProcess(['mount', ...argv], { cwd: tmp, ...options, env: { MACHPAGER_HOME: home, ...(options.env ?? {}) } });
}

/** Run, and check: exit code, one line matching `line`, the filesystem never opened, nothing created. */
async function refused(argv: string[], exitCode: number, line: RegExp, options: Partial<Parameters<typeof runInProcess>[1]> = {}): Promise<InProcess> {
  const before = await tree(tmp);
  const r = await mount(argv, options);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: exitCode, stderr: expect.stringMatching(/^machpager: [^\n]+\n$/) as unknown });
  expect(r.lines[0]).toMatch(line);
  expect(r.opened).toEqual([]);
  expect(await tree(tmp)).toEqual(before);
  return r;
}

beforeEach(async () => {
  tmp = await tempDir('cli-validation');
  home = path.join(tmp, 'home');
  await mkdir(path.join(tmp, 'mnt'));
});

afterEach(async () => {
  await removeTemp(tmp);
});

describe('bad input: one line, the exit code, nothing opened or created', () => {
  it('a missing MOUNTPOINT, unknown options and commands are usage errors (2)', async () => {
    await refused([], EXIT.USAGE, /^machpager: mount: missing MOUNTPOINT/);
    await refused(['--polcy', 'lru', 'mnt'], EXIT.USAGE, /^machpager: unknown option '--polcy' \(Did you mean --policy\?\)$/);
    await refused(['a', 'b', 'c'], EXIT.USAGE, /too many arguments/);
    await refused(['--daemon', '-f', 'mnt'], EXIT.USAGE, /^machpager: --daemon: contradicts -f/);
    await refused(['--daemon', '-d', 'mnt'], EXIT.USAGE, /^machpager: --daemon: -d\/--debug runs in the foreground/);
    await refused(['--log-file', 'x.log', 'mnt'], EXIT.USAGE, /only with --daemon/);
    await refused(['--daemon-timeout', 'soon', '--daemon', 'mnt'], EXIT.USAGE, /^machpager: --daemon-timeout soon: not a positive number/);
    const r = await runInProcess(['mnt'], { cwd: tmp, env: { MACHPAGER_HOME: home } });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.lines).toEqual(["machpager: unknown command 'mnt' (Did you mean mount?)"]);
  });

  it('a mountpoint that is missing (66), not a directory (66), not empty (73)', async () => {
    await refused(['nodir'], EXIT.NOINPUT, new RegExp(`^machpager: ${tmp}/nodir: the mountpoint does not exist \\(make it with: mkdir -p ${tmp}/nodir\\)$`));
    await refused(['no/such/dir'], EXIT.NOINPUT, /the mountpoint does not exist/);
    await writeFile(path.join(tmp, 'file'), 'x');
    await refused(['file'], EXIT.NOINPUT, /: the mountpoint is not a directory$/);
    await writeFile(path.join(tmp, 'mnt', 'inside'), 'x');
    await refused(['mnt'], EXIT.CANTCREAT, /the mountpoint is not empty \(use an empty directory, or -o nonempty/);
  });

  it('a store under its own mountpoint (2): the mount would hide it', async () => {
    await refused(['sqlite:mnt/fs.db', 'mnt'], EXIT.USAGE, new RegExp(`^machpager: store sqlite:${tmp}/mnt/fs.db: lies under the mountpoint ${tmp}/mnt: the mount would hide it`));
    await refused(['file:mnt', 'mnt'], EXIT.USAGE, /lies under the mountpoint/);
    await refused(['file:mnt/deep/store', 'mnt'], EXIT.USAGE, /lies under the mountpoint/);
  });

  it('sizes that do not parse or do not fit (2)', async () => {
    await refused(['--cache-size', '64Q', 'mnt'], EXIT.USAGE, /^machpager: --cache-size 64Q: not a size/);
    await refused(['--cache-size', '8K', 'mnt'], EXIT.USAGE, /^machpager: --cache-size 8K: the cache holds at least 4 pages \(16K with 4K pages\)$/);
    await refused(['--cache-size', '20000', 'mnt'], EXIT.USAGE, /not a whole number of 4K pages/);
    await refused(['--cache-size', '1P', 'mnt'], EXIT.USAGE, /larger than this machine's memory/);
    await refused(['--page-size', '3000', 'mnt'], EXIT.USAGE, /^machpager: --page-size 3000: the page size is a power of two from 512 to 64K$/);
    await refused(['--page-size', '128K', 'mnt'], EXIT.USAGE, /power of two/);
    await refused(['--page-size', '256', 'mnt'], EXIT.USAGE, /power of two/);
    await refused(['-o', 'page_size=16K', '--cache-size', '32K', 'mnt'], EXIT.USAGE, /^machpager: --cache-size 32K: the cache holds at least 4 pages \(64K with 16K pages\)$/);
  });

  it('an unknown policy lists the known ones; a bad cache mode (2)', async () => {
    await refused(['--policy', 'nope', 'mnt'], EXIT.USAGE, new RegExp(`^machpager: --policy nope: unknown policy \\(known: ${policyNames().join(', ')}\\)$`));
    await refused(['-o', 'policy=nope', 'mnt'], EXIT.USAGE, /^machpager: -o policy=nope: unknown policy/);
    await refused(['--cache-mode', 'mmap', 'mnt'], EXIT.USAGE, /^machpager: --cache-mode mmap: the cache mode is direct or kernel$/);
  });

  it('a bad --pager-timeout, -o pager_timeout= or MACHPAGER_PAGER_TIMEOUT says what a duration is (2)', async () => {
    await refused(['--pager-timeout', 'soon', 'mnt'], EXIT.USAGE, /^machpager: --pager-timeout soon: not a duration \(a number with a unit: 500ms, 30s, 2m; 0 for none\)$/);
    await refused(['--pager-timeout', '-5s', 'mnt'], EXIT.USAGE, /^machpager: --pager-timeout -5s: not a duration/);
    await refused(['--pager-timeout', '10d', 'mnt'], EXIT.USAGE, /not a duration/);
    await refused(['--pager-timeout', '0.1ms', 'mnt'], EXIT.USAGE, /^machpager: --pager-timeout 0.1ms: shorter than 1ms \(0 means none\)$/);
    await refused(['--pager-timeout', '1000h', 'mnt'], EXIT.USAGE, /longer than 24 days/);
    await refused(['-o', 'pager_timeout=x', 'mnt'], EXIT.USAGE, /^machpager: -o pager_timeout=x: not a duration/);
    await refused(['--pager-timeout', '5s', '-o', 'pager_timeout=6s', 'mnt'], EXIT.USAGE, /^machpager: --pager-timeout 5s: conflicts with -o pager_timeout=6s$/);
    await refused(['mnt'], EXIT.USAGE, /^machpager: MACHPAGER_PAGER_TIMEOUT=never: not a duration/, { env: { MACHPAGER_PAGER_TIMEOUT: 'never' } });
  });

  it('a --live-mrc, -o live_mrc= or MACHPAGER_LIVE_MRC other than on or off is refused (2)', async () => {
    await refused(['--live-mrc', 'maybe', 'mnt'], EXIT.USAGE, /^machpager: --live-mrc maybe: the live miss-ratio curve is on or off$/);
    await refused(['-o', 'live_mrc=no', 'mnt'], EXIT.USAGE, /^machpager: -o live_mrc=no: the live miss-ratio curve is on or off$/);
    await refused(['--live-mrc', 'on', '-o', 'live_mrc=off', 'mnt'], EXIT.USAGE, /^machpager: --live-mrc on: conflicts with -o live_mrc=off$/);
    await refused(['mnt'], EXIT.USAGE, /^machpager: MACHPAGER_LIVE_MRC=0: the live miss-ratio curve is on or off$/, { env: { MACHPAGER_LIVE_MRC: '0' } });
  });

  it('bad values from the environment name the variable (2)', async () => {
    await refused(['mnt'], EXIT.USAGE, /^machpager: MACHPAGER_CACHE_SIZE=lots: not a size/, { env: { MACHPAGER_CACHE_SIZE: 'lots' } });
    await refused(['mnt'], EXIT.USAGE, /^machpager: MACHPAGER_POLICY=zz: unknown policy/, { env: { MACHPAGER_POLICY: 'zz' } });
    await refused(['mnt'], EXIT.USAGE, /^machpager: MACHPAGER_STORE=memory:: a filesystem keeps its data in sqlite:PATH, file:DIR or postgres:/, { env: { MACHPAGER_STORE: 'memory:' } });
  });

  it('bad -o options, and a flag and -o that disagree (2)', async () => {
    await refused(['-o', 'uid=abc', 'mnt'], EXIT.USAGE, /^machpager: -o uid=abc: not a numeric id/);
    await refused(['-o', 'allow_other,allow_root', 'mnt'], EXIT.USAGE, /exclude each other/);
    await refused(['-o', 'cache_mode=fast', 'mnt'], EXIT.USAGE, /^machpager: -o cache_mode=fast: the cache mode is direct or kernel$/);
    await refused(['--cache-size', '32M', '-o', 'cache_size=64M', 'mnt'], EXIT.USAGE, /^machpager: --cache-size 32M: conflicts with -o cache_size=64M$/);
    await refused(['sqlite:a.db', 'mnt', '-o', 'store=sqlite:b.db'], EXIT.USAGE, /^machpager: store sqlite:a.db: conflicts with -o store=sqlite:b.db$/);
  });

  it('store names that are not filesystem stores (2), and stores that cannot be (66, 65)', async () => {
    await refused(['memory:', 'mnt'], EXIT.USAGE, /^machpager: store memory:: a filesystem keeps its data in sqlite:PATH, file:DIR or postgres:\/\/USER@HOST\/DB, not memory:$/);
    await refused(['sqlite:', 'mnt'], EXIT.USAGE, /names no path/);
    await refused(['sqlite:/no/such/dir/x.db', 'mnt'], EXIT.NOINPUT, /^machpager: store sqlite:\/no\/such\/dir\/x.db: the directory \/no\/such\/dir does not exist$/);
    await refused(['file:nodir/store', 'mnt'], EXIT.NOINPUT, /the directory .*nodir does not exist/);
    await refused(['-o', 'ro', 'sqlite:new.db', 'mnt'], EXIT.NOINPUT, /does not exist \(a read-only mount creates nothing\)/);
    await writeFile(path.join(tmp, 'plain'), 'not a directory');
    await refused(['file:plain', 'mnt'], EXIT.DATAERR, /is not a directory/);
    await mkdir(path.join(tmp, 'adir'));
    await refused(['sqlite:adir', 'mnt'], EXIT.DATAERR, /is a directory, not a SQLite file/);
    await writeFile(path.join(tmp, 'adir', 'photo.jpg'), 'x');
    await refused(['file:adir', 'mnt'], EXIT.DATAERR, /a directory with other files and no machpager catalog/);
  });

  it('a foreign store (65) or an unreadable one (77) is left exactly as it was', async () => {
    const foreign = path.join(tmp, 'foreign.db');
    await writeFile(foreign, 'this is not a machpager store\n');
    const before = await tree(tmp);
    const notOurs = () => Promise.reject(Object.assign(new Error(`EINVAL: ${foreign} is not a machpager store (not a SQLite database)`), { code: 'EINVAL' }));
    let r = await mount(['foreign.db', 'mnt'], { impl: notOurs });
    expect(r.code).toBe(EXIT.DATAERR);
    expect(r.lines).toEqual([`machpager: store sqlite:${foreign}: ${foreign} is not a machpager store (not a SQLite database)`]);
    expect(r.opened.map((c) => c.store)).toEqual([`sqlite:${foreign}`]);
    expect(r.opened[0]?.create).toBe(false);
    expect(await readFile(foreign, 'utf8')).toBe('this is not a machpager store\n');
    expect(await tree(tmp)).toEqual(before);

    const denied = () => Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${foreign}'`), { code: 'EACCES' }));
    r = await mount(['foreign.db', 'mnt'], { impl: denied });
    expect(r.code).toBe(EXIT.NOPERM);
    expect(r.lines).toHaveLength(1);
    expect(await tree(tmp)).toEqual(before);
  });

  it('a new store whose opening fails is removed again, with the directory made for it', async () => {
    const before = await tree(tmp);
    const halfMade = async (config: { store: string }) => {
      await writeFile(config.store.slice('sqlite:'.length), 'half a store');
      throw Object.assign(new Error('EIO: disk on fire'), { code: 'EIO' });
    };
    const r = await mount(['mnt'], { impl: halfMade });
    expect(r.code).toBe(EXIT.IOERR);
    expect(r.lines).toEqual([`machpager: store sqlite:${home}/machpager.db: disk on fire`]);
    expect(r.opened.map((c) => [c.store, c.create])).toEqual([[`sqlite:${home}/machpager.db`, true]]);
    expect(await tree(tmp)).toEqual(before);
  });

  it('allow_other as a user other than root needs user_allow_other in fuse.conf (78)', async () => {
    const conf = path.join(tmp, 'fuse.conf');
    await writeFile(conf, '# mount_max = 1000\n#user_allow_other\n');
    await refused(['-o', 'allow_other', 'mnt'], EXIT.CONFIG, new RegExp(`^machpager: -o allow_other: needs 'user_allow_other' in ${conf} for a user other than root`), { uid: 1000, fuseConfPath: conf });
    await writeFile(conf, 'user_allow_other\n');
    const r = await mount(['-o', 'allow_other', 'mnt'], { uid: 1000, fuseConfPath: conf });
    expect(r.code).toBe(EXIT.IOERR); // past the check: the test factory refuses to open
  });
});

describe('what works without mounting', () => {
  it('--dry-run checks everything, says what it would do, and creates nothing', async () => {
    const before = await tree(tmp);
    const r = await mount(['--dry-run', '--policy', 'lru', '-o', 'allow_other,cache_size=1M', 'mnt']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain(`would mount sqlite:${home}/machpager.db (new store, would be created) on ${tmp}/mnt (cache 1M, page 4K, policy lru, direct)`);
    expect(r.stdout).toContain('FUSE options big_writes,allow_other');
    expect(r.opened).toEqual([]);
    expect(await tree(tmp)).toEqual(before);
  });

  it('--help documents the commands, examples and exit codes; mount --help every option; --version', async () => {
    const top = await runInProcess(['--help'], { cwd: tmp });
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('mount [options] [STORE] MOUNTPOINT');
    expect(top.stdout).toContain('Examples:');
    for (const code of ['0 ', '1 ', '2 ', '65', '66', '69', '73', '74', '75', '77', '78']) expect(top.stdout).toMatch(new RegExp(`^  ${code}`, 'm'));
    const m = await runInProcess(['mount', '--help'], { cwd: tmp });
    expect(m.code).toBe(0);
    for (const word of ['--cache-size', '--page-size', '--policy', '--cache-mode', '--daemon', '--log-file', '-o <options>', 'MACHPAGER_CACHE_SIZE', 'cache_size=SIZE', 'allow_other', 'x-systemd', 'machpager.db', 'Exit codes:', 'fusermount -u']) {
      expect(m.stdout).toContain(word);
    }
    expect(m.stdout).not.toContain('--daemon-child');
    const v = await runInProcess(['--version'], { cwd: tmp });
    expect(v).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) as unknown });
    const none = await runInProcess([], { cwd: tmp });
    expect(none.code).toBe(EXIT.USAGE);
  });
});

describe('stores and the precedence of values', () => {
  const ctx = { env: {}, uid: 1000, homedir: '/home/ann', cwd: '/work' };

  it('the embedded default store: $MACHPAGER_HOME, /var/lib/machpager for root, else XDG_DATA_HOME or ~/.local/share', () => {
    expect(defaultStoreDir({ ...ctx, env: { MACHPAGER_HOME: '/srv/mp' } })).toBe('/srv/mp');
    expect(defaultStoreDir({ ...ctx, env: { MACHPAGER_HOME: 'rel' } })).toBe('/work/rel');
    expect(defaultStoreDir({ ...ctx, uid: 0 })).toBe('/var/lib/machpager');
    expect(defaultStoreDir({ ...ctx, env: { XDG_DATA_HOME: '/data' } })).toBe('/data/machpager');
    expect(defaultStoreDir({ ...ctx, env: { XDG_DATA_HOME: 'relative' } })).toBe('/home/ann/.local/share/machpager');
    expect(defaultStoreDir(ctx)).toBe('/home/ann/.local/share/machpager');
    for (const word of [undefined, '', 'default', 'none', 'machpager']) {
      expect(resolveStore(word, ctx)).toEqual({ name: 'sqlite:/home/ann/.local/share/machpager/machpager.db', kind: 'sqlite', path: '/home/ann/.local/share/machpager/machpager.db', isDefault: true });
    }
  });

  it('store names become absolute typed names the filesystem parses the same way', () => {
    const cases: [string, string][] = [
      ['sqlite:home.db', 'sqlite:/work/home.db'],
      ['sqlite:/srv/a.db', 'sqlite:/srv/a.db'],
      ['home.db', 'sqlite:/work/home.db'],
      ['file:pages', 'file:/work/pages'],
      ['pages', 'file:/work/pages'],
      ['/srv/pages/', 'file:/srv/pages'],
      ['./a:b', 'file:/work/a:b'],
    ];
    for (const [spec, name] of cases) {
      const loc = resolveStore(spec, ctx);
      expect(loc.name).toBe(name);
      expect(parseFsStoreName(loc.name)).toEqual({ kind: loc.kind, path: loc.path });
    }
  });

  it('the argument beats -o store=, which beats --store, which beats MACHPAGER_STORE; -o beats the environment', () => {
    expect(resolveMountPlan(mountInput({ store: given('env.db', 'env', '--store', 'MACHPAGER_STORE') }), ctx).store.name).toBe('sqlite:/work/env.db');
    expect(resolveMountPlan(mountInput({ store: given('env.db', 'env', '--store'), options: ['store=o.db'] }), ctx).store.name).toBe('sqlite:/work/o.db');
    expect(resolveMountPlan(mountInput({ args: ['arg.db', 'mnt'], store: given('env.db', 'env', '--store') }), ctx).store.name).toBe('sqlite:/work/arg.db');
    expect(resolveMountPlan(mountInput({ args: ['none', 'mnt'], options: ['store=o.db'] }), ctx).store.name).toBe('sqlite:/work/o.db');
    expect(resolveMountPlan(mountInput({ args: ['none', 'mnt'] }), ctx).store.isDefault).toBe(true);
    expect(() => resolveMountPlan(mountInput({ args: ['arg.db', 'mnt'], store: given('cli.db', 'cli', '--store') }), ctx)).toThrow(/conflicts with --store cli.db/);

    const plan = resolveMountPlan(mountInput({ cacheSize: given('1G', 'env', '--cache-size', 'MACHPAGER_CACHE_SIZE'), options: ['cache_size=1M,ro,allow_other'] }), ctx);
    expect(plan).toMatchObject({ cacheSize: 1 << 20, readOnly: true, mountpoint: '/work/mnt', fuse: { readOnly: true, allowOther: true } });
    expect(resolveMountPlan(mountInput({ debug: true }), ctx)).toMatchObject({ debug: true, fuse: { debug: true } });
  });

  it('--live-mrc: on when not given; off from the flag, -o live_mrc= or live-mrc=', () => {
    expect(resolveMountPlan(mountInput({}), ctx).liveMrc).toBe(true);
    expect(resolveMountPlan(mountInput({ options: ['live_mrc=off'] }), ctx).liveMrc).toBe(false);
    expect(resolveMountPlan(mountInput({ options: ['live-mrc=on'] }), ctx).liveMrc).toBe(true);
    expect(resolveMountPlan(mountInput({ liveMrc: given('off', 'cli', '--live-mrc') }), ctx).liveMrc).toBe(false);
  });

  it('--pager-timeout: the kernel default when not given; units ms, s, m, h; a bare number is seconds; 0 is none', () => {
    const timeout = (value: string, source: Given['source'] = 'cli'): number =>
      resolveMountPlan(mountInput({ pagerTimeout: given(value, source, '--pager-timeout') }), ctx).pagerTimeoutMs;
    expect(resolveMountPlan(mountInput({}), ctx).pagerTimeoutMs).toBe(DEFAULT_PAGER_TIMEOUT_MS);
    expect(timeout('500ms')).toBe(500);
    expect(timeout('30s')).toBe(30_000);
    expect(timeout('1.5s')).toBe(1500);
    expect(timeout('2m')).toBe(120_000);
    expect(timeout('1h')).toBe(3_600_000);
    expect(timeout('45')).toBe(45_000);
    expect(timeout('0')).toBe(0);
    expect(timeout('0s')).toBe(0);
    expect(resolveMountPlan(mountInput({ options: ['pager_timeout=250ms'] }), ctx).pagerTimeoutMs).toBe(250);
    expect(resolveMountPlan(mountInput({ pagerTimeout: given('1s', 'env', '--pager-timeout'), options: ['pager-timeout=2s'] }), ctx).pagerTimeoutMs).toBe(2000);
  });
});

describe('the embedded default store on disk', () => {
  it('is not there before a mount is asked for (nothing is made by a check)', async () => {
    await refused(['--policy', 'nope', 'mnt'], EXIT.USAGE, /unknown policy/);
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
