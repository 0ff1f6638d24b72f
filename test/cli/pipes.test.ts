/**
 * The CLI as a program in a shell pipeline (issue 13): its output reaches
 * the reader whole however long it is (a pipe takes 64 KiB at a time, and
 * an exit before the pipe has taken the rest cut it), and a command that
 * keeps printing (stats -w, top) stops when the reader goes away, as vmstat
 * does under `| head`. The real executable (dist/) runs against a fake
 * daemon listening where the CLI looks for the mount's socket.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { socketCandidates } from '../../daemon/control/socket-path.js';
import { FakeDaemon, hello, ok, removeDir, statsRecord, tempDir } from '../control/fake-daemon.js';

const MAIN = path.resolve('dist/daemon/cli/main.js');
const run = promisify(execFile);

let dir = '';
let mnt = '';
let daemon: FakeDaemon | undefined;

beforeEach(async () => {
  dir = await tempDir('pipes');
  mnt = path.join(dir, 'mnt');
  await mkdir(mnt);
});

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await removeDir(dir);
});

/** A fake daemon for `mnt` where this process's user (root in CI) looks for it. */
async function serve(handlers: Parameters<typeof FakeDaemon.listen>[1]): Promise<void> {
  const uid = process.geteuid?.() ?? 0;
  const socketPath = socketCandidates(mnt, { uid, env: { XDG_RUNTIME_DIR: dir } })[0] ?? '';
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  daemon = await FakeDaemon.listen(socketPath, { hello: ok(hello(mnt)), ...handlers });
}

/** `command` in sh with the CLI as $M; its exit status and stdout. */
async function shell(command: string): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, XDG_RUNTIME_DIR: dir, M: `${process.execPath} ${MAIN}` };
  try {
    const { stdout } = await run('sh', ['-c', command], { env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '' };
  }
}

describe('output through a pipe', () => {
  it('more than 1 MB of JSON reaches a reader whole', async () => {
    const trace = path.join(dir, 'trace.txt');
    await writeFile(trace, Array.from({ length: 200 }, (_, i) => `${i + 1}\n`).join(''));
    const sizes = Array.from({ length: 500 }, (_, i) => i + 1).join(',');
    const sim = `$M sim "${trace}" --json -c ${sizes}`;
    const whole = await shell(`${sim} | wc -c`);
    expect(Number(whole.stdout.trim())).toBeGreaterThan(1024 * 1024);
    const parsed = await shell(`${sim} | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"`);
    expect(parsed.code).toBe(0);
    expect(Number(parsed.stdout.trim())).toBeGreaterThanOrEqual(500);
  });

  it('stats -w and top stop when the reader closes the pipe (| head)', async () => {
    await serve({ stats: ok(statsRecord()), files: ok([]) });
    const stats = await shell(`$M stats -w 0.05 "${mnt}" | head -2; echo "status $?"`);
    expect(stats.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(stats.stdout).toMatch(/status 0\n$/);
    const top = await shell(`$M top -i 0.05 "${mnt}" | head -2; echo "status $?"`);
    expect(top.stdout.trimEnd().split('\n')).toHaveLength(3);
    // Both commands ended by themselves: sh waited for them before printing the status.
    expect(daemon?.params('stats').length).toBeGreaterThan(1);
  });
});

describe('a path the CLI cannot use', () => {
  it('a path that does not exist, and one outside any machpager mount: one line naming it, exit 66', async () => {
    const missing = await shell(`$M stats "${dir}/nope" 2>&1; echo "status $?"`);
    expect(missing.stdout).toBe(`machpager: ${dir}/nope: no such file or directory\nstatus 66\n`);
    const outside = await shell(`$M stats "${dir}" 2>&1; echo "status $?"`);
    expect(outside.stdout).toBe(`machpager: ${dir}: not in a machpager mount\nstatus 66\n`);
  });
});
