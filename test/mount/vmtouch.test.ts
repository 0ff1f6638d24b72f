/**
 * `machpager vmtouch` against a real mount (the build, in child
 * processes): -t reads a tree into the cache, -e drops it, -v draws the
 * page maps, -l wires a file until the command ends (pressure does not
 * evict it, evict leaves it, wire_count goes back to 0 when the command is
 * stopped), and locking more than 3/4 of the cache is refused with a clear
 * error. 4K pages, a 2M cache (512 frames), direct cache mode: every read
 * reaches the simulated cache.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import type { VmtouchTotals } from '../../daemon/cli/vmtouch-view.js';
import type { ResidencyRecord } from '../../daemon/control/protocol.js';
import { cleanupMounts, MACHPAGER, machpager, machpagerJson, mount, removeDir, tempDir } from '../helpers/mounted.js';

type Report = Omit<VmtouchTotals, 'files'> & { files: (ResidencyRecord & { name: string })[] };

let dir = '';
let mnt = '';

const vmtouch = (...args: string[]): Promise<Report> => machpagerJson<Report>(['vmtouch', ...args]);
const stats = (): Promise<StatsRecord> => machpagerJson<StatsRecord>(['stats', mnt]);

beforeAll(async () => {
  dir = await tempDir('vmtouch');
  mnt = path.join(dir, 'mnt');
  const store = `sqlite:${path.join(dir, 'fs.db')}`;
  // Written, then the mount restarted: nothing of the files is resident at the start.
  const first = await mount({ store, mnt, cacheSize: '2M', pageSize: '4K' });
  await first.shOk(
    'mkdir -p tree/sub && dd if=/dev/urandom of=tree/a bs=4096 count=10 status=none && dd if=/dev/urandom of=tree/sub/b bs=4096 count=6 status=none && ' +
      'dd if=/dev/urandom of=locked bs=4096 count=64 status=none && dd if=/dev/urandom of=pressure bs=4096 count=1024 status=none && dd if=/dev/urandom of=huge bs=4096 count=400 status=none',
  );
  expect(await first.stop()).toBe(0);
  await mount({ store, mnt, cacheSize: '2M', pageSize: '4K' });
}, 120_000);

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

describe('vmtouch on a real mount', () => {
  it('shows nothing resident, -t reads a whole tree in, -v maps it, -e drops it again', async () => {
    const tree = path.join(mnt, 'tree');
    const cold = await vmtouch(tree);
    expect(cold).toMatchObject({ files: [{}, {}], pages: 16, resident_pages: 0 });
    expect(cold.files.map((f) => f.name).sort()).toEqual([path.join(tree, 'a'), path.join(tree, 'sub/b')]);

    const touched = await vmtouch('-t', tree);
    expect(touched).toMatchObject({ pages: 16, resident_pages: 16, touched_pages: 16 });
    expect(touched.files.every((f) => f.map === 'o'.repeat(f.pages))).toBe(true);

    // The human view: the summary, and with -v a full map per file.
    const shown = await machpager(['vmtouch', '-v', tree]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`${path.join(tree, 'a')}\n[OOOOOOOOOO] 10/10\n`);
    expect(shown.stdout).toMatch(/ {11}Files: 2\n {2}Resident Pages: 16\/16 {2}64K\/64K {2}100%\n/);

    const evicted = await vmtouch('-e', tree);
    expect(evicted).toMatchObject({ evicted_pages: 16, resident_pages: 0 });
    expect(evicted.files.every((f) => f.map === '.'.repeat(f.pages))).toBe(true);

    // -q: nothing printed; the exit code says it went well.
    const quiet = await machpager(['vmtouch', '-q', '-t', tree]);
    expect(quiet).toMatchObject({ code: 0, stdout: '' });
    expect((await vmtouch(tree)).resident_pages).toBe(16);
  });

  it('-l keeps a file resident under pressure until the command ends, and evict leaves it alone', async () => {
    const locked = path.join(mnt, 'locked');
    const child = spawn(process.execPath, [MACHPAGER, 'vmtouch', '-l', locked], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('LOCKED')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`vmtouch -l did not lock: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(out).toContain('LOCKED 64 pages (256K)');
      expect((await stats()).wire_count).toBe(64);
      // Pressure: 4 MB read through a 2 MB cache evicts everything that is not wired.
      expect((await machpager(['vmtouch', '-t', path.join(mnt, 'pressure')])).code).toBe(0);
      const after = await vmtouch(locked);
      expect(after).toMatchObject({ pages: 64, resident_pages: 64, files: [{ wired_pages: 64, map: 'w'.repeat(64) }] });
      // evict and vmtouch -e leave a locked file alone, and say so.
      const e = await vmtouch('-e', locked);
      expect(e).toMatchObject({ evicted_pages: 0, locked_files: 1, resident_pages: 64 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // The connection closed: the daemon unwired (its close handler runs as the socket closes).
    const deadline = Date.now() + 10_000;
    while ((await stats()).wire_count !== 0) {
      if (Date.now() > deadline) throw new Error('the pages stayed wired after vmtouch -l ended');
    }
    expect((await vmtouch('-e', locked)).evicted_pages).toBe(64);
  });

  it('a vmtouch -l killed with SIGKILL unlocks too: the daemon unwires when the connection drops', async () => {
    const child = spawn(process.execPath, [MACHPAGER, 'vmtouch', '-l', path.join(mnt, 'locked')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('LOCKED')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`vmtouch -l did not lock: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await stats()).wire_count).toBe(64);
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    const deadline = Date.now() + 10_000;
    while ((await stats()).wire_count !== 0) {
      if (Date.now() > deadline) throw new Error('the pages stayed wired after vmtouch -l was killed');
    }
  });

  it('refuses to wire more than 3/4 of the cache, with one clear line', async () => {
    const r = await machpager(['vmtouch', '-l', path.join(mnt, 'huge'), path.join(mnt, 'locked')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^machpager: .*would wire 4\d\d of the cache's 512 pages; at most 3\/4 \(384\) may be wired/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // Nothing stays wired: what the refused command had locked went with its connection.
    const deadline = Date.now() + 10_000;
    while ((await stats()).wire_count !== 0) {
      if (Date.now() > deadline) throw new Error('pages stayed wired after a refused vmtouch -l');
    }
  });
});
