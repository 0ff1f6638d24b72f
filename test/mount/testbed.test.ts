/**
 * The test bed on real mounts (issue 15, failing disks and the API for
 * test suites), both stores: every injection kind as a program sees it
 * (EIO, ENOSPC, EDQUOT from the store and from file-system operations,
 * latency observed, a frozen store that thaws with nothing lost), seeded
 * schedules replayed for three seeds, rules switched off and on. Mounts go
 * through the API (daemon/api) and its vitest helper withMount, which
 * unmounts also when a test fails; workloads run in child processes; fsck
 * finds each store clean after.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withMount } from '../../daemon/api/testing.js';
import type { Mount } from '../../daemon/api/index.js';
import { machpager, removeDir, sh, shOk, STORE_KINDS, tempDir, type ShResult } from '../helpers/mounted.js';

let dir = '';
/** 512 KiB of random bytes, outside the mounts. */
let src = '';

beforeAll(async () => {
  dir = await tempDir('testbed');
  src = path.join(dir, 'src');
  await shOk(`head -c 524288 /dev/urandom > ${src}`);
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

async function storeDir(name: string): Promise<string> {
  const at = path.join(dir, name);
  await mkdir(at);
  return at;
}

/** A workload in the mount, in a child process. */
function run(m: Mount, script: string): Promise<ShResult> {
  return sh(script, { cwd: m.mountpoint });
}

async function runOk(m: Mount, script: string): Promise<string> {
  return shOk(script, { cwd: m.mountpoint });
}

/** Poll `check` until it holds, at most `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(STORE_KINDS)('the test bed on $kind', ({ kind, store }) => {
  const label = kind.replace(/\W/g, '');
  const options = async (name: string) => ({ store: store(await storeDir(`${label}-${name}`)), mountpoint: path.join(dir, `${label}-mnt-${name}`) });
  /** withMount on a new store, then fsck: nothing in the store is harmed beyond what the test did. */
  const checked = async (name: string, fn: (m: Mount) => Promise<void>): Promise<void> => {
    const o = await options(name);
    await withMount(o, fn);
    const fsck = await machpager(['fsck', o.store]);
    expect(fsck.code, `fsck ${o.store}: ${fsck.stdout}${fsck.stderr}`).toBe(0);
  };

  it('crash through the API: after begin, a file fsynced with its directory survives, an unsynced one goes; the answer says what was dropped', async () => {
    await checked('crash', async (m) => {
      const begun = await m.crash({ action: 'begin' });
      expect(begun.action).toBe('begin');
      await runOk(m, `cp ${src} kept && sync kept . && cp ${src} lost`);
      const dry = await m.crash({ dryRun: true });
      expect(JSON.stringify(dry.report)).toContain('lost');
      await runOk(m, 'test -e lost');
      const crashed = await m.crash();
      expect(crashed.action).toBe('crash');
      await runOk(m, `cmp kept ${src} && test ! -e lost`);
      expect(m.actions.map((a) => `${a.action}:${a.ok}`)).toEqual(expect.arrayContaining(['crash:true']));
    });
  });

  it('store faults by file and range reach programs as EIO, ENOSPC and EDQUOT; the other files work; --off and --on switch them', async () => {
    await checked('errno', async (m) => {
      await runOk(m, `cp ${src} f && cp ${src} g && sync f g`);
      // EIO on a page-in of f's second 64K only.
      await m.inject('read(f)@64K+4K=EIO');
      await m.evict('f');
      await m.evict('g');
      await runOk(m, `dd if=f bs=64K count=1 status=none | cmp - <(head -c 65536 ${src})`);
      const eio = await run(m, 'cat f > /dev/null');
      expect(eio.stderr).toMatch(/Input\/output error/);
      await runOk(m, `cmp g ${src}`);

      // ENOSPC and EDQUOT on write-back, by name; a file of another name is stored.
      await m.inject('write(*.full)=ENOSPC,write(q*)=EDQUOT');
      const full = await run(m, `dd if=${src} of=a.full bs=64K count=2 conv=fsync status=none`);
      expect(full.code).not.toBe(0);
      expect(full.stderr).toMatch(/No space left on device/);
      const quota = await run(m, `dd if=${src} of=quota bs=64K count=2 conv=fsync status=none`);
      expect(quota.stderr).toMatch(/Disk quota exceeded/);
      await runOk(m, `dd if=${src} of=fine bs=64K count=2 conv=fsync status=none`);

      // Off: nothing fires (the held pages go to the store); on: they fire again.
      const off = await m.inject({ enabled: false });
      expect(off).toMatchObject({ enabled: false });
      await runOk(m, 'sync a.full quota');
      await m.inject({ enabled: true });
      const again = await run(m, `dd if=${src} of=b.full bs=64K count=1 conv=fsync status=none`);
      expect(again.stderr).toMatch(/No space left on device/);
      const stats = await m.stats();
      expect(stats.inject?.stats.injected_reads).toBeGreaterThanOrEqual(1);
      expect(stats.inject?.stats.injected_writes).toBeGreaterThanOrEqual(3);

      // Cleared: everything is stored, and reads back right.
      await m.inject({ clear: true });
      await m.sync();
      await m.evict();
      await runOk(m, `cmp f ${src} && cmp a.full <(head -c 131072 ${src}) && cmp quota <(head -c 131072 ${src}) && cmp b.full <(head -c 65536 ${src})`);
      // Every action is on record with its answer.
      expect(m.actions.map((a) => `${a.action}:${a.ok}`)).toContain('inject:true');
      expect(m.actions.find((a) => a.action === 'inject' && (a.params as { spec?: string }).spec === 'read(f)@64K+4K=EIO')?.result).toMatchObject({ previous: '' });
    });
  });

  it('file-system operation faults: create, rename, fsync fail with their code by glob and by NTH; nothing else changes', async () => {
    await checked('ops', async (m) => {
      await runOk(m, 'echo one > a.wal && sync a.wal');
      await m.inject('create(*.tmp)=ENOSPC,rename(*.wal)=EIO,fsync(db*)#2=EDQUOT,mkdir#2=EIO');
      const create = await run(m, 'echo x > new.tmp');
      expect(create.stderr).toMatch(/No space left on device/);
      const rename = await run(m, 'mv a.wal b.wal');
      expect(rename.stderr).toMatch(/Input\/output error/);
      // The second fsync of a db* file fails, the first and third pass.
      const fsyncs: number[] = [];
      for (let i = 0; i < 3; i++) fsyncs.push((await run(m, `dd if=/dev/zero of=db bs=4K count=1 conv=fsync status=none`)).code);
      expect(fsyncs.map((c) => c === 0)).toEqual([true, false, true]);
      const mkdirs: number[] = [];
      for (const d of ['d1', 'd2', 'd3']) mkdirs.push((await run(m, `mkdir ${d}`)).code);
      expect(mkdirs.map((c) => c === 0)).toEqual([true, false, true]);
      // The failed operations left nothing behind.
      expect(await runOk(m, 'ls')).toBe('a.wal\nd1\nd3\ndb\n');
      expect(await runOk(m, 'cat a.wal')).toBe('one\n');
      expect((await m.stats()).inject?.stats.injected_operations).toBe(4);
      await m.inject({ clear: true });
      await runOk(m, 'echo x > new.tmp && mv a.wal b.wal');
    });
  });

  it('latency: fixed and drawn delays are observed by the program; a seed replays the same delays', async () => {
    await checked('latency', async (m) => {
      await runOk(m, `cp ${src} f && sync f`);
      // Fixed: each page-in waits at least 30 ms, and the program sees it.
      await m.inject('read-latency=30');
      await m.evict('f');
      const before = (await m.stats()).inject?.stats ?? { latency_ms: 0, reads: 0 };
      const timed = await runOk(m, 't0=$(date +%s%N); cat f > /dev/null; echo $(( ($(date +%s%N) - t0) / 1000000 ))');
      const after = (await m.stats()).inject?.stats ?? { latency_ms: 0, reads: 0 };
      const reads = after.reads - before.reads;
      expect(reads).toBeGreaterThanOrEqual(1);
      expect(after.latency_ms - before.latency_ms).toBe(30 * reads);
      expect(Number(timed)).toBeGreaterThanOrEqual(30);

      // Drawn: for each of three seeds the same reads wait the same total twice, and the seeds differ.
      // (One page at a time, each read its own child: the same store reads every round.)
      const totals = new Map<number, number>();
      for (const seed of [1, 2, 3]) {
        const sums: number[] = [];
        const counts: number[] = [];
        for (let round = 0; round < 2; round++) {
          await m.inject({ clear: true });
          await m.evict('f');
          // A new SPEC restarts the draws.
          await m.inject(`read-latency=exp/4,seed=${seed}`);
          const s0 = (await m.stats()).inject?.stats ?? { latency_ms: 0, reads: 0 };
          await runOk(m, 'for i in $(seq 0 15); do dd if=f bs=4K skip=$((i*8)) count=1 status=none of=/dev/null; done');
          const s1 = (await m.stats()).inject?.stats ?? { latency_ms: 0, reads: 0 };
          sums.push(Math.round((s1.latency_ms - s0.latency_ms) * 1000) / 1000);
          counts.push(s1.reads - s0.reads);
        }
        expect(counts[1]).toBe(counts[0]);
        expect(sums[1], `seed ${seed}`).toBe(sums[0]);
        expect(sums[0]).toBeGreaterThan(0);
        totals.set(seed, sums[0] ?? 0);
      }
      expect(new Set(totals.values()).size).toBe(3);
      await m.inject({ clear: true });
    });
  });

  it('a frozen store holds reads and fsyncs until the thaw; then they finish and nothing is lost', async () => {
    await checked('freeze', async (m) => {
      await runOk(m, `cp ${src} r && sync r`);
      await m.evict('r');
      await m.freeze();
      // A reader and a writer with fsync, both in children, both held.
      const reader = spawnSh(m, `sha256sum r | cut -d' ' -f1`);
      const writer = spawnSh(m, `dd if=${src} of=w bs=64K conv=fsync status=none && echo stored`);
      await until(async () => ((await m.stats()).inject?.stats.frozen_waiting ?? 0) >= 2, 'two store operations wait');
      expect(reader.done).toBe(false);
      expect(writer.done).toBe(false);
      const frozen = await m.inject();
      expect(frozen.frozen).toBe(true);
      const human = await machpager(['stats', m.mountpoint]);
      expect(human.stdout).toMatch(/^Fault injection \(no rules, store frozen\):$/m);
      expect(human.stdout).toMatch(/^ {2}waiting now: +[1-9]\d*\.$/m);
      await m.thaw();
      const [read, wrote] = await Promise.all([reader.result, writer.result]);
      expect(wrote).toMatchObject({ code: 0, stdout: 'stored\n' });
      expect(read.stdout.trim()).toBe((await shOk(`sha256sum ${src} | cut -d' ' -f1`)).trim());
      await m.evict();
      await runOk(m, `cmp r ${src} && cmp w ${src}`);
      expect((await m.stats()).inject?.stats.frozen_waiting).toBe(0);
    });
  });

  it('a seeded rate fails the same pages for the same seed, other pages for another (three seeds)', async () => {
    await checked('seeded', async (m) => {
      await runOk(m, `cp ${src} f && sync f`);
      // One page at a time, each read its own child: which of 32 pages failed.
      const pattern = async (): Promise<string> =>
        runOk(m, 'for i in $(seq 0 31); do if dd if=f bs=4K skip=$((i*4)) count=1 status=none of=/dev/null 2>/dev/null; then printf 1; else printf 0; fi; done');
      const seen = new Map<number, string>();
      for (const seed of [3, 5, 7]) {
        const runs: string[] = [];
        for (let round = 0; round < 2; round++) {
          await m.inject({ clear: true });
          await m.evict('f');
          await m.inject(`read(f)%0.3=EIO,seed=${seed}`);
          runs.push(await pattern());
        }
        expect(runs[1], `seed ${seed}`).toBe(runs[0]);
        expect(runs[0]).toMatch(/0/);
        expect(runs[0]).toMatch(/1/);
        seen.set(seed, runs[0] ?? '');
      }
      expect(new Set(seen.values()).size).toBe(3);
      await m.inject({ clear: true });
      await m.evict('f');
      await runOk(m, `cmp f ${src}`);
    });
  });
});

interface Background {
  done: boolean;
  result: Promise<ShResult>;
}

/** A workload left running in a child process while the test goes on. */
function spawnSh(m: Mount, script: string): Background {
  const bg: Background = { done: false, result: Promise.resolve({ code: 0, stdout: '', stderr: '' }) };
  bg.result = new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: m.mountpoint });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      bg.done = true;
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
  return bg;
}
