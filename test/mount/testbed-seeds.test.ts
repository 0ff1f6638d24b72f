/**
 * Failing disks on live mounts, both stores, three seeds each (issue 15):
 * a seeded schedule of faults by file (ENOSPC on write-back), by offset
 * (EDQUOT on write-back) and by operation (EIO on create) reaches a program
 * as those errnos, and the same seed on a new store, elsewhere, fails the
 * same operations again; every fault is a line of the daemon log and an
 * entry of the API's answer; once the rules go nothing held is lost, and
 * fsck finds the store clean. Drawn latencies (uniform, exp, normal) replay
 * the same way and the program waits at least that long. A frozen store
 * stops a program mid-run, the thaw lets it finish with every record.
 *
 * Mounts go through the API (withMount: unmounted also when a test fails);
 * workloads are bash and Python in child processes. Needs /dev/fuse and
 * the build (npm run build).
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultEvent, Mount } from '../../daemon/api/index.js';
import { withMount } from '../../daemon/api/testing.js';
import { machpager, removeDir, sh, shOk, STORE_KINDS, tempDir, type ShResult } from '../helpers/mounted.js';

const SEEDS = [3, 17, 2026];
const PAGE = 4096;

let dir = '';
/** 512 KiB of random bytes, and another 128 KiB, outside the mounts. */
let src = '';
let src2 = '';
let n = 0;

