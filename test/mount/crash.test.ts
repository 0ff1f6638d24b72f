/**
 * kill -9 of the daemon at chosen moments while a program writes, several
 * rounds, for both data stores: every file whose fsync returned is intact
 * after the next mount, whatever the rounds before left behind, and once
 * that mount has recovered (and unmounted) `machpager fsck` finds nothing,
 * with no --repair: the mount itself drops the unsynced data a crash leaves
 * past a file's size. The rounds are test/helpers/crash-rounds.ts (the
 * postgres: store runs them too, in test/mount/postgres-crash.test.ts).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { crashRounds, ROUNDS } from '../helpers/crash-rounds.js';
import { cleanupMounts, removeDir, STORE_KINDS, tempDir } from '../helpers/mounted.js';

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

  it(`${ROUNDS} rounds: every fsynced file is intact after each remount, and fsck clean with no --repair`, async () => {
    await crashRounds(store(path.join(dir, 'store')), dir);
    // Three rounds of mount, kill and fsck: 11 s each on a quiet machine, several times that on a loaded one.
  }, 240_000);
});
