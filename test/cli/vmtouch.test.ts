/**
 * `machpager vmtouch` against a fake daemon (runCli in this process): the
 * requests it makes for each action, the vmtouch-style summary and page
 * maps, -q, the progress bar of -t on a terminal (and none without one),
 * -l holding its connection until Ctrl-C and failing when the daemon goes
 * away, and the usage errors. The real thing: test/mount/vmtouch.test.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapturedStream } from './captured-stream.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { pageMap } from '../../daemon/cli/vmtouch-view.js';
import type { ResidencyRecord } from '../../daemon/control/protocol.js';
import { FakeDaemon, fakeTerminal, hello, ok, removeDir, runIn, tempDir, type CliSetup, type Handler } from '../control/fake-daemon.js';

let tmp = '';
let run = '';
let mnt = '';
let daemons: FakeDaemon[] = [];

beforeEach(async () => {
  tmp = await tempDir('vmtouch');
  run = path.join(tmp, 'run');
  mnt = path.join(tmp, 'mnt');
  await mkdir(path.join(mnt, 'dir'), { recursive: true });
  await writeFile(path.join(mnt, 'dir', 'a'), '');
  daemons = [];
});

afterEach(async () => {
  for (const d of daemons) await d.close();
  await removeDir(tmp);
});

async function daemon(handlers: Record<string, Handler>): Promise<FakeDaemon> {
  const d = await FakeDaemon.start(mnt, run, { hello: ok(hello(mnt)), ...handlers });
  daemons.push(d);
  return d;
}

function cli(argv: string[], over: Partial<CliSetup> = {}): ReturnType<typeof runIn> {
  return runIn({ cwd: tmp, mounts: [mnt], runtimeDir: run, ...over }, argv);
}

function rec(p: string, pages: number, resident: number, over: Partial<ResidencyRecord> = {}): ResidencyRecord {
  return { path: p, ino: 2, size: pages * 4096, pages, resident_pages: resident, dirty_pages: 0, wired_pages: 0, ...over };
}


describe('pageMap', () => {
  it('draws a page a column up to 60 pages, then O / o / blank per column', () => {
    expect(pageMap('oo..w')).toBe('OO  O');
    const map = pageMap('o'.repeat(60) + '.'.repeat(59) + 'o');
    expect(map).toHaveLength(60);
    expect(map.slice(0, 30)).toBe('O'.repeat(30));
    expect(map.slice(30, 59)).toBe(' '.repeat(29));
    expect(map[59]).toBe('o');
  });
});

describe('vmtouch', () => {
  it('without an action: asks for the residency of the tree and prints the summary', async () => {
    const d = await daemon({ residency: ok([rec('/dir/a', 10, 4), rec('/dir/b', 6, 6)]) });
    const r = await cli(['vmtouch', 'mnt/dir']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(d.params('residency')).toEqual([{ paths: ['/dir'], recursive: true }, { paths: ['/dir'], recursive: true }]);
    expect(r.stdout).toMatch(/^ {11}Files: 2\n {2}Resident Pages: 10\/16 {2}40K\/64K {2}62\.5%\n {9}Elapsed: [\d.]+ seconds\n$/);
  });

  it('-t touches every file with pages, with a bar on a terminal; -v prints the maps', async () => {
    const before = [rec('/dir/a', 10, 4), rec('/dir/empty', 0, 0), rec('/dir/b', 6, 0)];
    const after = [rec('/dir/a', 10, 10, { map: 'o'.repeat(10) }), rec('/dir/empty', 0, 0, { map: '' }), rec('/dir/b', 6, 6, { map: 'oooood', dirty_pages: 1 })];
    let calls = 0;
    const d = await daemon({
      residency: () => ({ result: calls++ === 0 ? before : after }),
      touch: (params) => ({ result: { path: params.path, pages: params.path === '/dir/a' ? 10 : 6, touched_pages: params.path === '/dir/a' ? 6 : 6, resident_pages: 0 } }),
    });
    const tty = new CapturedStream(true);
    const r = await cli(['vmtouch', '-t', '-v', 'mnt/dir'], { progressStream: tty });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(d.params('touch')).toEqual([{ path: '/dir/a' }, { path: '/dir/b' }]);
    expect(tty.text).toMatch(/\/16 pages/);
    expect(r.stdout).toContain(`${path.join('mnt/dir', 'a')}\n[OOOOOOOOOO] 10/10\n`);
    expect(r.stdout).toContain('[OOOOOO] 6/6 (1 dirty)\n');
    expect(r.stdout).toMatch(/ {3}Touched Pages: 12 \(48K\)\n/);
  });

  it('-q prints nothing and draws no bar; -e asks evict file by file and reports locked files', async () => {
    const d = await daemon({
      residency: ok([rec('/dir/a', 10, 10), rec('/dir/b', 6, 6, { wired_pages: 6 })]),
      evict: (params) => ({ result: params.path === '/dir/b' ? { evicted_pages: 0, files: 0, locked_files: 1 } : { evicted_pages: 10, files: 1 } }),
      touch: ok({ path: '/dir/a', pages: 10, touched_pages: 0, resident_pages: 10 }),
    });
    const tty = new CapturedStream(true);
    const quiet = await cli(['vmtouch', '-q', '-t', 'mnt/dir'], { progressStream: tty });
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(tty.text).toBe('');
    const e = await cli(['vmtouch', '-e', 'mnt/dir']);
    expect(e.code).toBe(0);
    expect(d.params('evict')).toEqual([{ path: '/dir/a' }, { path: '/dir/b' }]);
    expect(e.stdout).toMatch(/ {3}Evicted Pages: 10 \(40K\)\n/);
    expect(e.stdout).toMatch(/Locked, kept: 1 file /);
  });

  it('-l locks, says so, and holds its connection until Ctrl-C', async () => {
    const d = await daemon({ residency: ok([rec('/dir/a', 10, 10, { wired_pages: 10 })]), lock: ok({ path: '/dir/a', locked_pages: 10, wired_pages: 10, frames: 512, wire_limit: 384 }) });
    let lockedAtListen = 0;
    const terminal = fakeTerminal(undefined, (t) => {
      // It waits with the lock taken (and its connection open: the daemon holds the wires for it).
      lockedAtListen = d.params('lock').length;
      setImmediate(() => t.press('\x03'));
    });
    const r = await runIn({ cwd: tmp, mounts: [mnt], runtimeDir: run, terminal }, ['vmtouch', '-l', 'mnt/dir/a']);
    expect(lockedAtListen).toBe(1);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(d.params('lock')).toEqual([{ path: '/dir/a' }]);
    expect(r.stdout).toMatch(/LOCKED 10 pages \(40K\): Ctrl-C unlocks\n$/);
    expect(terminal.listening).toBe(0);
  });

  it('-l fails with one line when the daemon goes away while it holds the lock', async () => {
    const d = await daemon({ residency: ok([rec('/dir/a', 2, 2)]), lock: ok({ path: '/dir/a', locked_pages: 2, wired_pages: 2, frames: 512, wire_limit: 384 }) });
    const terminal = fakeTerminal(undefined, () => setImmediate(() => void d.close()));
    const r = await runIn({ cwd: tmp, mounts: [mnt], runtimeDir: run, terminal }, ['vmtouch', '-l', 'mnt/dir/a']);
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.stderr).toBe(`machpager: ${mnt}: its daemon closed the connection: the pages are no longer locked\n`);
  });

  it("passes on the daemon's refusal to wire past 3/4 of the cache", async () => {
    await daemon({
      residency: ok([rec('/dir/a', 400, 0)]),
      lock: () => ({ error: { code: 'ENOMEM', message: "/dir/a: locking its 400 pages would wire 400 of the cache's 512 pages; at most 3/4 (384) may be wired" } }),
    });
    const r = await cli(['vmtouch', '-l', 'mnt/dir/a']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^machpager: .*at most 3\/4 \(384\) may be wired\n$/);
  });

  it('usage errors: no PATH, -e with -t or -l, -q with -v', async () => {
    for (const argv of [['vmtouch'], ['vmtouch', '-e', '-t', 'mnt'], ['vmtouch', '-e', '-l', 'mnt'], ['vmtouch', '-q', '-v', 'mnt']]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
    }
  });
});
