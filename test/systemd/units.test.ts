/**
 * The units in systemd/: `systemd-analyze verify` passes on every one of
 * them; machpager@.service has what a FUSE daemon under systemd needs and
 * nothing that would hide its mount; the example settings file and the
 * .mount example are accepted by the CLI as they are. Plus the systemd
 * reading rules of unit-file.ts, which service.test.ts relies on.
 *
 * systemd-analyze comes with Debian's systemd package (scripts/setup). Its
 * verify checks that every Exec program exists and is executable, and
 * machpager is not installed here: each unit is verified as a copy in which
 * the program `machpager` is this checkout's dist/daemon/cli/main.js
 * (executable, built by npm run build), nothing else changed. A template
 * (NAME@.service) is verified through an instance, NAME@test.service.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helperMountArgs } from '../../daemon/cli/helper-args.js';
import { parseMountOptions } from '../../daemon/cli/mount-options.js';
import { controlDir } from '../../daemon/control/socket-path.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { MAIN, REPO, removeTemp, runInProcess, tempDir } from '../cli/harness.js';
import {
  expandExecLine,
  expandSpecifiers,
  parseEnvironmentFile,
  parseUnitFile,
  unitEnvironment,
  value,
  values,
  type UnitFile,
} from './unit-file.js';

const SYSTEMD_DIR = path.join(REPO, 'systemd');
const UNIT_SUFFIXES = ['.service', '.mount', '.automount', '.socket', '.timer', '.path', '.target'];
const SERVICE = path.join(SYSTEMD_DIR, 'machpager@.service');
const EXAMPLE_CONF = path.join(SYSTEMD_DIR, 'machpager.conf.example');

let tmp = '';
beforeAll(async () => {
  tmp = await tempDir('systemd-units');
});
afterAll(async () => {
  await removeTemp(tmp);
});

function run(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function unitFiles(): Promise<string[]> {
  return (await readdir(SYSTEMD_DIR)).filter((f) => UNIT_SUFFIXES.some((s) => f.endsWith(s))).sort();
}

async function readUnit(file: string): Promise<UnitFile> {
  return parseUnitFile(await readFile(file, 'utf8'));
}

/** The unit's text with the program `machpager` of every Exec line replaced by this checkout's executable. */
function withCheckoutBinary(text: string): string {
  return text.replace(/^(Exec[A-Za-z]+=[-@:+!]*)machpager(?=\s|$)/gm, `$1${MAIN}`);
}

describe('systemd-analyze verify', () => {
  it('is installed (Debian package systemd; scripts/setup), and the build it points units at exists', async () => {
    const r = await run('systemd-analyze', ['--version']);
    expect(r.code, 'systemd-analyze missing: run scripts/setup (apt-get install systemd)').toBe(0);
    expect(existsSync(MAIN), 'run npm run build').toBe(true);
  });

  it('systemd/ has the service, the example settings and a .mount example', async () => {
    expect(await unitFiles()).toEqual(expect.arrayContaining(['machpager@.service', 'mnt-pages.mount']));
    expect(existsSync(EXAMPLE_CONF)).toBe(true);
  });

  it('passes on every unit in systemd/, with nothing to say', async () => {
    const dir = path.join(tmp, 'verify');
    await mkdir(dir);
    const targets: string[] = [];
    for (const file of await unitFiles()) {
      await writeFile(path.join(dir, file), withCheckoutBinary(await readFile(path.join(SYSTEMD_DIR, file), 'utf8')));
      targets.push(path.join(dir, file.replace(/@\./, '@test.')));
    }
    const r = await run('systemd-analyze', ['verify', ...targets]);
    expect({ code: r.code, output: `${r.stdout}${r.stderr}` }).toEqual({ code: 0, output: '' });
  });

  it('would say so if a unit were wrong (the check is not blind)', async () => {
    const dir = path.join(tmp, 'verify-bad');
    await mkdir(dir);
    const text = withCheckoutBinary(await readFile(SERVICE, 'utf8')).replace('KillMode=mixed', 'KillMode=mixed\nNoSuchSetting=1');
    await writeFile(path.join(dir, 'machpager@.service'), text);
    const r = await run('systemd-analyze', ['verify', path.join(dir, 'machpager@test.service')]);
    expect(`${r.stdout}${r.stderr}`).toContain("Unknown key 'NoSuchSetting'");
    await copyFile(SERVICE, path.join(dir, 'machpager@.service'));
    const unrewritten = await run('systemd-analyze', ['verify', path.join(dir, 'machpager@test.service')]);
    // Not installed here: which is why the copy points at the checkout.
    if (!existsSync('/usr/bin/machpager') && !existsSync('/usr/local/bin/machpager')) expect(unrewritten.stderr).toContain('Command machpager is not executable');
  });
});

