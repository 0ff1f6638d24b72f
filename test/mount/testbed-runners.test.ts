/**
 * The test bed from outside vitest (issue 15): a power loss driven from a
 * shell through the control FIFO, LazyFS's way, on both stores (what it
 * dropped in the daemon log, what survived on the mount, fsck clean
 * after); and `machpager/testing` used as a jest suite uses it, in a plain
 * node process with jest-style globals and no vitest, importing the
 * package by its own name.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attach } from '../../daemon/api/index.js';
import { withMount } from '../../daemon/api/testing.js';
import { cleanupMounts, machpager, mount, REPO, removeDir, sh, shOk, STORE_KINDS, tempDir } from '../helpers/mounted.js';
import { until } from '../helpers/until.js';

let dir = '';

beforeAll(async () => {
  dir = await tempDir('runners');
});

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

describe.each(STORE_KINDS)('power loss from the control FIFO on $kind', ({ kind, store }) => {
  const label = kind.replace(/\W/g, '');

  it('crash --begin, --dry-run, lazyfs::clear-cache and --torn --seed from a shell: the log says what each dropped; synced data stays, the rest goes; fsck clean', async () => {
    const at = path.join(dir, `${label}-store`);
    await mkdir(at);
    const fifo = path.join(dir, `${label}.fifo`);
    const name = store(at);
    await withMount({ store: name, mountpoint: path.join(dir, `${label}-mnt`), controlFifo: fifo }, async (m) => {
      const say = async (line: string): Promise<string> => {
        await shOk(`echo ${JSON.stringify(line)} > ${fifo}`);
        const logged = new RegExp(`fifo: ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (ok|failed).*$`, 'm');
        await until(() => logged.test(m.daemonLog), `the log answers ${line}`);
        return logged.exec(m.daemonLog)?.[0] ?? '';
      };
      const inMount = (script: string): Promise<string> => shOk(script, { cwd: m.mountpoint });

      expect(await say('crash --begin')).toMatch(/: ok \{"action":"begin"/);
      expect(m.daemonLog).toContain('crash test begun');
      await inMount('seq 1 20000 > kept && sync kept . && seq 1 30000 > lost');
      const dry = await say('crash --dry-run');
      expect(dry).toContain('"dry_run":true');
      expect(dry).toContain('"path":"/lost"');
      expect(dry).not.toContain('"path":"/kept"');
      expect(m.daemonLog).toMatch(/crash --dry-run: would drop \d+ page\(s\) of 1 file\(s\)/);
      await inMount('test -e lost');

      // LazyFS's clear-cache is a power loss.
      const crashed = await say('lazyfs::clear-cache');
      expect(crashed).toContain('"path":"/lost"');
      expect(m.daemonLog).toMatch(/power loss: dropped \d+ page\(s\) of 1 file\(s\) \(1 gone\), 1 name change\(s\) in \d+ ms/);
      expect(await inMount('ls')).toBe('kept\n');
      expect(await inMount('seq 1 20000 | cmp - kept && echo same')).toBe('same\n');

      // Torn, three seeds: a log of 4 pages fsynced, then 8 more appended in one write: a prefix of them stays.
      const kept: string[] = [];
      // Eight pages of b, appended in one write(2): the last write, torn by the seed.
      const bees = path.join(dir, `${label}-bees`);
      await shOk(`head -c 32768 /dev/zero | tr '\\0' b > ${bees}`);
      for (const seed of [3, 17, 2026]) {
        await inMount(`head -c 16384 /dev/zero | tr '\\0' a > log && sync log .`);
        await inMount(`dd if=${bees} of=log bs=32K count=1 oflag=append conv=notrunc status=none`);
        const torn = await say(`crash --torn --seed ${seed}`);
        expect(torn).toContain('"path":"/log"');
        const pages = await inMount(`python3 -c 'd=open("log","rb").read(); print("".join(chr(d[i]) for i in range(0,len(d),4096)))'`);
        expect(pages.trim()).toMatch(/^aaaab{0,7}$/);
        kept.push(pages.trim());
      }
      expect(m.daemonLog).toMatch(/power loss \(torn \(seed 2026\)\): dropped/);
      console.log(`${kind}: torn log after seeds 3, 17, 2026: ${kept.join(' ')}`);
    });
    const fsck = await machpager(['fsck', name]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });
});

describe.each(STORE_KINDS)('attach on $kind', ({ kind, store }) => {
  const label = kind.replace(/\W/g, '');

  it('drives a mount made by the CLI: crash begin and power loss, stats, sync; its unmount stops the daemon; fsck clean', async () => {
    const at = path.join(dir, `${label}-attach`);
    await mkdir(at);
    const name = store(at);
    const cli = await mount({ store: name, mnt: path.join(dir, `${label}-attach-mnt`) });
    const m = await attach(path.join(cli.mnt, '.'));
    expect(m.pid).toBe(cli.child.pid);
    expect(m.store).toBe(name);
    await m.crash({ action: 'begin' });
    await shOk('echo kept > kept && sync kept . && echo lost > lost', { cwd: m.mountpoint });
    const crashed = await m.crash();
    expect(crashed.report?.files.map((f) => f.path)).toEqual(['/lost']);
    expect(await shOk('ls; cat kept', { cwd: m.mountpoint })).toBe('kept\nkept\n');
    expect((await m.stats()).pagesize).toBe(4096);
    expect(await m.sync()).toEqual({ synced: '/' });
    await m.unmount();
    expect(m.running).toBe(false);
    expect(await cli.waitExit()).toBe(0);
    expect(m.actions.map((a) => `${a.action} ${a.ok}`)).toEqual(['attach true', 'crash true', 'crash true', 'stats true', 'sync true', 'unmount true']);
    const fsck = await machpager(['fsck', name]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });

  it('refuses a directory that is no machpager mount', async () => {
    await expect(attach(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('machpager/testing under a jest-style runner', () => {
  it('mountFixture finds beforeEach/afterEach as globals, withMount unmounts a failing test and explains it; nothing loads vitest', async () => {
    const r = await sh(`${JSON.stringify(process.execPath)} test/fixtures/testing-api/jest-style.mjs`, { cwd: REPO, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      hooks: number;
      fixture: { mountedDuring: boolean; mountedAfter: boolean; secondFsync: string; recent: string[]; files: string[]; actions: string[] };
      withMount: { error: string; mountedAfter: boolean };
      plain: { ok: boolean };
      vitestLoaded: boolean;
      active: string[];
    };
    expect(out.hooks).toBe(2);
    expect(out.fixture).toMatchObject({ mountedDuring: true, mountedAfter: false, recent: ['fsync /x.log EIO'], files: ['/a', '/x.log'] });
    expect(out.fixture.secondFsync).toMatch(/Input\/output error/);
    expect(out.fixture.actions).toEqual(['mount true', 'inject true', 'inject true', 'files true']);
    expect(out.withMount.mountedAfter).toBe(false);
    expect(out.withMount.error).toMatch(/No space left on device/);
    expect(out.withMount.error).toContain('--- machpager actions on');
    expect(out.withMount.error).toContain('fault injected: ENOSPC on create of /a.tmp (rule create(*.tmp)=ENOSPC)');
    expect(out.plain.ok).toBe(true);
    expect(out.vitestLoaded).toBe(false);
    // No timer of the API outlives the last unmount (it kept a runner alive 45 s after its tests).
    expect(out.active).not.toContain('Timeout');
    // Neither entry point imports a test runner, directly or through its imports.
    for (const entry of ['dist/daemon/api/testing.js', 'dist/daemon/api/index.js']) expect(runnerImports(path.join(REPO, entry))).toEqual([]);
  });
});

/** The bare imports of `file` and every relative import under it that name a test runner. */
function runnerImports(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const found: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1] ?? '';
    if (spec.startsWith('.')) found.push(...runnerImports(path.resolve(path.dirname(file), spec), seen));
    else if (/^(vitest|@vitest|jest|@jest)(\/|$)/.test(spec)) found.push(`${file}: ${spec}`);
  }
  return found;
}
