/**
 * `machpager mount`, mounted for real, in child processes: the CLI as the
 * executable runs it (`node dist/daemon/cli/main.js`, MachFilesystem), and
 * the same CLI with the filesystem double (test/cli/fixtures/double-cli.js).
 * Programs in child processes (sh, cat, stat, dd, fusermount, mount) use
 * the mounts; this process only reads /proc/self/mountinfo. Every wait is
 * a bounded poll; afterEach stops every CLI and daemon it started and
 * unmounts whatever is left (fusermount -u, then -uz), also after a failure.
 *
 * Needs /dev/fuse and root (mount -t, the build from `npm run build`).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { findMount, readMountinfo } from '../../daemon/fs/fuse/mount-table.js';
import {
  alive,
  CliProcess,
  cliEnv,
  daemonPid,
  DOUBLE_CLI,
  DOUBLE_HELPER,
  HELPER,
  MAIN,
  mounted,
  removeTemp,
  run,
  tempDir,
  unmountAllUnder,
  until,
  type Result,
} from './harness.js';

interface Target {
  readonly name: string;
  readonly cli: string;
  readonly helper: string;
  /** MachFilesystem: fsync is durable (the double's fsync does nothing). */
  readonly real: boolean;
}

const TARGETS: readonly Target[] = [
  { name: 'MachFilesystem (dist/daemon/cli/main.js)', cli: MAIN, helper: HELPER, real: true },
  { name: 'the filesystem double', cli: DOUBLE_CLI, helper: DOUBLE_HELPER, real: false },
];

it('has /dev/fuse, root and the build to mount with (scripts/setup and CI provide them)', () => {
  expect(existsSync('/dev/fuse')).toBe(true);
  expect(process.getuid?.()).toBe(0);
  for (const t of TARGETS) expect(existsSync(t.cli), `${t.cli}: run npm run build`).toBe(true);
});

