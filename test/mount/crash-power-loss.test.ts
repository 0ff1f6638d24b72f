/**
 * `machpager crash` on real mounts, both stores: what a simulated power loss
 * keeps and what it drops, stated as outcomes of known patterns. The
 * programs run in child processes (test/fixtures/crash/steps.py, sqlite3
 * from Python, git); this process only runs the CLI. Every test unmounts
 * (cleanupMounts, also on failure), and fsck finds the store clean after.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CrashResult } from '../../daemon/control/protocol.js';
import { cleanupMounts, machpager, machpagerJson, mount, REPO, removeDir, sh, STORE_KINDS, tempDir, type Mounted } from '../helpers/mounted.js';

const STEPS = path.join(REPO, 'test/fixtures/crash/steps.py');
const SQLITE_ROWS = path.join(REPO, 'test/fixtures/crash/sqlite-rows.py');
const PAGE = 4096;
const SEEDS = [3, 17, 2026];

/** steps.py with `steps`, in the mount; resolves with its output (never rejects on failure). */
function steps(m: Mounted, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return m.sh(`python3 ${STEPS} ${args.map((a) => JSON.stringify(a)).join(' ')}`);
}

async function stepsOk(m: Mounted, ...args: string[]): Promise<void> {
  const r = await steps(m, ...args);
  expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
}

function crash(m: Mounted, ...args: string[]): Promise<CrashResult> {
  return machpagerJson<CrashResult>(['crash', m.mnt, ...args]);
}

/** The file's bytes as one character per page ('' when missing), read by a child. */
async function pagesOf(m: Mounted, name: string): Promise<string> {
  const r = await m.sh(`python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print("".join(chr(d[i]) if len(set(d[i:i+${PAGE}]))==1 else "?" for i in range(0,len(d),${PAGE})), len(d))' ${JSON.stringify(name)}`);
  if (r.code !== 0) return '';
  return r.stdout.trim();
}

/** Poll (bounded) until the armed crash point has fired and its power loss is done. */
async function waitFired(m: Mounted): Promise<CrashResult> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await crash(m, '--status');
    if (r.status.fired?.report || r.status.fired?.error !== undefined) return r;
    if (Date.now() > deadline) throw new Error(`the crash point did not fire: ${JSON.stringify(r.status)}`);
    await sleep(50);
  }
}

