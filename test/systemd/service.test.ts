/**
 * machpager@.service run the way systemd runs it, without systemd (PID 1
 * here is not systemd): the unit's ExecStart and ExecStopPost lines with
 * the environment systemd would give them (its own PATH and NOTIFY_SOCKET,
 * then Environment=, then the EnvironmentFile= — here the example settings
 * file with the mountpoint and the store moved into a temporary directory),
 * expanded as systemd expands them (unit-file.ts), started in / with
 * nothing on stdin. The notify socket is a real AF_UNIX datagram socket
 * (notify-socket.ts).
 *
 * The life of an instance: READY=1 from the daemon once the mount answers;
 * data written; SIGTERM (systemctl stop) gives STOPPING=1, exit 0, the mount
 * gone and the data synced (the next start reads it back); an unmount from
 * outside stops it cleanly too; after a SIGKILL, ExecStopPost cleans the
 * dead mount, and leaves alone a mountpoint that is fine.
 *
 * Needs root, /dev/fuse, python3 and systemd-notify (scripts/setup), and
 * the build. Every daemon started here is stopped and every mount
 * unmounted in afterEach, also after a failure.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findMount, readMountinfo } from '../../daemon/fs/fuse/mount-table.js';
import { MAIN, REPO, removeTemp, tempDir, unmountAllUnder, until } from '../cli/harness.js';
import { within } from '../helpers/child-exit.js';
import { field, NotifySocket } from './notify-socket.js';
import { expandExecLine, parseUnitFile, unitEnvironment, value, type UnitFile } from './unit-file.js';

const UNIT_NAME = 'machpager@svctest.service';
/** The PATH systemd gives system services. */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The main process of one start of the unit. */
class MainProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  output = '';

  constructor(argv: readonly string[], env: Record<string, string>) {
    // systemd would exec `machpager` from its search path; here it is this checkout's executable.
    expect(argv[0]).toBe('machpager');
    this.child = spawn(MAIN, argv.slice(1), { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (c: Buffer): void => {
      this.output += c.toString();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async exit(timeoutMs = 30_000): Promise<Exit> {
    return within(this.exited, timeoutMs, () => `the service did not exit within ${timeoutMs} ms; output: ${this.output}`);
  }
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('machpager@.service, run as systemd runs it', () => {
  let unit: UnitFile;
  let tmp = '';
  let mnt = '';
  let store = '';
  let socket: NotifySocket | undefined;
  let started: MainProcess[] = [];
  let env: Record<string, string> = {};

  const start = (): MainProcess => {
    const main = new MainProcess(expandExecLine(value(unit, 'Service', 'ExecStart'), UNIT_NAME, env).argv, env);
    started.push(main);
    return main;
  };
  const stopPost = async (): Promise<{ code: number; stderr: string }> => {
    const cmd = expandExecLine(value(unit, 'Service', 'ExecStopPost'), UNIT_NAME, env);
    expect(cmd.ignoreFailure).toBe(true);
    const [file, ...args] = cmd.argv;
    return run(file ?? '', args, env);
  };
  const sh = (script: string): Promise<{ code: number; stdout: string; stderr: string }> => run('sh', ['-c', script, 'sh', mnt]);

  beforeEach(async () => {
    unit = parseUnitFile(await readFile(path.join(REPO, 'systemd', 'machpager@.service'), 'utf8'));
    tmp = await tempDir('systemd-service');
    await chmod(tmp, 0o755);
    // A space in the mountpoint: ${MACHPAGER_MOUNTPOINT} must stay one word.
    mnt = path.join(tmp, 'mnt point');
    store = path.join(tmp, 'store.db');
    await mkdir(mnt);
    socket = await NotifySocket.open(path.join(tmp, 'notify.sock'));
    started = [];
    const settings =
      (await readFile(path.join(REPO, 'systemd', 'machpager.conf.example'), 'utf8')) +
      `\n# moved for the test\nMACHPAGER_MOUNTPOINT="${mnt}"\nMACHPAGER_STORE=sqlite:${store}\nMACHPAGER_CACHE_SIZE=1M\n`;
    env = unitEnvironment(
      unit,
      UNIT_NAME,
      { PATH: SYSTEMD_PATH, NOTIFY_SOCKET: socket.path, INVOCATION_ID: '0123456789abcdef0123456789abcdef', RUNTIME_DIRECTORY: '/run/machpager', STATE_DIRECTORY: '/var/lib/machpager' },
      (file) => (file === '/etc/machpager/svctest.conf' ? settings : undefined),
    );
  });

  afterEach(async () => {
    for (const p of started) {
      if (!p.alive) continue;
      p.child.kill('SIGTERM');
      await p.exit(20_000).catch(() => {
        p.child.kill('SIGKILL');
        return p.exited;
      });
    }
    await socket?.close();
    await unmountAllUnder(tmp);
    const left = (await readMountinfo()).filter((e) => e.mountPoint.startsWith(`${tmp}/`));
    await removeTemp(tmp);
    expect(left).toEqual([]);
  });

  it('the environment is the example settings with the test paths, over the unit default store', () => {
    expect(env).toMatchObject({ MACHPAGER_MOUNTPOINT: mnt, MACHPAGER_STORE: `sqlite:${store}`, MACHPAGER_CACHE_SIZE: '1M', MACHPAGER_OPTIONS: 'allow_other,default_permissions' });
    expect(env.HOME).toBeUndefined();
  });

  it('READY=1 once the mount answers; SIGTERM: STOPPING=1, synced, unmounted, exit 0; the next start reads the data; an outside unmount stops it too', async () => {
    const s = socket as NotifySocket;
    let main = start();
    const ready = await s.waitFor('READY=1');
    // From the main process (as root, systemd-notify sends with its parent's pid), which names itself MAINPID.
    expect(ready.pid).toBe(main.pid);
    expect(field(ready, 'MAINPID')).toBe(String(main.pid));
    expect(field(ready, 'STATUS')).toBe(`mounted sqlite:${store} on ${mnt} (cache 1M, page 4K, policy mach, direct)`);
    expect(s.with('STOPPING=1')).toEqual([]);

    // It answers, at once, from other processes.
    expect((await run('stat', ['-c', '%F', mnt])).stdout).toBe('directory\n');
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.machpager', source: `sqlite:${store}` });
    expect((await run('ls', ['-la', mnt])).code).toBe(0);
    // Its control socket is where the commands look.
    expect((await run(MAIN, ['stats', '--json', mnt], { ...env })).code).toBe(0);

    // 4 MiB through a 1 MiB cache, no fsync: what is still dirty is written at the stop.
    const wrote = await sh('dd if=/dev/urandom of="$1/data" bs=64k count=64 status=none && printf hello > "$1/small" && sha256sum < "$1/data"');
    expect(wrote.code, wrote.stderr).toBe(0);

    main.child.kill('SIGTERM');
    expect(await main.exit()).toEqual({ code: 0, signal: null });
    const stopping = await s.waitFor('STOPPING=1');
    expect(field(stopping, 'STATUS')).toBe(`syncing sqlite:${store} and unmounting ${mnt}`);
    expect(s.messages.findIndex((m) => m.fields.includes('READY=1'))).toBeLessThan(s.messages.indexOf(stopping));
    expect(main.output).toContain('machpager: SIGTERM: syncing...');
    expect(main.output).toMatch(/machpager: unmounted .* synced and closed/);
    expect(main.output).not.toContain('could not tell systemd');
    expect(await findMount(mnt)).toBeUndefined();

    // ExecStopPost after a clean stop: nothing to clean, nothing broken.
    expect((await stopPost()).code).toBe(0);
    expect((await run('stat', ['-c', '%F', mnt])).stdout).toBe('directory\n');

    // The next start has the data.
    main = start();
    await s.waitFor('READY=1', 1);
    const read = await sh('sha256sum < "$1/data" && cat "$1/small"');
    expect(read).toMatchObject({ code: 0, stdout: `${wrote.stdout}hello` });

    // An unmount from outside (fusermount -u, umount): the daemon syncs and exits 0.
    expect((await run('fusermount', ['-u', mnt])).code).toBe(0);
    expect(await main.exit()).toEqual({ code: 0, signal: null });
    expect(field(await s.waitFor('STOPPING=1', 1), 'STATUS')).toBe(`syncing sqlite:${store}`);
  });

  it('after a SIGKILL, ExecStopPost detaches the dead mount; it leaves a live mount alone', async () => {
    const s = socket as NotifySocket;
    const first = start();
    await s.waitFor('READY=1');
    // A live mount, served by another daemon: ExecStopPost must not touch it.
    expect((await stopPost()).code).toBe(0);
    expect(await findMount(mnt)).toBeDefined();
    expect((await run('stat', ['-c', '%F', mnt])).stdout).toBe('directory\n');

    first.child.kill('SIGKILL');
    expect(await first.exit()).toEqual({ code: null, signal: 'SIGKILL' });
    const dead = await run('stat', [mnt]);
    expect(dead.stderr).toContain('Transport endpoint is not connected');

    expect((await stopPost()).code).toBe(0);
    await until(async () => (await findMount(mnt)) === undefined, 'the dead mount to be gone');
    expect((await run('stat', ['-c', '%F', mnt])).stdout).toBe('directory\n');
  });
});