describe.each(TARGETS)('mounted for real: $name', ({ cli, helper, real }) => {
  let tmp = '';
  let mnt = '';
  let home = '';
  let env: NodeJS.ProcessEnv = {};
  let procs: CliProcess[] = [];
  let daemons: number[] = [];

  const machpager = async (args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Result> => {
    const r = await run(process.execPath, [cli, ...args], { env: { ...env, ...extraEnv }, cwd: tmp });
    if (/daemon pid \d+/.test(r.stderr)) daemons.push(daemonPid(r.stderr));
    return r;
  };
  const foreground = (args: readonly string[], extraEnv: Record<string, string> = {}): CliProcess => {
    const p = new CliProcess(cli, ['mount', ...args], { ...env, ...extraEnv }, tmp);
    procs.push(p);
    return p;
  };
  const sh = (script: string): Promise<Result> => run('sh', ['-c', script], { cwd: tmp });
  const ok = async (r: Result | Promise<Result>): Promise<Result> => {
    const result = await r;
    expect(result, result.stderr).toMatchObject({ code: 0 });
    return result;
  };
  const gone = (pid: number): Promise<void> => until(() => !alive(pid), `daemon ${pid} to exit`);
  const store = (): string => `sqlite:${home}/machpager.db`;

  beforeEach(async () => {
    tmp = await tempDir('cli-mount');
    await chmod(tmp, 0o755);
    mnt = path.join(tmp, 'mnt');
    home = path.join(tmp, 'home');
    await mkdir(mnt);
    env = cliEnv({ MACHPAGER_HOME: home });
    procs = [];
    daemons = [];
  });

  afterEach(async () => {
    for (const p of procs) await p.stop();
    for (const pid of daemons) {
      if (!alive(pid)) continue;
      process.kill(pid, 'SIGTERM');
      await until(() => !alive(pid), `daemon ${pid} to stop`).catch(() => process.kill(pid, 'SIGKILL'));
    }
    await unmountAllUnder(tmp);
    const left = (await readMountinfo()).filter((e) => e.mountPoint.startsWith(`${tmp}/`));
    await removeTemp(tmp);
    expect(left).toEqual([]);
  });

  it('foreground: serves, and SIGTERM syncs, unmounts and exits 0; the data is there at the next mount', async () => {
    const p = foreground(['mnt']);
    await p.waitFor(/mounted .* on /);
    expect(p.stderr).toContain(`machpager: mounted ${store()} on ${mnt} (cache 64M, page 4K, policy mach, direct)\n`);
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.machpager', source: store() });
    await ok(sh(`printf 'hello\\n' > mnt/a && mkdir mnt/d && printf deep > mnt/d/b`));

    p.child.kill('SIGTERM');
    expect(await p.exit()).toEqual({ code: 0, signal: null });
    expect(p.stderr).toContain('machpager: SIGTERM: syncing...\n');
    expect(p.stderr).toMatch(/machpager: unmounted .* synced and closed/);
    expect(await mounted(mnt)).toBe(false);

    await ok(machpager(['mount', '--daemon', 'mnt']));
    expect((await ok(sh('cat mnt/a mnt/d/b'))).stdout).toBe('hello\ndeep');
    await ok(run('fusermount', ['-u', mnt]));
    await gone(daemons[0] ?? 0);
  });

  it('foreground: an external fusermount -u is noticed; it syncs and exits 0', async () => {
    const p = foreground(['--policy', 'lru', '--cache-size', '1M', 'mnt']);
    await p.waitFor(/mounted .* policy lru/);
    await ok(sh('dd if=/dev/urandom of=mnt/r bs=64k count=64 status=none && sha256sum mnt/r > sum'));
    await ok(run('fusermount', ['-u', mnt]));
    expect(await p.exit()).toEqual({ code: 0, signal: null });
    expect(p.stderr).toContain(`machpager: ${mnt} was unmounted (fusermount -u or umount); syncing...`);

    await ok(machpager(['mount', '--daemon', 'mnt']));
    await ok(sh('sha256sum -c sum'));
  });

  it('--daemon returns only once the mount answers, logs where it was told, and exits when unmounted', async () => {
    const log = path.join(tmp, 'daemon.log');
    const r = await ok(machpager(['mount', '--daemon', '--log-file', log, '-o', 'cache_size=2M,page_size=16K', 'mnt']));
    // Right away, from another process: the mount answers.
    expect((await ok(run('stat', ['-c', '%F', mnt]))).stdout).toBe('directory\n');
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.machpager', source: store() });
    expect(r.stderr).toContain(`machpager: mounted ${store()} on ${mnt} (cache 2M, page 16K, policy mach, direct)\n`);
    expect(r.stderr).toMatch(new RegExp(`machpager: daemon pid \\d+; it logs to ${log}; unmount with: fusermount -u ${mnt}\\n`));
    const pid = daemonPid(r.stderr);
    expect(alive(pid)).toBe(true);
    await ok(sh('echo x > mnt/x'));

    await ok(run('fusermount', ['-u', mnt]));
    await gone(pid);
    const text = await readFile(log, 'utf8');
    expect(text).toMatch(/machpager\[\d+\]: mounted /);
    expect(text).toMatch(/was unmounted \(fusermount -u or umount\); syncing\.\.\./);
    expect(text).toMatch(/unmounted .* synced and closed/);
  });

  it('a stale mount left by a killed daemon is cleaned by the next mount', async () => {
    let r = await ok(machpager(['mount', '--daemon', 'mnt']));
    const first = daemonPid(r.stderr);
    await ok(sh('dd if=/dev/urandom of=mnt/f bs=4k count=8 conv=fsync status=none && sha256sum mnt/f > sum'));
    process.kill(first, 'SIGKILL');
    await gone(first);
    const stale = await run('stat', [mnt]);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('Transport endpoint is not connected');

    r = await ok(machpager(['mount', '--daemon', 'mnt']));
    expect(r.stderr).toContain(`machpager: cleaned a stale mount at ${mnt} (its daemon had died)\n`);
    expect((await ok(run('stat', ['-c', '%F', mnt]))).stdout).toBe('directory\n');
    // fsync(2) returned: the data survives the SIGKILL (the double keeps nothing unsynced).
    if (real) await ok(sh('sha256sum -c sum'));
  });

  it('a busy mountpoint or a store already mounted: one line, exit 75, nothing created', async () => {
    await ok(machpager(['mount', '--daemon', 'mnt']));
    let r = await machpager(['mount', 'sqlite:other.db', 'mnt']);
    expect(r.code).toBe(EXIT.TEMPFAIL);
    expect(r.stderr).toMatch(new RegExp(`^machpager: ${mnt}: the mountpoint is busy: [^\\n]*\\n$`));
    expect(existsSync(path.join(tmp, 'other.db'))).toBe(false);

    await mkdir(path.join(tmp, 'mnt2'));
    r = await machpager(['mount', 'mnt2']);
    expect(r.code).toBe(EXIT.TEMPFAIL);
    expect(r.stderr).toBe(`machpager: store ${store()}: in use: already mounted on ${mnt}\n`);
    expect(await mounted(path.join(tmp, 'mnt2'))).toBe(false);
  });

  it('--daemon: a failure in the daemon comes back as its one line and exit code; the store is untouched', async () => {
    const foreign = path.join(tmp, 'foreign.db');
    await writeFile(foreign, 'SQLite format 2? no: just text\n');
    const r = await machpager(['mount', '--daemon', 'foreign.db', 'mnt']);
    expect(r.code).toBe(EXIT.DATAERR);
    expect(r.stderr).toMatch(new RegExp(`^machpager: store sqlite:${foreign}: [^\\n]*not a machpager store[^\\n]*\\n$`));
    expect(await readFile(foreign, 'utf8')).toBe('SQLite format 2? no: just text\n');
    expect((await sh('ls -a')).stdout.split('\n').filter((n) => n.startsWith('foreign'))).toEqual(['foreign.db']);
    expect(await mounted(mnt)).toBe(false);
  });

  it('mounting again right after fusermount -u waits for the old daemon to finish its sync', async () => {
    const r = await ok(machpager(['mount', '--daemon', 'mnt']));
    const first = daemonPid(r.stderr);
    await ok(sh('dd if=/dev/urandom of=mnt/big bs=1M count=8 status=none && sha256sum mnt/big > sum'));
    await ok(run('fusermount', ['-u', mnt]));
    await ok(machpager(['mount', '--daemon', 'mnt']));
    await gone(first); // it let go of the store (its lock) before it exited, after its sync
    await ok(sh('sha256sum -c sum'));
  });

  it('mount -t fuse.machpager (via /sbin/mount.fuse) and the mount.machpager helper, with fstab options', async () => {
    const bin = path.join(tmp, 'bin');
    await mkdir(bin);
    await symlink(cli, path.join(bin, 'machpager'));
    // mount(8) → /sbin/mount.fuse → `machpager none MNT -o rw,dev,suid,cache_size=1M,nofail`
    let r = await run('mount', ['-t', `fuse.${bin}/machpager`, 'none', mnt, '-o', 'cache_size=1M,noauto,nofail,x-systemd.automount'], { env, cwd: tmp });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    const pid = daemonPid(r.stderr);
    daemons.push(pid);
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.machpager', source: store() });
    expect(r.stderr).toContain('(cache 1M, page 4K, policy mach, direct)');
    await ok(run('umount', [mnt]));
    await gone(pid);

    // mount(8) → /sbin/mount.machpager SPEC DIR -o OPTS (run here directly: it is not installed in /sbin by tests)
    r = await run(process.execPath, [helper, 'default', mnt, '-o', 'rw,noauto,_netdev,cache_size=2M,policy=fifo'], { env, cwd: tmp });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    daemons.push(daemonPid(r.stderr));
    expect(r.stderr).toContain('(cache 2M, page 4K, policy fifo, direct)');
    await ok(run('fusermount', ['-u', mnt]));
    await gone(daemonPid(r.stderr));

    // -f is mount(8)'s fake mount: checked, not mounted.
    r = await run(process.execPath, [helper, 'default', mnt, '-f'], { env, cwd: tmp });
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^would mount /);
    expect(await mounted(mnt)).toBe(false);
  });
});