describe.each(STORE_KINDS)('machpager crash with the $kind store', ({ store }) => {
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    dir = await tempDir('crash-power');
  });

  afterEach(async () => {
    await cleanupMounts();
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  /** A new store mounted, crash testing begun. */
  async function fresh(cacheSize = '2M'): Promise<{ m: Mounted; name: string }> {
    const sub = path.join(dir, `t${n++}`);
    await mkdir(path.join(sub, 'store'), { recursive: true });
    const name = store(path.join(sub, 'store'));
    const m = await mount({ store: name, mnt: path.join(sub, 'mnt'), cacheSize });
    return { m, name };
  }

  async function begin(m: Mounted): Promise<void> {
    const r = await crash(m, '--begin');
    expect(r.status.begun).toBe(true);
  }

  /** Unmount, then fsck must find the store clean. */
  async function stopClean(m: Mounted, name: string): Promise<void> {
    expect(await m.stop()).toBe(0);
    const r = await machpager(['fsck', name]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
  }

  it('write-then-rename without fsync of the file loses the data (caught); with fsync of the file and its directory it survives', async () => {
    const { m, name } = await fresh();
    await stepsOk(m, 'write', 'conf', 'v1', 'fsync', 'conf', 'fsyncdir', '.');
    await begin(m);
    // The bug: the new name is made durable (fsync of the directory), its data never is.
    await stepsOk(m, 'write', 'conf.tmp', 'v2', 'rename', 'conf.tmp', 'conf', 'fsyncdir', '.');
    const dry = await crash(m, '--dry-run');
    expect(dry.report?.dry_run).toBe(true);
    expect(dry.report?.files.map((f) => f.path)).toContain('/conf');
    expect(await m.shOk('cat conf')).toBe('v2');
    const lost = await crash(m);
    expect(lost.report?.lost_pages).toBeGreaterThan(0);
    expect(await m.shOk('wc -c < conf')).toBe('0\n');
    expect(await m.sh('ls conf.tmp')).toMatchObject({ code: 2 });
    // The fix: fsync the file before the rename, and the directory after it.
    await stepsOk(m, 'write', 'conf.tmp', 'v3', 'fsync', 'conf.tmp', 'rename', 'conf.tmp', 'conf', 'fsyncdir', '.');
    const kept = await crash(m);
    expect(kept.report?.files).toEqual([]);
    expect(await m.shOk('cat conf')).toBe('v3');
    await stopClean(m, name);
  });

  it('names: a create, rename or unlink never synced through its directory reverts; dry-run lists them and changes nothing', async () => {
    const { m, name } = await fresh();
    await stepsOk(m, 'mkdir', 'd', 'write', 'd/keep', 'k', 'fsync', 'd/keep', 'write', 'gone', 'g', 'fsync', 'gone', 'fsyncdir', 'd', 'fsyncdir', '.');
    await begin(m);
    await stepsOk(m, 'write', 'new', 'n', 'fsync', 'new', 'rename', 'd/keep', 'd/moved', 'unlink', 'gone', 'mkdir', 'e');
    const dry = await crash(m, '--dry-run');
    expect(dry.report?.names).toEqual([
      { path: '/d/keep', change: 'returns' },
      { path: '/d/moved', change: 'lost' },
      { path: '/e', change: 'lost' },
      { path: '/gone', change: 'returns' },
      { path: '/new', change: 'lost' },
    ]);
    expect((await m.shOk('ls -R')).split(/\s+/).filter((s) => s !== '').sort()).toEqual(['.:', './d:', './e:', 'd', 'e', 'moved', 'new'].sort());
    await crash(m);
    expect((await m.shOk('ls -R')).split(/\s+/).filter((s) => s !== '').sort()).toEqual(['.:', './d:', 'd', 'gone', 'keep'].sort());
    expect(await m.shOk('cat d/keep gone')).toBe('kg');
    await stopClean(m, name);
  });

  it('pages written back by the pageout daemon before any fsync are rolled back; open handles see EIO after', async () => {
    // 2M cache, 8M written: most pages reach the store before the crash, none durably.
    const { m, name } = await fresh();
    await stepsOk(m, 'overwrite', 'f', '2048', 'a', 'fsync', 'f', 'fsyncdir', '.');
    await begin(m);
    const holder = m.sh(`exec 3<f; echo held; while read -r -n1 -u3 c; do sleep 0.05; done; echo "reader: $?"`, { timeoutMs: 60_000 });
    await stepsOk(m, 'overwrite', 'f', '2048', 'b');
    expect((await crash(m, '--status')).status.journal.pre_images).toBeGreaterThan(1000);
    const r = await crash(m);
    expect(r.report?.lost_pages).toBe(2048);
    expect(await pagesOf(m, 'f')).toBe(`${'a'.repeat(2048)} ${2048 * PAGE}`);
    const reader = await holder;
    expect(reader.stdout).toContain('held');
    expect(reader.stdout + reader.stderr).toMatch(/Input\/output error|reader: 1/);
    await stopClean(m, name);
  });

  it.each(SEEDS)('--keep random:%i:0.5 keeps a seeded subset of the unsynced pages, the same again for the same seed', async (seed) => {
    const { m, name } = await fresh();
    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) {
      await stepsOk(m, 'overwrite', 'f', '64', 'a', 'fsync', 'f', 'fsyncdir', '.');
      if (round === 0) await begin(m);
      else await machpager(['sync', m.mnt]);
      await stepsOk(m, 'overwrite', 'f', '64', 'b');
      const r = await crash(m, '--keep', `random:${seed}:0.5`);
      const pages = await pagesOf(m, 'f');
      expect(pages).toMatch(/^[ab]{64} 262144$/);
      const kept = (pages.match(/b/g) ?? []).length;
      expect(kept).toBe(r.report?.kept_pages);
      expect(kept).toBeGreaterThan(8);
      expect(kept).toBeLessThan(56);
      outcomes.push(pages);
    }
    expect(outcomes[1]).toBe(outcomes[0]);
    await stopClean(m, name);
  });

  it.each(SEEDS)('--torn --seed %i keeps the writes before the last one and a prefix of the last', async (seed) => {
    const { m, name } = await fresh();
    await stepsOk(m, 'write', 'log', '', 'fsync', 'log', 'fsyncdir', '.');
    await begin(m);
    await stepsOk(m, 'append', 'log', '4', 'a', 'append', 'log', '8', 'b');
    const r = await crash(m, '--torn', '--seed', String(seed));
    const [pages, size] = (await pagesOf(m, 'log')).split(' ');
    expect(pages).toMatch(/^aaaab{0,7}$/);
    expect(Number(size)).toBe((pages?.length ?? 0) * PAGE);
    expect(r.report?.files[0]).toMatchObject({ path: '/log', kept_pages: (pages?.length ?? 0), lost_pages: 12 - (pages?.length ?? 0) });
    // The same seed tears the same way.
    await stepsOk(m, 'write', 'log', '', 'fsync', 'log');
    await machpager(['sync', m.mnt]);
    await stepsOk(m, 'append', 'log', '4', 'a', 'append', 'log', '8', 'b');
    await crash(m, '--torn', '--seed', String(seed));
    expect((await pagesOf(m, 'log')).split(' ')[0]).toBe(pages);
    await stopClean(m, name);
  });

  it("a crash point 'rename:*.wal' stops the program at the rename (EIO onward) until --power-on; the rename never happened", async () => {
    const { m, name } = await fresh();
    await begin(m);
    await crash(m, '--at', 'rename:*.wal');
    const r = await steps(m, 'write', 'x.wal', 'data', 'fsync', 'x.wal', 'fsyncdir', '.', 'rename', 'x.wal', 'x.done', 'write', 'after', 'z');
    expect(r.stdout).toContain('ok 3');
    expect(r.stdout).toContain('error 4 EIO');
    const fired = await waitFired(m);
    expect(fired.status.power).toBe('down');
    // Not from inside the mount: a shell cannot even enter it.
    expect((await sh(`ls ${JSON.stringify(m.mnt)}`)).stderr).toContain('Input/output error');
    await crash(m, '--power-on');
    expect(await m.shOk('ls')).toBe('x.wal\n');
    expect(await m.shOk('cat x.wal')).toBe('data');
    await stopClean(m, name);
  });

  it("'fsync:db*:after' with --nth 2: the second fsync runs (its data is durable) and still answers EIO", async () => {
    const { m, name } = await fresh();
    await stepsOk(m, 'write', 'db1', '', 'fsyncdir', '.');
    await begin(m);
    await machpager(['crash', m.mnt, '--at', 'fsync:db*:after', '--nth', '2']);
    const r = await steps(m, 'write', 'db1', 'one', 'fsync', 'db1', 'write', 'db1', 'two', 'fsync', 'db1', 'write', 'db1', 'three');
    expect(r.stdout).toContain('ok 2');
    expect(r.stdout).toContain('error 4 EIO');
    await waitFired(m);
    await crash(m, '--power-on');
    expect(await m.shOk('cat db1')).toBe('two');
    await stopClean(m, name);
  });

  it('--unmount: the power goes and so does the mount; the next mount has the durable state', async () => {
    const { m, name } = await fresh();
    await stepsOk(m, 'write', 'a', 'durable', 'fsync', 'a', 'fsyncdir', '.');
    await begin(m);
    await stepsOk(m, 'write', 'a', 'lost', 'write', 'b', 'lost');
    await crash(m, '--unmount');
    expect(await m.waitExit()).toBe(0);
    const again = await mount({ store: name, mnt: m.mnt });
    expect(await again.shOk('ls; cat a')).toBe('a\ndurable');
    await stopClean(again, name);
  });

  it('100 MiB unsynced: the power loss takes under a second', async () => {
    const { m, name } = await fresh('16M');
    await begin(m);
    await m.shOk('dd if=/dev/zero of=big bs=1M count=100 status=none');
    const unsynced = (await crash(m, '--status')).status;
    const t0 = performance.now();
    const r = await crash(m);
    const wall = performance.now() - t0;
    expect(r.report?.lost_pages).toBe(25600);
    expect(r.report?.took_ms).toBeLessThan(1000);
    // The figure asked for, as the tests print it (the CLI's time adds node's start-up).
    console.log(`${store('/x').split(':')[0]}: machpager crash with 100 MiB unsynced: power loss ${r.report?.took_ms} ms in the daemon, ${Math.round(wall)} ms for the whole CLI call; ${r.report?.lost_pages} pages dropped; status before: ${JSON.stringify(unsynced.journal)}`);
    expect((await m.sh('ls big')).code).not.toBe(0);
    await stopClean(m, name);
  });

  // Not bound to a second: every pre-image goes back to the store, 85-100 MiB of writes (0.3-1.2 s on
  // raw files and 0.7-2.3 s on SQLite here, by load; 2.4 s and 3.3 s a page at a time); the figure is printed.
  it('100 MiB of a durable file overwritten unsynced: the power loss puts every old page back', async () => {
    const { m, name } = await fresh('16M');
    await m.shOk('dd if=/dev/zero bs=1M count=100 status=none | tr "\\0" a > big && sync big .');
    await begin(m);
    await m.shOk('dd if=/dev/zero bs=1M count=100 status=none | tr "\\0" b | dd of=big bs=1M conv=notrunc iflag=fullblock status=none');
    const unsynced = (await crash(m, '--status')).status.journal;
    const t0 = performance.now();
    const r = await crash(m);
    const wall = performance.now() - t0;
    expect(r.report?.lost_pages).toBe(25600);
    console.log(`${name.split(':')[0]}: machpager crash with 100 MiB overwritten unsynced: power loss ${r.report?.took_ms} ms in the daemon, ${Math.round(wall)} ms for the whole CLI call; ${unsynced.pre_images} pre-images put back`);
    expect(await m.shOk('tr -d a < big | wc -c; wc -c < big')).toBe(`0\n${100 * 1024 * 1024}\n`);
    await stopClean(m, name);
  });

  // Three crash moments each: the 25th, 40th and 77th write to the database or its journal, in the middle of transactions.
  it.each([
    ['WAL', 'wal', 'full', 25],
    ['WAL', 'wal', 'full', 40],
    ['WAL', 'wal', 'full', 77],
    ['rollback', 'delete', 'extra', 25],
    ['rollback', 'delete', 'extra', 40],
    ['rollback', 'delete', 'extra', 77],
  ])('SQLite in %s mode (journal_mode=%s, synchronous=%s) survives a crash at write %i of t.db*: integrity_check ok, every committed row there', async (_label, mode, sync, nth) => {
    const { m, name } = await fresh();
    await begin(m);
    await crash(m, '--at', 'write:t.db*', '--nth', String(nth));
    const run = await m.sh(`python3 ${SQLITE_ROWS} t.db ${mode} ${sync} 500`);
    expect(run.stdout).toMatch(/error/);
    const committed = [...run.stdout.matchAll(/^committed (\d+)$/gm)].map((x) => Number(x[1]));
    expect(committed.length).toBeGreaterThan(0);
    await waitFired(m);
    await crash(m, '--power-on');
    const check = (await m.shOk(`python3 ${SQLITE_ROWS} t.db check`)).trim().split('\n');
    expect(check[0]).toBe('ok');
    const rows = new Set(check.slice(1).map(Number));
    for (const id of committed) expect(rows.has(id), `row ${id} was committed`).toBe(true);
    console.log(`${name.split(':')[0]} SQLite ${mode} crashed at write ${nth} of t.db*: ${committed.length} row(s) committed, ${rows.size} there, integrity_check ${check[0]}`);
    await stopClean(m, name);
  });

  // Three crash moments: the ref update, the second fsync (after it ran), the third file made.
  it.each([
    ['rename:main.lock', 1],
    ['fsync:*:after', 2],
    ['create:*', 3],
  ])("git's object store after a crash mid-commit at %s #%i: git fsck clean, HEAD at a commit", async (at, nth) => {
    const { m, name } = await fresh('8M');
    const git = 'git -c core.fsync=all -c core.fsyncMethod=fsync -c user.name=t -c user.email=t@t';
    await m.shOk(`${git} init -q -b main repo && cd repo && seq 1 20000 > a && ${git} add a && ${git} commit -qm one`);
    await begin(m);
    await crash(m, '--at', at, '--nth', String(nth));
    const r = await m.sh(`cd repo && seq 5 30000 > a && seq 1 500 > b && ${git} add a b && ${git} commit -qm two`);
    expect(r.code).not.toBe(0);
    await waitFired(m);
    await crash(m, '--power-on');
    const fsck = await m.sh('cd repo && git fsck --full --strict 2>&1; echo "fsck: $?"');
    expect(fsck.stdout).toContain('fsck: 0');
    expect(await m.shOk('cd repo && git log --format=%s')).toBe('one\n');
    await stopClean(m, name);
  });
});

describe('machpager crash refuses', () => {
  afterEach(async () => {
    await cleanupMounts();
  });

  it('a crash before --begin, and a bad --keep', async () => {
    const dir = await tempDir('crash-refuse');
    try {
      const m = await mount({ store: `sqlite:${path.join(dir, 'fs.db')}`, mnt: path.join(dir, 'mnt') });
      const r = await machpager(['crash', m.mnt]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('--begin');
      const bad = await machpager(['crash', m.mnt, '--keep', 'sometimes']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('random:SEED:P');
      expect(await m.stop()).toBe(0);
    } finally {
      await removeDir(dir);
    }
  });
});
