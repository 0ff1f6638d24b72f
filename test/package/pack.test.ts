/**
 * The package as users get it: `npm pack` (whose prepack builds dist/),
 * then `npm install -g --prefix DIR TARBALL` from a clean directory, and
 * `npm install TARBALL` into a new project (where npm hoists the FUSE
 * binding out of machpager's node_modules). Both must end with working
 * `machpager` and `mount.machpager`: the postinstall patches and compiles
 * the FUSE binding from the package's own files, better-sqlite3 compiles
 * (or fetches its prebuilt addon), and a real mount works.
 *
 * Packed from a copy of the checkout without dist/ (so the tarball's dist/
 * can only come from prepack, and the checkout's dist/, which other tests
 * run, is not rebuilt under them); the copy uses the checkout's
 * node_modules for the TypeScript build. The installs fetch the
 * dependencies from the registry (npm's cache first): this takes a couple
 * of minutes, mostly compiling SQLite.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { findMount } from '../../daemon/fs/fuse/mount-table.js';
import { alive, daemonPid, REPO, removeTemp, tempDir, unmountAllUnder, until } from '../cli/harness.js';

const INSTALL_MS = 10 * 60_000;

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment for npm: ours without what an enclosing `npm test` put there (npm_* would steer the inner npm). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith('npm_') && k !== 'INIT_CWD' && !k.startsWith('MACHPAGER_')) env[k] = v;
  }
  return env;
}

function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? npmEnv(), encoding: 'utf8', timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function ok(r: Result, what: string): Result {
  expect(r.code, `${what}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

describe('npm pack, then npm install of the tarball', () => {
  let tmp = '';
  let tarball = '';
  let packOutput = '';
  let version = '';

  beforeAll(async () => {
    tmp = await tempDir('package');
    version = (JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    // A copy of the checkout as a fresh clone has it: sources, no dist/, no test/.
    const src = path.join(tmp, 'src');
    await mkdir(src);
    for (const entry of await readdir(REPO)) {
      if (['node_modules', 'dist', 'test', 'coverage', 'mnt', 'tmp', '.git'].includes(entry)) continue;
      await cp(path.join(REPO, entry), path.join(src, entry), { recursive: true });
    }
    await symlink(path.join(REPO, 'node_modules'), path.join(src, 'node_modules'));
    const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: src, timeoutMs: 5 * 60_000 }), 'npm pack');
    packOutput = packed.stdout;
    tarball = path.join(tmp, `machpager-${version}.tgz`);
  }, 6 * 60_000);

  afterAll(async () => {
    await unmountAllUnder(tmp);
    await removeTemp(tmp);
  }, 60_000);

  it('packs the built program, the FUSE build script and patch, the units, the docs; no sources, tests or source maps', () => {
    expect(existsSync(tarball)).toBe(true);
    const [info] = JSON.parse(packOutput.slice(packOutput.indexOf('['))) as { size: number; unpackedSize: number; files: { path: string }[] }[];
    const files = (info?.files ?? []).map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/daemon/cli/main.js',
        'dist/daemon/cli/mount-helper.js',
        'dist/daemon/fs/fuse/mount.js',
        'dist/kernel/index.js',
        'dist/stores/index.js',
        'dist/daemon/api/index.js',
        'dist/daemon/api/index.d.ts',
        'dist/daemon/api/testing.js',
        'dist/daemon/api/testing.d.ts',
        'scripts/build-fuse-binding',
        'patches/@cocalc+fuse-native+2.4.3.patch',
        'systemd/machpager@.service',
        'systemd/machpager.conf.example',
        'systemd/mnt-pages.mount',
        'docs/fuse-binding.md',
        'dist/man/machpager.1',
      ]),
    );
    // Types only for the API the package exports (package.json "exports"), no sources.
    expect(files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.map') || f.startsWith('test/') || f.startsWith('node_modules/') || f.startsWith('dist/bench/'))).toEqual([]);
    // Under a megabyte packed.
    expect(info?.size).toBeLessThan(1 << 20);
  });

  it(
    'npm install -g --prefix DIR TARBALL (and into a project) gives working machpager and mount.machpager, with the FUSE binding patched and built',
    async () => {
      const prefix = path.join(tmp, 'prefix');
      const clean = path.join(tmp, 'clean');
      const project = path.join(tmp, 'project');
      await mkdir(clean);
      await mkdir(project);
      await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-machpager', version: '1.0.0', private: true }));
      // The two installs at once: each spends a minute compiling.
      const [global, local] = await Promise.all([
        run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: clean, timeoutMs: INSTALL_MS }),
        run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, timeoutMs: INSTALL_MS }),
      ]);
      ok(global, 'npm install -g');
      ok(local, 'npm install (a dependency)');

      const bin = path.join(prefix, 'bin');
      const help = ok(await run(path.join(bin, 'machpager'), ['--help'], { cwd: clean }), 'machpager --help');
      expect(help.stdout).toMatch(/^Usage: machpager /);
      expect(help.stdout).toContain('mount [options] [STORE] MOUNTPOINT');
      expect(ok(await run(path.join(bin, 'machpager'), ['--version'], { cwd: clean }), 'machpager --version').stdout.trim()).toBe(version);
      const helperUsage = await run(path.join(bin, 'mount.machpager'), [], { cwd: clean });
      expect({ code: helperUsage.code, stderr: helperUsage.stderr }).toEqual({
        code: EXIT.USAGE,
        stderr: 'machpager: mount.machpager: missing SPEC or DIR (usage: mount.machpager SPEC DIR [-sfnv] [-o OPTIONS])\n',
      });
      const installed = path.join(prefix, 'lib', 'node_modules', 'machpager');
      expect(existsSync(path.join(installed, 'systemd', 'machpager@.service'))).toBe(true);
      // package.json "man": npm links machpager(1) where man looks under the prefix.
      expect(existsSync(path.join(prefix, 'share', 'man', 'man1', 'machpager.1'))).toBe(true);

      // The binding was patched and built where each install put it (nested, or hoisted into the project).
      for (const pkg of [path.join(installed, 'node_modules', '@cocalc', 'fuse-native'), path.join(project, 'node_modules', '@cocalc', 'fuse-native')]) {
        const level = ok(await run(process.execPath, ['-p', 'require(process.argv[1]).machpager_patch', path.join(pkg, 'build', 'Release', 'fuse.node')]), `load ${pkg}`);
        expect(level.stdout.trim()).toBe('2');
      }
      expect(ok(await run(path.join(project, 'node_modules', '.bin', 'machpager'), ['--version'], { cwd: project }), 'the dependency: machpager --version').stdout.trim()).toBe(version);

      // mount.machpager as mount(8) runs it, a fake mount (-f): checks only.
      const mnt = path.join(tmp, 'mnt');
      await mkdir(mnt);
      const store = `sqlite:${path.join(tmp, 'store.db')}`;
      const fake = ok(await run(path.join(bin, 'mount.machpager'), [store, mnt, '-f', '-o', 'cache_size=1M'], { cwd: clean }), 'mount.machpager -f');
      expect(fake.stdout).toContain(`would mount ${store} (new store, would be created) on ${mnt} (cache 1M`);

      // A real mount with the installed program (SQLite and FUSE addons as installed), read back, unmounted.
      const mounted = ok(await run(path.join(bin, 'machpager'), ['mount', '--daemon', store, mnt], { cwd: clean }), 'machpager mount --daemon');
      const pid = daemonPid(mounted.stderr);
      const io = await run('sh', ['-c', 'printf installed > "$1/f" && cat "$1/f"', 'sh', mnt]);
      expect(io).toMatchObject({ code: 0, stdout: 'installed' });
      ok(await run('fusermount', ['-u', mnt]), 'fusermount -u');
      await until(async () => (await findMount(mnt)) === undefined, `${mnt} to be unmounted`);
      await until(() => !alive(pid), `the daemon ${pid} to sync and exit`);

      // The API the package exports, from the project that depends on it: a mount, a fault, an unmount.
      const script = [
        "import { mount } from 'machpager';",
        "import { withMount } from 'machpager/testing';",
        'if (typeof withMount !== "function") throw new Error("no withMount");',
        `const m = await mount({ store: ${JSON.stringify(`sqlite:${path.join(tmp, 'api.db')}`)}, inject: 'create(*.tmp)=ENOSPC' });`,
        "const r = (await import('node:child_process')).spawnSync('sh', ['-c', 'echo x > a.tmp'], { cwd: m.mountpoint, encoding: 'utf8' });",
        'const injected = (await m.stats()).inject.stats.injected_operations;',
        'await m.unmount();',
        'console.log(JSON.stringify({ failed: r.status !== 0, stderr: r.stderr.includes("No space left"), injected, actions: m.actions.map((a) => a.action) }));',
      ].join('\n');
      await writeFile(path.join(project, 'api.mjs'), script);
      const api = ok(await run(process.execPath, ['api.mjs'], { cwd: project }), 'the API from the installed package');
      expect(JSON.parse(api.stdout)).toEqual({ failed: true, stderr: true, injected: 1, actions: ['mount', 'stats', 'unmount'] });
      // Its types are in the package, where "exports" points.
      expect(existsSync(path.join(project, 'node_modules', 'machpager', 'dist', 'daemon', 'api', 'testing.d.ts'))).toBe(true);
    },
    INSTALL_MS + 120_000,
  );
});