describe('signals while syncing, uncaught errors, a daemon that does not come up (the filesystem double)', () => {
  let tmp = '';
  let procs: CliProcess[] = [];

  beforeEach(async () => {
    tmp = await tempDir('cli-signals');
    await mkdir(path.join(tmp, 'mnt'));
    procs = [];
  });

  afterEach(async () => {
    for (const p of procs) await p.stop();
    await unmountAllUnder(tmp);
    await removeTemp(tmp);
  });

  const start = async (delayMs: number, extra: Record<string, string> = {}): Promise<CliProcess> => {
    const p = new CliProcess(DOUBLE_CLI, ['mount', 'mnt'], cliEnv({ MACHPAGER_HOME: path.join(tmp, 'home'), MACHPAGER_TEST_SYNC_DELAY_MS: String(delayMs), ...extra }), tmp);
    procs.push(p);
    await p.waitFor(/mounted /, 30_000);
    return p;
  };

  it('a second signal says it is still syncing and changes nothing: the sync finishes, exit 0', async () => {
    const p = await start(1500);
    p.child.kill('SIGINT');
    await p.waitFor(/SIGINT: syncing\.\.\./);
    p.child.kill('SIGTERM');
    await p.waitFor(/SIGTERM: still syncing/);
    // ... and what the sync is waiting on.
    await p.waitFor(/machpager: {3}waiting on test double: a slow sync\n/);
    expect(await p.exit()).toEqual({ code: 0, signal: null });
    expect(await mounted(path.join(tmp, 'mnt'))).toBe(false);
  });

  it('a third signal detaches the mount lazily and exits 1 without waiting', async () => {
    const p = await start(60_000);
    p.child.kill('SIGTERM');
    await p.waitFor(/SIGTERM: syncing\.\.\./);
    p.child.kill('SIGTERM');
    await p.waitFor(/still syncing/);
    p.child.kill('SIGTERM');
    expect(await p.exit(15_000)).toEqual({ code: 1, signal: null });
    expect(p.stderr).toContain('lazily without finishing');
    await until(async () => !(await mounted(path.join(tmp, 'mnt'))), 'the lazy unmount');
  });

  it('an uncaught error unmounts and exits 1', async () => {
    const p = await start(0, { MACHPAGER_TEST_THROW_AFTER_MS: '300' });
    expect(await p.exit()).toEqual({ code: 1, signal: null });
    expect(p.stderr).toContain('machpager: error: internal error: test double: a planted failure\n');
    expect(await mounted(path.join(tmp, 'mnt'))).toBe(false);
  });

  it('--daemon gives up after --daemon-timeout: exit 69, the daemon stopped, nothing mounted', async () => {
    const env = cliEnv({ MACHPAGER_HOME: path.join(tmp, 'home'), MACHPAGER_TEST_OPEN_DELAY_MS: '3000' });
    const r = await run(process.execPath, [DOUBLE_CLI, 'mount', '--daemon', '--daemon-timeout', '0.5', 'mnt'], { env, cwd: tmp });
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.stderr).toMatch(/^machpager: mount \S+: the daemon \(pid \d+\) was not ready within 0\.5 s; stopped it \(run in the foreground, or add --log-file PATH, to see why\)\n$/);
    const pid = Number(/pid (\d+)/.exec(r.stderr)?.[1]);
    await until(() => !alive(pid), 'the stopped daemon to exit');
    expect(await mounted(path.join(tmp, 'mnt'))).toBe(false);
  });
});
