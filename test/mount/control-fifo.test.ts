/**
 * The control FIFO driven from a shell, as LazyFS's is (`echo CMD > FIFO`),
 * on both stores: fault rules on and off, evict, sync, LazyFS's spellings,
 * a mistake answered in the daemon log; and the API's per-test fixture
 * (mountFixture) with its action log.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ActionRecord } from '../../daemon/api/index.js';
import { mountFixture, withMount } from '../../daemon/api/testing.js';
import { removeDir, sh, shOk, STORE_KINDS, tempDir } from '../helpers/mounted.js';
import { until } from '../helpers/until.js';

let dir = '';

beforeAll(async () => {
  dir = await tempDir('fifo');
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

describe.each(STORE_KINDS)('the control FIFO on $kind', ({ kind, store }) => {
  const label = kind.replace(/\W/g, '');

  it('takes one command a line from a shell; each answer is a line of the daemon log; the FIFO goes with the mount', async () => {
    const at = path.join(dir, `${label}-store`);
    await mkdir(at);
    const fifo = path.join(dir, `${label}.fifo`);
    await withMount({ store: store(at), mountpoint: path.join(dir, `${label}-mnt`), controlFifo: fifo }, async (m) => {
      expect(m.daemonLog).toContain(`control fifo ${fifo}`);
      await shOk(`echo hello > g && sync g`, { cwd: m.mountpoint });
      const logged = (line: string): Promise<void> => until(() => m.daemonLog.includes(line), `the log says ${line}`);

      // The rules and the evict, from a shell, in order.
      await shOk(`echo 'inject read(g)=EIO' > ${fifo}; echo 'evict /g' > ${fifo}`);
      await logged('fifo: evict /g: ok');
      expect(m.daemonLog).toMatch(/fifo: inject read\(g\)=EIO: ok \{"spec":"read\(g\)=EIO"/);
      const failed = await sh('cat g', { cwd: m.mountpoint });
      expect(failed.stderr).toMatch(/Input\/output error/);

      // Switched off, evicted (every file), read right; LazyFS's checkpoint is a sync; a freeze and thaw.
      await shOk(`printf 'inject --off\\nevict\\nlazyfs::cache-checkpoint\\nfreeze\\nthaw\\nlazyfs::display-cache-usage\\n# a comment\\nreboot now\\n' > ${fifo}`);
      await logged('fifo: reboot now: failed EINVAL');
      expect(await shOk('cat g', { cwd: m.mountpoint })).toBe('hello\n');
      for (const line of ['fifo: inject --off: ok', 'fifo: evict: ok', 'fifo: lazyfs::cache-checkpoint: ok {"synced":"/"}', 'fifo: freeze: ok', 'fifo: thaw: ok', 'fifo: lazyfs::display-cache-usage: ok {"frames":'])
        expect(m.daemonLog).toContain(line);
      expect(m.daemonLog).toContain('store frozen');
      expect(m.daemonLog).not.toContain('a comment');
      expect((await m.inject()).enabled).toBe(false);
    });
    // Made by the daemon, removed with it.
    expect(existsSync(fifo)).toBe(false);
  });
});

describe('mountFixture', () => {
  const actions: ActionRecord[] = [];
  const fs = mountFixture({ cacheSize: '8M', log: (a) => actions.push(a) }, { beforeEach, afterEach });

  it('mounts for the test, tells every action to the log callback, and unmounts after it', async () => {
    const m = fs();
    await shOk('seq 1 10000 > n && mkdir d && cp n d/m', { cwd: m.mountpoint });
    const synced = await m.sync('d');
    expect(synced).toEqual({ synced: '/d' });
    const files = await m.files([m.path('d')]);
    expect(files.map((f) => f.path)).toEqual(['/d/m']);
    const evicted = await m.evict('/');
    expect(evicted.files).toBe(2);
    expect(actions.map((a) => `${a.action} ${a.ok}`)).toEqual(['mount true', 'sync true', 'files true', 'evict true']);
    // A mistake is on record too, with its errno.
    await expect(m.sync('/nope')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(actions.at(-1)).toMatchObject({ action: 'sync', ok: false, error: { code: 'ENOENT' } });
  });
});
