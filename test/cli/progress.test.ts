/**
 * Progress bars (daemon/cli/progress.ts): drawn on a terminal, nothing at
 * all when the stream is no terminal (a pipe, a file, a test), and `sim`
 * drawing one over its replays without changing what it prints on stdout.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapturedStream } from './captured-stream.js';
import { startProgress } from '../../daemon/cli/progress.js';
import { removeDir } from '../control/fake-daemon.js';
import { runInProcess, tempDir } from './harness.js';


let dir = '';
beforeEach(async () => {
  dir = await tempDir('progress');
});
afterEach(async () => {
  await removeDir(dir);
});

describe('startProgress', () => {
  it('draws a bar with the units on a terminal, and takes it off at stop', () => {
    const tty = new CapturedStream(true);
    const progress = startProgress({ progressStream: tty }, 'pages', 10);
    progress.update(5);
    progress.stop();
    progress.update(7); // after stop: nothing
    expect(tty.text).toMatch(/\d+\/10 pages/);
  });

  it('writes nothing when the stream is no terminal, or there is none', () => {
    const pipe = new CapturedStream(false);
    const progress = startProgress({ progressStream: pipe }, 'pages', 10);
    progress.update(10);
    progress.stop();
    expect(pipe.text).toBe('');
    const none = startProgress({}, 'pages', 10);
    none.update(1);
    none.stop();
  });
});

describe('sim', () => {
  it('shows its replays on a terminal; stdout is the same as without', async () => {
    const trace = path.join(dir, 'trace.txt');
    await writeFile(trace, Array.from({ length: 2000 }, (_, i) => `${(i * 7) % 300}\n`).join(''));
    const tty = new CapturedStream(true);
    const drawn = await runInProcess(['sim', trace, '-p', 'lru,fifo', '-c', '10,20,30', '--json'], { cwd: dir, progressStream: tty });
    expect(drawn.code).toBe(0);
    expect(tty.text).toMatch(/\/6 replays/);
    const pipe = new CapturedStream(false);
    const plain = await runInProcess(['sim', trace, '-p', 'lru,fifo', '-c', '10,20,30', '--json'], { cwd: dir, progressStream: pipe });
    expect(pipe.text).toBe('');
    const strip = (out: string): unknown => (JSON.parse(out) as { requests_per_second: unknown }[]).map((c) => ({ ...c, requests_per_second: null }));
    expect(strip(drawn.stdout)).toEqual(strip(plain.stdout));
    expect(drawn.stderr).toBe('');
  });
});
