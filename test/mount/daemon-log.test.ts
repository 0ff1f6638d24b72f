/**
 * The daemon log of a real mount with --log-format json: every line the
 * daemon writes is one JSON object, and a policy switch and a resize made by
 * the CLI (another process, through the control socket) are one info line
 * each with the old and new values; with --log-level warn they are not
 * written at all.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { machpager, mount, type Mounted } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';
import { until } from '../cli/harness.js';

const dir = mountsDir('daemon-log');

/** The daemon's output so far, one parsed object a line; a line that is not JSON fails the test. */
function entries(m: Mounted): Record<string, unknown>[] {
  return m.log
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line in the daemon's log: ${l}`);
      }
    });
}

describe('mount --log-format json', () => {
  it('writes JSON lines only; policy and cache-size changes are info lines with old and new values', async () => {
    const m = await mount({ store: `sqlite:${path.join(dir(), 'json.db')}`, mnt: path.join(dir(), 'json'), policy: 'lru', cacheSize: '1M', args: ['--log-format', 'json'] });
    expect(entries(m)[0]).toMatchObject({ level: 'info', name: 'machpager', pid: m.child.pid, msg: expect.stringMatching(/^mounted sqlite:.*json\.db on /) as unknown });

    const policy = await machpager(['policy', 'fifo', m.mnt]);
    expect(policy.code, policy.stderr).toBe(0);
    const resize = await machpager(['cache-size', '2M', m.mnt]);
    expect(resize.code, resize.stderr).toBe(0);
    await until(() => entries(m).filter((e) => e.change !== undefined).length >= 2, 'the two change lines');
    const changes = entries(m).filter((e) => e.change !== undefined);
    expect(changes).toEqual([
      expect.objectContaining({ level: 'info', change: 'policy', old: 'lru', new: 'fifo', msg: 'policy lru -> fifo', from: { connection: expect.any(Number) as unknown } }),
      expect.objectContaining({ level: 'info', change: 'cache-size', old: 1 << 20, new: 2 << 20, frames: 512 }),
    ]);

    expect(await m.stop()).toBe(0);
    expect(entries(m).at(-1)).toMatchObject({ level: 'info', msg: expect.stringMatching(/^unmounted .* synced and closed/) as unknown });
  });

  it('--log-level warn keeps the info lines out', async () => {
    const m = await mount({ store: `sqlite:${path.join(dir(), 'quiet.db')}`, mnt: path.join(dir(), 'quiet'), args: ['--log-format', 'json', '--log-level', 'warn'], silent: true });
    // Nothing at info: not even "mounted" (the mount helper saw the mount answer instead).
    expect((await machpager(['policy', 'fifo', m.mnt])).code).toBe(0);
    expect((await machpager(['policy', m.mnt])).stdout).toMatch(/fifo/);
    expect(await m.stop()).toBe(0);
    expect(entries(m).filter((e) => e.level === 'info')).toEqual([]);
  });
});
