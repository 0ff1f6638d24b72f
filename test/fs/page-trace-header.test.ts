/**
 * A recorded trace names each file where it first appears, by inode and
 * by path (`# file N: inode I path "..."`, the path as a JSON string, so
 * any name stays on one line), and `sim` reads traces of both forms: the
 * new one and the old one (a `# file N: inode I` map at the end).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTrace } from '../../daemon/cli/sim/trace-file.js';
import { fileHeader, fileHeaderLine, PageTraceRecorder } from '../../daemon/fs/page-trace.js';
import { parseTrace } from '../../kernel/policy/trace.js';
import { runInProcess, tempDir } from '../cli/harness.js';
import { removeDir } from '../control/fake-daemon.js';

let dir = '';
beforeEach(async () => {
  dir = await tempDir('trace-header');
});
afterEach(async () => {
  await removeDir(dir);
});

const ODD = '/dir/a "quoted" name\nwith a newline # and a hash';

describe('trace file headers', () => {
  it('name each file at its first access, by inode and path; the requests are unchanged', async () => {
    const file = path.join(dir, 'new.trace');
    const names = new Map<number, string>([
      [7, '/src/main.c'],
      [9, ODD],
    ]);
    const recorder = await PageTraceRecorder.start(file, 4096, (ino) => names.get(ino));
    recorder.record(7, 0, 8192);
    recorder.record(9, 4096, 10);
    recorder.record(11, 0, 1); // no name left (unlinked while open)
    recorder.record(7, 0, 1);
    await recorder.stop();
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    expect(lines[1]).toBe('# file 1: inode 7 path "/src/main.c"');
    expect(lines.filter((l) => l.startsWith('# file')).map(fileHeader)).toEqual([
      { file: 1, ino: 7, path: '/src/main.c' },
      { file: 2, ino: 9, path: ODD },
      { file: 3, ino: 11 },
    ]);
    const f = 2 ** 32;
    const ids = [f, f + 1, 2 * f + 1, 3 * f, f];
    expect(lines.filter((l) => l !== '' && !l.startsWith('#')).map(Number)).toEqual(ids);
    // The sim's loader and the kernel's parser read it: five requests, four distinct pages.
    const loaded = await readTrace(Readable.from([await readFile(file)]));
    expect({ requests: loaded.ids.length, distinct: loaded.distinct }).toEqual({ requests: 5, distinct: 4 });
    expect(parseTrace(text).ids).toEqual(loaded.ids);
  });

  it('reads the old form (inode only, in a map at the end) too; other lines are no header', () => {
    expect(fileHeader('# file 3: inode 42')).toEqual({ file: 3, ino: 42 });
    expect(fileHeader(fileHeaderLine(4, 5, '/x').trimEnd())).toEqual({ file: 4, ino: 5, path: '/x' });
    expect(fileHeader('# 7 requests, 0 dropped, 2 files')).toBeUndefined();
    expect(fileHeader('4294967296')).toBeUndefined();
  });

  it('sim replays an old trace and a new one of the same requests alike', async () => {
    const f = 2 ** 32;
    const requests = [f, f + 1, f, f + 1, 2 * f, f, 2 * f + 1].map((id) => `${id}\n`).join('');
    const old = `# machpager page trace: page size 4096\n${requests}# 7 requests, 0 dropped, 2 files\n# file 1: inode 7\n# file 2: inode 9\n`;
    const now = `# machpager page trace: page size 4096\n${fileHeaderLine(1, 7, '/a')}${fileHeaderLine(2, 9, ODD)}${requests}# 7 requests, 0 dropped, 2 files\n`;
    await writeFile(path.join(dir, 'old.trace'), old);
    await writeFile(path.join(dir, 'new.trace'), now);
    const a = await runInProcess(['sim', 'old.trace', '--policy', 'lru', '--cache', '2', '--json'], { cwd: dir });
    const b = await runInProcess(['sim', 'new.trace', '--policy', 'lru', '--cache', '2', '--json'], { cwd: dir });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const misses = (out: string): unknown => (JSON.parse(out) as { requests: number; misses: number }[]).map(({ requests, misses }) => ({ requests, misses }));
    expect(misses(b.stdout)).toEqual(misses(a.stdout));
    expect(misses(a.stdout)).toEqual([{ requests: 7, misses: 5 }]);
  });
});