beforeAll(async () => {
  dir = await tempDir('testbed-seeds');
  src = path.join(dir, 'src');
  src2 = path.join(dir, 'src2');
  await shOk(`head -c 524288 /dev/urandom > ${src} && head -c 131072 /dev/urandom > ${src2}`);
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

function run(m: Mount, script: string): Promise<ShResult> {
  return sh(script, { cwd: m.mountpoint, env: { ...process.env, SRC: src, SRC2: src2 } });
}

async function runOk(m: Mount, script: string): Promise<string> {
  const r = await run(m, script);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${script}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** After the mount is gone: fsck must find nothing. */
async function fsckClean(store: string): Promise<void> {
  const r = await machpager(['fsck', store]);
  expect(r.code, `fsck ${store}: ${r.stdout}${r.stderr}`).toBe(0);
}

async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The program under test: 16 files of 8K written with fsync (1 stored, S
 * ENOSPC), the 32 pages of q overwritten one by one with fsync (1 stored,
 * Q EDQUOT: from the rule's range on; a page refused is held and written
 * again at the next fsync, which may fail for it), 16 files created (1
 * made, E EIO). A fsync retries a refused write-back page by page, so a
 * file whose fsync passed may have met a fault on the way.
 */
const WORKLOAD = `
r=''; for i in $(seq 0 15); do
  if e=$(dd if="$SRC" of=w$i bs=4K count=2 conv=fsync status=none 2>&1); then r+=1; else case "$e" in *"No space left"*) r+=S;; *) r+="X($e)";; esac; fi
done; echo "w $r"
r=''; for i in $(seq 0 31); do
  if e=$(dd if="$SRC2" of=q bs=4K skip=$i seek=$i count=1 conv=notrunc,fsync status=none 2>&1); then r+=1; else case "$e" in *"quota exceeded"*) r+=Q;; *) r+="X($e)";; esac; fi
done; echo "q $r"
r=''; for i in $(seq 0 15); do
  if e=$( (: > c$i) 2>&1); then r+=1; else case "$e" in *"Input/output error"*) r+=E;; *) r+="X($e)";; esac; fi
done; echo "c $r"
`;

/** The rules of one seed: by file, by offset, by operation. */
const spec = (seed: number): string => `write(w*)%0.4=ENOSPC,write(q)@64K+64K%0.5=EDQUOT,create(c*)%0.4=EIO,seed=${seed}`;

describe.each(STORE_KINDS)('a seeded failing disk on $kind', ({ kind, store }) => {
  const label = kind.replace(/\W/g, '');
  const fresh = async (name: string): Promise<{ store: string; mountpoint: string }> => {
    const at = path.join(dir, `${label}-${name}-${n++}`);
    await mkdir(at);
    return { store: store(at), mountpoint: `${at}-mnt` };
  };

  /** One run of WORKLOAD under one seed's rules on a new store; checks what it left, returns what the program saw. */
  async function seededRun(seed: number): Promise<string> {
    const options = await fresh(`seed${seed}`);
    const seen = await withMount({ ...options, inject: '' }, async (m) => {
      await runOk(m, 'head -c 131072 "$SRC" > q && sync q');
      await m.evict('q');
      const set = await m.inject(spec(seed));
      expect(set.previous).toBe('');
      const out = await runOk(m, WORKLOAD);
      const [w, q, c] = ['w', 'q', 'c'].map((k) => new RegExp(`^${k} (.*)$`, 'm').exec(out)?.[1] ?? '');
      expect(w).toMatch(/^[1S]{16}$/);
      expect(q).toMatch(/^1{16}[1Q]{16}$/);
      expect(c).toMatch(/^[1E]{16}$/);
      for (const [s, fault] of [[w, 'S'], [q, 'Q'], [c, 'E']] as const) expect(s, `seed ${seed}: some ${fault}`).toContain(fault);
      expect(w + c, `seed ${seed}: some pass`).toMatch(/1.*1/);

      // Each fault is in the daemon log and in the API's answer, naming file, range and rule.
      const recent: FaultEvent[] = (await m.inject()).recent;
      const lines = (re: string): number => (m.daemonLog.match(new RegExp(re, 'g')) ?? []).length;
      [...w].forEach((r, i) => {
        if (r !== 'S') return;
        expect(lines(`fault injected: ENOSPC on write of /w${i} at \\d+\\+\\d+ \\(rule write\\(w\\*\\)%0\\.4=ENOSPC\\)`), `w${i}`).toBeGreaterThan(0);
        expect(recent.some((e) => e.op === 'write' && e.path === `/w${i}` && e.code === 'ENOSPC')).toBe(true);
      });
      const quota = recent.filter((e) => e.op === 'write' && e.path === '/q');
      expect(quota.length).toBeGreaterThanOrEqual([...q].filter((r) => r === 'Q').length);
      for (const e of quota) {
        expect(e).toMatchObject({ code: 'EDQUOT', rule: 'write(q)@64K+64K%0.5=EDQUOT' });
        expect(e.offset + e.length).toBeGreaterThan(65536);
      }
      expect(lines('fault injected: EDQUOT on write of /q at ')).toBe(quota.length);
      [...c].forEach((r, i) => {
        expect(m.daemonLog.includes(`fault injected: EIO on create of /c${i} (rule create(c*)%0.4=EIO)`), `c${i} ${r}`).toBe(r === 'E');
      });
      expect((await m.stats()).inject?.stats.injected_operations).toBe([...c].filter((r) => r === 'E').length);

      // The rules go: the write-backs refused were held, and are stored now; nothing else changed.
      await m.inject({ clear: true });
      await m.sync();
      await m.evict();
      await runOk(m, 'for i in $(seq 0 15); do cmp w$i <(head -c 8192 "$SRC"); done');
      await runOk(m, 'cmp q "$SRC2"');
      const made = (await runOk(m, 'ls')).split('\n').filter((f) => /^c\d+$/.test(f));
      expect(made.sort()).toEqual([...c].flatMap((r, i) => (r === '1' ? [`c${i}`] : [])).sort());
      return out;
    });
    await fsckClean(options.store);
    return seen;
  }

  it('per-file ENOSPC, per-offset EDQUOT, per-operation EIO: the same seed fails the same operations on a new store; logged; nothing held is lost; fsck clean (3 seeds)', async () => {
    const bySeed = new Map<number, string>();
    for (const seed of SEEDS) {
      const first = await seededRun(seed);
      const again = await seededRun(seed);
      expect(again, `seed ${seed} replays`).toBe(first);
      bySeed.set(seed, first);
      console.log(`${kind} seed ${seed}:\n${first.trim()}`);
    }
    expect(new Set(bySeed.values()).size).toBe(SEEDS.length);
  }, 240_000);

  it('drawn latencies (uniform, exp, normal) replay on a new store for each of 3 seeds; the program waits at least the drawn total', async () => {
    const DISTS = ['uniform/2/8', 'exp/4', 'normal/5/2'];
    const runs: Map<string, string>[] = [];
    for (let mountNo = 0; mountNo < 2; mountNo++) {
      const options = await fresh('latency');
      const totals = new Map<string, string>();
      await withMount({ ...options, inject: '' }, async (m) => {
        await runOk(m, 'cp "$SRC" f && sync f');
        for (const dist of DISTS) {
          for (const seed of SEEDS) {
            await m.inject({ clear: true });
            await m.evict('f');
            await m.inject(`read-latency=${dist},seed=${seed}`);
            const s0 = (await m.stats()).inject?.stats ?? { latency_ms: 0, reads: 0 };
            const took = Number(await runOk(m, 't0=$(date +%s%N); for i in $(seq 0 15); do dd if=f bs=4K skip=$((i*8)) count=1 status=none of=/dev/null; done; echo $(( ($(date +%s%N) - t0) / 1000000 ))'));
            const s1 = (await m.stats()).inject?.stats ?? { latency_ms: 0, reads: 0 };
            const reads = s1.reads - s0.reads;
            const total = s1.latency_ms - s0.latency_ms;
            expect(reads).toBeGreaterThanOrEqual(1);
            expect(total).toBeGreaterThan(0);
            // One page-in after the other: the program waited every drawn delay.
            expect(took).toBeGreaterThanOrEqual(Math.floor(total));
            if (dist.startsWith('uniform')) {
              expect(total).toBeGreaterThanOrEqual(2 * reads);
              expect(total).toBeLessThanOrEqual(8 * reads);
            }
            totals.set(`${dist} seed ${seed}`, `${reads} reads, ${total.toFixed(3)} ms`);
          }
          // The seeds draw differently.
          expect(new Set(SEEDS.map((s) => totals.get(`${dist} seed ${s}`))).size).toBe(SEEDS.length);
        }
        await m.inject({ clear: true });
      });
      await fsckClean(options.store);
      runs.push(totals);
    }
    expect([...(runs[1] ?? new Map()).entries()]).toEqual([...(runs[0] ?? new Map()).entries()]);
    console.log(`${kind} drawn read latencies, the same on both stores:\n${[...(runs[0] ?? new Map()).entries()].map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  }, 180_000);

  it('a frozen store stops a program mid-run (its fsync waits); after the thaw it finishes and every record is there; fsck clean', async () => {
    const options = await fresh('freeze');
    await withMount({ ...options, inject: '' }, async (m) => {
      const writer = spawnLines(m, `python3 -u -c '
import os
fd = os.open("log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
for i in range(200):
    os.write(fd, (("%05d" % i) * 819 + "\\n").encode()[:4096])
    os.fsync(fd)
    print("rec", i)
'`);
      await until(() => Promise.resolve(writer.lines().length >= 20), 'the writer is under way');
      await m.freeze();
      await until(async () => ((await m.stats()).inject?.stats.frozen_waiting ?? 0) >= 1, 'a store operation waits');
      const stoppedAt = writer.lines().length;
      expect(writer.done).toBe(false);
      expect(stoppedAt).toBeLessThan(200);
      await m.thaw();
      const r = await writer.result;
      expect(r.code, r.stderr).toBe(0);
      expect(writer.lines()).toHaveLength(200);
      await m.evict();
      const check = await runOk(m, `python3 -c '
d = open("log", "rb").read()
bad = [i for i in range(200) if d[i*4096:(i+1)*4096] != (("%05d" % i) * 819 + "\\n").encode()[:4096]]
print(len(d), bad)'`);
      expect(check.trim()).toBe(`${200 * PAGE} []`);
      console.log(`${kind}: the writer stopped after ${stoppedAt} of 200 fsynced records while frozen, finished all 200 after the thaw`);
    });
    await fsckClean(options.store);
  });
});

interface Lines {
  done: boolean;
  lines(): string[];
  result: Promise<ShResult>;
}

/** A program left running in a child process, its output read as it comes. */
function spawnLines(m: Mount, script: string): Lines {
  let stdout = '';
  let stderr = '';
  const out: Lines = { done: false, lines: () => stdout.split('\n').filter((l) => l !== ''), result: Promise.resolve({ code: 0, stdout: '', stderr: '' }) };
  out.result = new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: m.mountpoint });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      out.done = true;
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
  return out;
}
