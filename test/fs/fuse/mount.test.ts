/**
 * FuseMount (daemon/fs/fuse/), mounted for real. Each test starts the in-memory
 * fixture (dist/bench/fuse-memfs.js, built by `npm run build`) in a child
 * process and drives it with real programs, also in child processes: this
 * process never touches the mount itself. Readiness is awaited from the
 * fixture's own "ready" line (it resolves only once the kernel's init came
 * and mountinfo lists the mount), bounded; nothing sleeps. afterEach stops
 * the fixture and unmounts whatever is left (fusermount -u, else -uz), also
 * when a test failed.
 *
 * Needs /dev/fuse and root (the request-context test uses setpriv and
 * allow_other). scripts/setup installs and builds everything else.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemFsOptions } from '../../../bench/fuse-memfs.js';
import { buildMountOptions, type FuseMountOptions } from '../../../daemon/fs/fuse/options.js';
import { findMount, fusermount, parseMountinfo, readMountinfo } from '../../../daemon/fs/fuse/mount-table.js';
import { terminate } from '../../helpers/child-exit.js';

const repo = path.resolve(import.meta.dirname, '../../..');
const FIXTURE = path.join(repo, 'dist/bench/fuse-memfs.js');
const ADDON = path.join(repo, 'node_modules/@cocalc/fuse-native/build/Release/fuse.node');
const hasFuse = existsSync('/dev/fuse');
const isRoot = process.getuid?.() === 0;
const WAIT_MS = 10_000;

// ---------------------------------------------------------------------------
// Helpers

interface FixtureEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

interface Stats extends FixtureEvent {
  readonly creates: readonly { path: string; mode: number; flags: number; ctx: { uid: number; gid: number; pid: number } }[];
  readonly utimens: readonly { path: string; atime: Timespec | 'now' | 'omit'; mtime: Timespec | 'now' | 'omit' }[];
  readonly writeSizes: Readonly<Record<string, number>>;
}

interface Waiter {
  readonly type: string;
  readonly resolve: (e: FixtureEvent) => void;
  readonly reject: (err: Error) => void;
}

/** The fixture in its child process, and the JSON lines it prints. */
class Fixture {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly seen: FixtureEvent[] = [];
  private readonly queued: FixtureEvent[] = [];
  private waiters: Waiter[] = [];
  private closed = false;
  private stderr = '';

  constructor(mountpoint: string, options: FuseMountOptions, memfs: MemFsOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [FIXTURE, mountpoint, JSON.stringify(options), JSON.stringify(memfs)], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child.stdin?.on('error', () => undefined); // the fixture may be gone when a command is written
    if (this.child.stdout) {
      const lines = createInterface({ input: this.child.stdout });
      lines.on('line', (line) => this.onLine(line));
      lines.on('close', () => this.onClose());
    }
  }

  private onLine(line: string): void {
    let event: FixtureEvent;
    try {
      event = JSON.parse(line) as FixtureEvent;
    } catch {
      return;
    }
    this.seen.push(event);
    const i = this.waiters.findIndex((w) => w.type === event.type);
    const waiter = i < 0 ? undefined : this.waiters.splice(i, 1)[0];
    if (waiter) waiter.resolve(event);
    else this.queued.push(event);
  }

