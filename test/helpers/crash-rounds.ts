/**
 * Rounds of kill -9 of the daemon while a program writes (crash.test.ts and
 * the postgres: store's own crash test): every file whose fsync returned is
 * intact after the next mount, and once that mount has recovered (and
 * unmounted) `machpager fsck` finds nothing, with no --repair. The moment is
 * "after K files were synced", K drawn from a seeded PRNG: a failing round
 * replays with the same seed.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { mulberry32 } from '../../stores/seeded-random.js';
import { machpager, mount, REPO, sh } from './mounted.js';

const WRITER = path.join(REPO, 'test/fixtures/crash/writer.py');
export const ROUNDS = 3;
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

/** ROUNDS rounds of mount, write, kill -9, remount and check, fsck, on store `name`; `dir` holds the mountpoint and the log. */
export async function crashRounds(name: string, dir: string): Promise<void> {
  const mnt = path.join(dir, 'mnt');
  const log = path.join(dir, 'synced.log');
  const random = mulberry32(SEED);
  /** Every file whose fsync returned reads back with its sha256. */
  const checkSynced = async (when: string): Promise<void> => {
    for (const [file, sha] of await synced(log)) {
      const r = await sh(`sha256sum ${JSON.stringify(file)}`);
      expect(r.stderr, `${when}: ${file}`).toBe('');
      expect(r.stdout.split(' ')[0], `${when}: ${file}`).toBe(sha);
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    const m = await mount({ store: name, mnt, cacheSize: '2M' });
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
    await sh(`fusermount -uz ${JSON.stringify(mnt)}`);
    // The next mount recovers what the crash left; then the store is consistent: fsck, no --repair.
    const recovered = await mount({ store: name, mnt, cacheSize: '2M' });
    await checkSynced(`round ${round}`);
    expect(await recovered.stop()).toBe(0);
    const fsck = await machpager(['fsck', name]);
    expect(fsck.code, `round ${round}: fsck\n${fsck.stdout}${fsck.stderr}\nthe recovering mount's log:\n${recovered.log}`).toBe(0);
  }
  const last = await mount({ store: name, mnt, cacheSize: '2M' });
  expect((await synced(log)).length).toBeGreaterThanOrEqual(ROUNDS * 2);
  await checkSynced('at the end');
  // Everything else the crashes left is readable to its end.
  await last.shOk('find . -type f -print0 | xargs -0 cat > /dev/null');
  expect(await last.stop()).toBe(0);
}
