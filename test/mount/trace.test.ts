/**
 * `machpager trace start|stop|status` on a real mount: what the trace file
 * holds, and the errors (a file on the traced mount, an existing file, a
 * second start, a stop with nothing recording).
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { parseTrace } from '../../kernel/policy/trace.js';
import { cleanupMounts, machpager, mount, removeDir, tempDir, type Mounted } from '../helpers/mounted.js';

let dir = '';
let m: Mounted;

beforeAll(async () => {
  dir = await tempDir('trace');
  m = await mount({ store: `sqlite:${path.join(dir, 't.db')}`, mnt: path.join(dir, 'mnt'), cacheSize: '1M', pageSize: '4K' });
});

afterAll(async () => {
  await cleanupMounts();
  if (dir) await removeDir(dir);
});

describe('trace', () => {
  it('records every page read and written, in order, with stable ids per file', async () => {
    const file = path.join(dir, 'one.trace');
    expect((await machpager(['trace', 'status', m.mnt])).stdout).toBe('not recording\n');
    const start = await machpager(['trace', 'start', file, m.mnt]);
    expect(start).toMatchObject({ code: 0, stdout: `recording into ${file}: 0 page requests, 0 files\n` });
    // 3 pages written, then page 1 read, then 2 pages of a second file, then the first file's page 0.
    await m.shOk(
      'head -c 12288 /dev/zero > f && dd if=f of=/dev/null bs=4096 skip=1 count=1 status=none && head -c 8192 /dev/zero > g && dd if=f of=/dev/null bs=4096 count=1 status=none',
    );
    expect((await machpager(['trace', 'status', m.mnt])).stdout).toBe(`recording into ${file}: 7 page requests, 2 files\n`);
    const stop = await machpager(['trace', 'stop', m.mnt, '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ recording: false, path: file, requests: 7, dropped: 0, files: 2 });

    const text = await readFile(file, 'utf8');
    const f = 2 ** 32;
    const g = 2 * 2 ** 32;
    const ids = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map(Number);
    expect(ids).toEqual([f, f + 1, f + 2, f + 1, g, g + 1, f]);
    expect(text).toMatch(/^# machpager page trace: page size 4096;/);
    // Each file named where it first appears, by inode and by path.
    expect(text).toMatch(/^# file 1: inode \d+ path "\/f"$/m);
    expect(text).toMatch(/^# file 2: inode \d+ path "\/g"$/m);
    expect(parseTrace(text).ids.length).toBe(7);
  });

  it('refuses a trace file on the traced mount, an existing file, a second start, a stop with nothing to stop', async () => {
    const inside = await machpager(['trace', 'start', path.join(m.mnt, 'x.trace'), m.mnt]);
    expect(inside.code).toBe(EXIT.USAGE);
    expect(inside.stderr).toMatch(/is on the mount being traced/);

    const existing = path.join(dir, 'exists.trace');
    await writeFile(existing, 'keep\n');
    const clash = await machpager(['trace', 'start', existing, m.mnt]);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toMatch(/exists already/);
    expect(await readFile(existing, 'utf8')).toBe('keep\n');

    const file = path.join(dir, 'two.trace');
    expect((await machpager(['trace', 'start', file, m.mnt])).code).toBe(0);
    const second = await machpager(['trace', 'start', path.join(dir, 'three.trace'), m.mnt]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/being recorded already/);
    expect((await machpager(['trace', 'stop', m.mnt])).code).toBe(0);

    const none = await machpager(['trace', 'stop', m.mnt]);
    expect(none.code).toBe(EXIT.NOINPUT);
    expect(none.stderr).toMatch(/no trace is being recorded/);
    const bad = await machpager(['trace', 'begin', m.mnt]);
    expect(bad.code).toBe(EXIT.USAGE);
  });

  it('an unmount finishes the trace file', async () => {
    const file = path.join(dir, 'unmount.trace');
    const other = await mount({ store: `sqlite:${path.join(dir, 'u.db')}`, mnt: path.join(dir, 'mnt-u'), cacheSize: '1M', pageSize: '4K' });
    expect((await machpager(['trace', 'start', file, other.mnt])).code).toBe(0);
    await other.shOk('head -c 8192 /dev/zero > f');
    expect(await other.stop()).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^# 2 requests, 0 dropped, 1 files$/m);
  });
});