  private onClose(): void {
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failure(`the fixture ended before "${w.type}"`));
  }

  private failure(what: string): Error {
    return new Error(`${what}; its lines: ${JSON.stringify(this.seen)}; stderr: ${this.stderr}`);
  }

  /** The next event of `type`, bounded; rejects when the fixture ends without one. */
  take(type: string, timeoutMs = WAIT_MS): Promise<FixtureEvent> {
    const i = this.queued.findIndex((e) => e.type === type);
    const found = i < 0 ? undefined : this.queued.splice(i, 1)[0];
    if (found) return Promise.resolve(found);
    if (this.closed) return Promise.reject(this.failure(`the fixture ended before "${type}"`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        type,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(this.failure(`no "${type}" from the fixture within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  command(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  async stats(): Promise<Stats> {
    this.command('stats');
    return (await this.take('stats')) as Stats;
  }

  async reset(): Promise<void> {
    this.command('reset');
    await this.take('reset');
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (it unmounts), then SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    await terminate(this.child, this.exited, 5000);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a program in a child process (never synchronously), bounded. */
function sh(file: string, args: readonly string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: WAIT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(file: string, args: readonly string[]): Promise<string> {
  const r = await sh(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Unmount whatever is mounted at `mnt`: fusermount -u, else lazily. */
async function cleanupMount(mnt: string): Promise<void> {
  for (let i = 0; i < 3 && (await findMount(mnt)); i++) {
    await fusermount(mnt, { lazy: i > 0 }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// Pure parts

describe('mount options and mountinfo', () => {
  it('builds -o options: big_writes by default, uid/gid/umask also for 0, umask in octal, escaped values', () => {
    expect(buildMountOptions({})).toEqual(['big_writes']);
    expect(buildMountOptions({ bigWrites: false })).toEqual([]);
    expect(buildMountOptions({ uid: 0, gid: 0, umask: 0 })).toEqual(['big_writes', 'uid=0', 'gid=0', 'umask=000']);
    expect(buildMountOptions({ umask: 0o022, uid: 1000 })).toContain('umask=022');
    expect(buildMountOptions({ fsname: 'a,b\\c', subtype: 'machpager' })).toEqual(['big_writes', 'fsname=a\\,b\\\\c', 'subtype=machpager']);
    expect(
      buildMountOptions({
        directIo: true, kernelCache: true, maxWrite: 1 << 20, useIno: true, allowOther: true, defaultPermissions: true,
        readOnly: true, hardRemove: true, autoUnmount: true, extraOptions: ['noatime'],
      }),
    ).toEqual(['big_writes', 'direct_io', 'kernel_cache', 'max_write=1048576', 'use_ino', 'allow_other', 'default_permissions', 'ro', 'hard_remove', 'auto_unmount', 'noatime']);
    expect(() => buildMountOptions({ uid: -1 })).toThrow(TypeError);
    expect(() => buildMountOptions({ extraOptions: ['a b'] })).toThrow(TypeError);
  });

  it('parses /proc/self/mountinfo, octal escapes included', () => {
    const text = '36 35 98:0 / /mnt/with\\040space rw,nosuid - fuse.memfs memfs rw,user_id=0\n40 36 0:5 / /x rw shared:1 - ext4 /dev/sda1 rw\n';
    expect(parseMountinfo(text)).toEqual([
      { id: 36, parentId: 35, mountPoint: '/mnt/with space', options: 'rw,nosuid', fstype: 'fuse.memfs', source: 'memfs', superOptions: 'rw,user_id=0' },
      { id: 40, parentId: 36, mountPoint: '/x', options: 'rw', fstype: 'ext4', source: '/dev/sda1', superOptions: 'rw' },
    ]);
  });
});

// ---------------------------------------------------------------------------
// Mounted

describe('FuseMount, mounted in a child process', () => {
  it('has /dev/fuse and root to mount with (scripts/setup and CI provide both)', () => {
    expect(hasFuse).toBe(true);
    expect(isRoot).toBe(true);
  });

  let tmp = '';
  let mnt = '';
  let fixtures: Fixture[] = [];

  const start = async (options: FuseMountOptions = {}, memfs: MemFsOptions = {}, env?: NodeJS.ProcessEnv): Promise<{ fixture: Fixture; ready: FixtureEvent }> => {
    const fixture = new Fixture(mnt, { allowOther: isRoot, watchIntervalMs: 100, ...options }, memfs, env);
    fixtures.push(fixture);
    const ready = await fixture.take('ready');
    return { fixture, ready };
  };
  const m = (name: string): string => path.join(mnt, name);

  beforeEach(async () => {
    if (!existsSync(FIXTURE)) throw new Error(`${FIXTURE} is missing: run npm run build first`);
    if (!existsSync(ADDON)) throw new Error(`${ADDON} is missing: run npm run build:fuse (or scripts/setup)`);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'machpager-fuse-'));
    await chmod(tmp, 0o755); // other users (setpriv) must reach the mountpoint
    mnt = path.join(tmp, 'mnt');
    await mkdir(mnt);
    fixtures = [];
  });

  afterEach(async () => {
    for (const f of fixtures) await f.stop();
    await cleanupMount(mnt);
    const left = (await readMountinfo()).filter((e) => e.mountPoint === tmp || e.mountPoint.startsWith(`${tmp}/`));
    if (left.length === 0) await rm(tmp, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('mounts (visible in mountinfo) and round-trips written data', async () => {
    const { ready } = await start();
    expect(ready.mountpoint).toBe(mnt);
    const entry = await findMount(mnt);
    expect(entry?.fstype).toBe('fuse.memfs');
    expect(entry?.source).toBe('memfs');

    await ok('sh', ['-c', `printf hello > ${m('a.txt')}`]);
    expect(await ok('cat', [m('a.txt')])).toBe('hello');

    const src = path.join(tmp, 'src');
    await ok('sh', ['-c', `head -c 300001 /dev/urandom > ${src}`]);
    await ok('cp', [src, m('b')]);
    await ok('cmp', [src, m('b')]);
    expect((await ok('stat', ['-c', '%s', m('b')])).trim()).toBe('300001');
    expect((await ok('ls', [mnt])).split('\n').filter(Boolean).sort()).toEqual(['a.txt', 'b']);
  });

  it('big_writes: a 1 MiB dd write arrives as 128 KiB requests', async () => {
    const { fixture } = await start();
    await fixture.reset();
    await ok('dd', ['if=/dev/zero', `of=${m('big')}`, 'bs=1M', 'count=1', 'status=none']);
    const stats = await fixture.stats();
    expect(stats.writeSizes).toEqual({ [128 * 1024]: 8 });
  });

  it('passes the request context: a file created by uid/gid 1000 is owned by 1000', async () => {
    const { fixture } = await start({ allowOther: true });
    await fixture.reset();
    await ok('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', 'touch', m('f')]);
    await ok('touch', [m('g')]);
    const { creates } = await fixture.stats();
    const f = creates.find((c) => c.path === '/f');
    const g = creates.find((c) => c.path === '/g');
    expect(f?.ctx).toMatchObject({ uid: 1000, gid: 1000 });
    expect(f?.ctx.pid).toBeGreaterThan(0);
    expect(g?.ctx).toMatchObject({ uid: 0, gid: 0 });
    expect((await ok('stat', ['-c', '%u:%g', m('f')])).trim()).toBe('1000:1000');
  });

  it('touch -a / touch -m: utimens gets UTIME_OMIT for the other time, nanoseconds exact', async () => {
    const { fixture } = await start();
    const times = async (): Promise<string> => (await ok('stat', ['-c', '%.9X %.9Y', m('t')])).trim();
    const utimens = async (): Promise<Stats['utimens']> => (await fixture.stats()).utimens.filter((u) => u.path === '/t');
    await ok('touch', ['-d', '@1000000000.5', m('t')]);
    expect(await times()).toBe('1000000000.500000000 1000000000.500000000');

    // touch -a: the kernel sends "atime now" (UTIME_NOW here) and nothing for mtime (UTIME_OMIT).
    await fixture.reset();
    await ok('touch', ['-a', m('t')]);
    let calls = await utimens();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.mtime).toBe('omit');
    expect(calls[0]?.atime).not.toBe('omit');
    const [atime, mtime] = (await times()).split(' ');
    expect(mtime).toBe('1000000000.500000000');
    expect(atime).not.toBe('1000000000.500000000');

    // touch -m with a time: mtime to the nanosecond, atime omitted and kept.
    await fixture.reset();
    await ok('touch', ['-m', '-d', '@1234567890.123456789', m('t')]);
    calls = await utimens();
    expect(calls).toEqual([expect.objectContaining({ atime: 'omit', mtime: { sec: 1234567890, nsec: 123456789 } })]);
    expect(await times()).toBe(`${atime} 1234567890.123456789`);

    // touch -a with a time (before 1970, too): atime set, mtime omitted and kept.
    await fixture.reset();
    await ok('touch', ['-a', '-d', '@-1.25', m('t')]);
    calls = await utimens();
    expect(calls).toEqual([expect.objectContaining({ atime: { sec: -2, nsec: 750_000_000 }, mtime: 'omit' })]);
    expect(await times()).toBe('-1.250000000 1234567890.123456789');

    // touch -m (now): mtime "now" or a time, atime omitted.
    await fixture.reset();
    await ok('touch', ['-m', m('t')]);
    calls = await utimens();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.atime).toBe('omit');
    expect(calls[0]?.mtime).not.toBe('omit');
    expect((await times()).split(' ')[0]).toBe('-1.250000000');
  });

  it('notices an external fusermount -u and says so', async () => {
    const { fixture } = await start();
    await ok('fusermount', ['-u', mnt]);
    const unmounted = await fixture.take('unmounted');
    expect(unmounted.external).toBe(true);
    expect((await fixture.exited).code).toBe(0);
    expect(await findMount(mnt)).toBeUndefined();
  });

  it('a fusermount -u that never returns does not hold the unmount: it goes on lazily', async () => {
    // A fusermount stuck in umount2 does not die on the kill of execFile's timeout.
    const bin = path.join(tmp, 'bin');
    await mkdir(bin);
    const real = (await ok('bash', ['-c', 'command -v fusermount || command -v fusermount3'])).trim();
    const stuck = path.join(bin, 'stuck.pid');
    await writeFile(path.join(bin, 'fusermount'), `#!/bin/sh\nif [ "$1" = -u ]; then echo $$ > ${stuck}; exec sleep 3600; fi\nexec ${real} "$@"\n`, { mode: 0o755 });
    const { fixture } = await start({ unmountTryMs: 300 }, {}, { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });
    fixture.command('unmount');
    // Well before execFile's own 30 s kill of the stuck child.
    const unmounted = await fixture.take('unmounted', 20_000);
    expect(unmounted.external).toBe(false);
    expect(await findMount(mnt)).toBeUndefined();
    // The stuck child is still there (and holds the fixture's event loop): end it.
    process.kill(Number(await readFile(stuck, 'utf8')), 'SIGKILL');
    expect((await fixture.exited).code).toBe(0);
  });

  it('cleans a stale mount left by a killed daemon, then mounts', async () => {
    const first = await start();
    expect(first.ready.cleanedStale).toBe(false);
    first.fixture.child.kill('SIGKILL');
    await first.fixture.exited;
    const probe = await sh('stat', [mnt]);
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toMatch(/Transport endpoint is not connected/);

    const second = await start();
    expect(second.ready.cleanedStale).toBe(true);
    await ok('sh', ['-c', `echo again > ${m('y')}`]);
    expect(await ok('cat', [m('y')])).toBe('again\n');
    expect((await readMountinfo()).filter((e) => e.mountPoint === mnt)).toHaveLength(1);
  });

  it('refuses a mountpoint that is already a live FUSE mount (EBUSY), leaving it alone', async () => {
    const first = await start();
    const second = new Fixture(mnt, { watchIntervalMs: 100 });
    fixtures.push(second);
    const failed = await second.take('failed');
    expect(failed.code).toBe('EBUSY');
    await ok('sh', ['-c', `echo still > ${m('z')}`]);
    expect(await ok('cat', [m('z')])).toBe('still\n');
    expect(first.fixture.alive).toBe(true);
  });

  it('rejects a missing mountpoint (ENOENT) and a non-empty one (ENOTEMPTY)', async () => {
    const missing = new Fixture(path.join(tmp, 'nope'), {});
    fixtures.push(missing);
    expect((await missing.take('failed')).code).toBe('ENOENT');
    const full = new Fixture(tmp, {});
    fixtures.push(full);
    expect((await full.take('failed')).code).toBe('ENOTEMPTY');
  });

  it('has no timeout by default; a configured one answers ETIMEDOUT and drops the late reply', async () => {
    const { fixture } = await start({ timeouts: { getattr: 100 } }, { slowGetattrMs: { '/slow': 400 } });
    const r = await sh('stat', [m('slow')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Connection timed out/);
    await ok('sh', ['-c', `echo fine > ${m('ok')}`]);
    expect(await ok('cat', [m('ok')])).toBe('fine\n');
    let counters: { timeouts?: number; lateReplies?: number } = {};
    for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; ) {
      counters = (await fixture.stats()).counters as typeof counters;
      if (counters.lateReplies === 1) break;
      await delay(50);
    }
    expect(counters).toMatchObject({ timeouts: 1, lateReplies: 1 });
  });

  it('answers a slow operation late without a timeout (no ETIMEDOUT)', async () => {
    await start({}, { slowGetattrMs: { '/slow': 300 } });
    expect((await ok('stat', ['-c', '%F', m('slow')])).trim()).toBe('directory');
  });
});