describe('machpager@.service', () => {
  it('is Type=notify, stops by SIGTERM with a long timeout, restarts after a crash, cleans a dead mount after stopping', async () => {
    const unit = await readUnit(SERVICE);
    const v = (key: string): string => value(unit, 'Service', key);
    expect([v('Type'), v('NotifyAccess'), v('KillMode'), v('Restart')]).toEqual(['notify', 'all', 'mixed', 'on-failure']);
    expect(values(unit, 'Service', 'KillSignal')).toEqual([]); // SIGTERM, the default: the daemon syncs on it
    expect(/^(\d+)min$/.exec(v('TimeoutStopSec'))?.[1]).toSatisfy((m: string | undefined) => Number(m) >= 10);
    expect(v('ExecStart')).toBe('machpager mount --foreground');
    expect(values(unit, 'Service', 'ExecStartPre')).toEqual([]);
    expect(v('ExecStopPost')).toMatch(/^-\/bin\/sh -c .*fusermount -uz .*\$\{MACHPAGER_MOUNTPOINT\}$/);
    expect(values(unit, 'Service', 'EnvironmentFile')).toEqual(['/etc/machpager/%i.conf']);
    expect(value(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
    // What a restart cannot fix is not restarted.
    expect(v('RestartPreventExitStatus').split(/\s+/).map(Number)).toEqual([EXIT.USAGE, EXIT.DATAERR, EXIT.CANTCREAT, EXIT.TEMPFAIL, EXIT.NOPERM, EXIT.CONFIG]);
  });

  it('gives the daemon no mount namespace of its own (the mount would be invisible), and no MemoryDenyWriteExecute (Node dies)', async () => {
    const unit = await readUnit(SERVICE);
    const set = new Set((unit.sections.get('Service') ?? []).map(([k]) => k));
    const namespacing = [
      'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'PrivateNetwork', 'PrivateUsers',
      'ReadWritePaths', 'ReadOnlyPaths', 'InaccessiblePaths', 'ExecPaths', 'NoExecPaths', 'BindPaths', 'BindReadOnlyPaths',
      'TemporaryFileSystem', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups',
      'ProtectProc', 'ProcSubset', 'MountFlags', 'RootDirectory', 'RootImage', 'DynamicUser', 'MountAPIVFS', 'LogNamespace',
    ];
    expect(namespacing.filter((k) => set.has(k))).toEqual([]);
    expect(set.has('MemoryDenyWriteExecute')).toBe(false);
    expect(value(unit, 'Service', 'CapabilityBoundingSet').split(/\s+/)).toContain('CAP_SYS_ADMIN');
    expect(value(unit, 'Service', 'SystemCallFilter').split(/\s+/)).toEqual(expect.arrayContaining(['@system-service', '@mount']));
    expect([value(unit, 'Service', 'DevicePolicy'), value(unit, 'Service', 'DeviceAllow'), value(unit, 'Service', 'NoNewPrivileges')]).toEqual(['closed', '/dev/fuse rw', 'yes']);
  });

  it("keeps root's control sockets where the commands look (/run/machpager, shared by every instance) and the default stores in /var/lib/machpager", async () => {
    const unit = await readUnit(SERVICE);
    expect(`/run/${value(unit, 'Service', 'RuntimeDirectory')}`).toBe(controlDir({ uid: 0, env: {} }));
    expect(value(unit, 'Service', 'RuntimeDirectoryPreserve')).toBe('yes');
    expect(value(unit, 'Service', 'RuntimeDirectoryMode')).toBe('0700');
    expect(value(unit, 'Service', 'StateDirectory')).toBe('machpager');
    const env = unitEnvironment(unit, 'machpager@home.service', {}, () => '');
    expect(env.MACHPAGER_STORE).toBe('sqlite:/var/lib/machpager/home.db');
  });
});

describe('machpager.conf.example', () => {
  it('names only variables that `machpager mount` reads', async () => {
    const env = parseEnvironmentFile(await readFile(EXAMPLE_CONF, 'utf8'));
    expect(Object.keys(env).length).toBeGreaterThan(0);
    const help = await runInProcess(['help', 'mount'], { cwd: tmp });
    for (const key of Object.keys(env)) {
      expect(key).toMatch(/^MACHPAGER_/);
      expect(help.stdout, `${key} in machpager help mount`).toContain(key);
    }
    expect(env.MACHPAGER_MOUNTPOINT).toBe('/mnt/home');
  });

  it('is a mount the CLI accepts as it is (only the mountpoint and the store moved here)', async () => {
    const unit = await readUnit(SERVICE);
    const conf = await readFile(EXAMPLE_CONF, 'utf8');
    const mnt = path.join(tmp, 'conf-mnt');
    await mkdir(mnt);
    const env = unitEnvironment(unit, 'machpager@home.service', {}, () => `${conf}\nMACHPAGER_MOUNTPOINT=${mnt}\nMACHPAGER_STORE=sqlite:${tmp}/conf.db\n`);
    const argv = expandExecLine(value(unit, 'Service', 'ExecStart'), 'machpager@home.service', env).argv;
    expect(argv[0]).toBe('machpager');
    const r = await runInProcess([...argv.slice(1), '--dry-run'], { cwd: '/', env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain(`on ${mnt} (cache 256M, page 4K, policy mach, direct); FUSE options big_writes,allow_other,default_permissions`);
  });
});

describe('mnt-pages.mount', () => {
  it('is named after its mountpoint, and mount.machpager takes its What, Where and Options (a fake mount: checks only)', async () => {
    const unit = await readUnit(path.join(SYSTEMD_DIR, 'mnt-pages.mount'));
    const where = value(unit, 'Mount', 'Where');
    expect(`${where.slice(1).replace(/\//g, '-')}.mount`).toBe('mnt-pages.mount');
    expect(value(unit, 'Mount', 'Type')).toBe('fuse.machpager');
    const options = value(unit, 'Mount', 'Options');
    expect(() => parseMountOptions([options])).not.toThrow();

    const mnt = path.join(tmp, 'pages');
    await mkdir(mnt);
    const what = value(unit, 'Mount', 'What').replace('/var/lib/machpager', tmp);
    const helper = helperMountArgs([what, mnt, '-f', '-o', options.replace('/var/log', tmp)]);
    const r = await runInProcess(helper.args, { cwd: '/' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`would mount sqlite:${tmp}/pages.db (new store, would be created) on ${mnt} (cache 128M, page 4K, policy mach, direct)`);
  });
});

describe('reading units as systemd does (unit-file.ts)', () => {
  it('environment files: comments, quotes, escapes, continued lines, blanks around the value', () => {
    const text = [
      '# comment',
      '; another',
      'A=plain',
      'B = spaced value  ',
      'C="double \\"quoted\\" $x \\\\ \\n kept"',
      "D='single \\ $x'",
      'E=con\\',
      'tinued',
      'F=',
      'G=a"b c"d',
    ].join('\n');
    expect(parseEnvironmentFile(text)).toEqual({
      A: 'plain', B: 'spaced value', C: 'double "quoted" $x \\ \\n kept', D: 'single \\ $x', E: 'continued', F: '', G: 'ab cd',
    });
  });

  it('specifiers and Exec lines: ${VAR} inside a word, $VAR alone split at white space (nothing when empty), $$, quotes, the - prefix', () => {
    expect(expandSpecifiers('/etc/machpager/%i.conf %I %n %N %p %%', 'machpager@mnt-a\\x20b.service')).toBe('/etc/machpager/mnt-a\\x20b.conf mnt/a b machpager@mnt-a\\x20b.service machpager@mnt-a\\x20b machpager %');
    const env = { M: '/mnt/a b', ARGS: '-o  ro "x y"', EMPTY: '' };
    expect(expandExecLine(`-/bin/sh -c 'echo "$$1"' name \${M} $ARGS $EMPTY \${UNSET}x %i`, 'u@inst.service', env)).toEqual({
      argv: ['/bin/sh', '-c', 'echo "$1"', 'name', '/mnt/a b', '-o', 'ro', 'x y', 'x', 'inst'],
      ignoreFailure: true,
    });
    expect(() => expandExecLine('x %Z', 'u@i.service', {})).toThrow(/specifier %Z/);
  });
});
