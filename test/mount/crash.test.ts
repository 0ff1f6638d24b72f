/**
 * kill -9 of the daemon at chosen moments while a program writes, several
 * rounds, for both data stores: every file whose fsync returned is intact
 * after the next mount, whatever the rounds before left behind, and after
 * each crash `machpager fsck` finds nothing but unsynced data past a file's
 * size, which --repair fixes. The moment
 * is "after K files were synced", K drawn from a seeded PRNG: a failing
 * round replays with the same seed.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../stores/seeded-random.js';
import { cleanupMounts, machpager, mount, REPO, removeDir, sh, STORE_KINDS, tempDir } from '../helpers/mounted.js';

const WRITER = path.join(REPO, 'test/fixtures/crash/writer.py');
const ROUNDS = 3;
const SEED = 20261204;

/** The lines "path sha256" the writer logged (only after fsync returned). */
async function synced(log: string): Promise<[string, string][]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(' ') as [string, string]);
}

/** Poll (bounded) until the writer has logged `count` synced files. */
async function waitForSynced(log: string, count: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await synced(log)).length < count) {
    if (exited()) throw new Error(`the writer stopped before ${count} synced files`);
    if (Date.now() > deadline) throw new Error(`fewer than ${count} synced files after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(STORE_KINDS)('kill -9 during writes with the $kind store', ({ store }) => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('crash');
    await mkdir(path.join(dir, 'store'));
  });

  afterEach(async () => {
    await cleanupMounts();
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it(`${ROUNDS} rounds: every fsynced file is intact after each remount`, async () => {
    const name = store(path.join(dir, 'store'));
    const mnt = path.join(dir, 'mnt');
    const log = path.join(dir, 'synced.log');
    const random = mulberry32(SEED);
    for (let round = 0; round < ROUNDS; round++) {
      const m = await mount({ store: name, mnt, cacheSize: '2M' });
      // What every earlier round synced is still there.
      for (const [file, sha] of await synced(log)) {
        const r = await sh(`sha256sum ${JSON.stringify(file)}`);
        expect(r.stderr, `round ${round}: ${file}`).toBe('');
        expect(r.stdout.split(' ')[0], `round ${round}: ${file}`).toBe(sha);
      }
      const before = (await synced(log)).length;
      const crashAfter = before + 2 + Math.floor(random() * 12);
      const writer = spawn('python3', [WRITER, path.join(mnt, `r${round}`), log, String(SEED + round)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let writerDone = false;
      const writerExit = new Promise<void>((resolve) =>
        writer.on('exit', () => {
          writerDone = true;
          resolve();
        }),
      );
      try {
        await waitForSynced(log, crashAfter, () => writerDone);
      } finally {
        await m.kill9();
        // The writer fails on the dead mount and stops.
        await writerExit;
      }
      // What the crash left is consistent. The one leftover a crash may leave is page data written
      // back past a file's size that was never synced (the writer was killed mid-file): fsck
      // --repair fixes that (and only that), and then fsck finds nothing.
      await sh(`fusermount -uz ${JSON.stringify(mnt)}`);
      const repair = await machpager(['fsck', '--repair', '--json', name]);
      expect([0, 1], `round ${round}: fsck --repair\n${repair.stdout}${repair.stderr}`).toContain(repair.code);
      const report = JSON.parse(repair.stdout) as { problems: { kind: string; fixed: boolean }[] };
      expect(report.problems.filter((p) => p.kind !== 'size' || !p.fixed), `round ${round}`).toEqual([]);
      const fsck = await machpager(['fsck', name]);
      expect(fsck.code, `round ${round}: fsck\n${fsck.stdout}${fsck.stderr}`).toBe(0);
    }
    const last = await mount({ store: name, mnt, cacheSize: '2M' });
    const files = await synced(log);
    expect(files.length).toBeGreaterThanOrEqual(ROUNDS * 2);
    for (const [file, sha] of files) {
      const r = await sh(`sha256sum ${JSON.stringify(file)}`);
      expect(r.stdout.split(' ')[0], file).toBe(sha);
    }
    // Everything else the crashes left is readable to its end.
    await last.shOk('find . -type f -print0 | xargs -0 cat > /dev/null');
    expect(await last.stop()).toBe(0);
  });
});
