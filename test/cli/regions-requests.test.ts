/**
 * `machpager regions` and `machpager requests` against a fake daemon
 * (test/control/fake-daemon.ts): what they ask, the vmmap-style and the
 * requests tables, --json, the empty cases, help, and the errors (one line,
 * an exit code).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import type { RegionRecord, RequestRecord } from '../../daemon/control/protocol.js';
import { FakeDaemon, hello, ok, removeDir, runIn, tempDir, type CliSetup, type Handler } from '../control/fake-daemon.js';

let tmp = '';
let run = '';
let mnt = '';
let daemons: FakeDaemon[] = [];

beforeEach(async () => {
  tmp = await tempDir('regions');
  run = path.join(tmp, 'run');
  mnt = path.join(tmp, 'mnt');
  await mkdir(mnt, { recursive: true });
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

const FILE_WINDOW: RegionRecord = {
  task: 'fs',
  start: 0x1000,
  end: 0x5000,
  size: 0x4000,
  protection: 'rwx',
  max_protection: 'rwx',
  inheritance: 'copy',
  shared: false,
  object: 3,
  offset: 0,
  growable: true,
  internal: false,
  path: '/big.db',
  ino: 12,
};
const PAGER_WINDOW: RegionRecord = { ...FILE_WINDOW, task: 'pager', start: 0x1000, end: 0x2000, size: 0x1000, protection: 'r--', max_protection: 'rw-', inheritance: 'none', shared: true, offset: 0x3000, growable: false };

const WAITING: RequestRecord = {
  id: 7,
  op: 'read',
  pid: 31337,
  command: 'dd',
  uid: 1000,
  path: '/stalled',
  ino: 12,
  offset: 8192,
  length: 4096,
  waits_for: 'data_request',
  object: 3,
  page_offset: 8192,
  since: 1_700_000_000_000,
  waited_ms: 1500,
};

describe('regions', () => {
  it('asks the daemon for its regions and prints them vmmap-style, one line each', async () => {
    const d = await daemon({ regions: ok([FILE_WINDOW, PAGER_WINDOW]) });
    const r = await cli(['regions', mnt]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(d.params('regions')).toEqual([{}]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TASK +START-END +PRT\/MAX +INH +SHR +SIZE +OBJECT +OFFSET +FILE$/);
    expect(lines[1]).toMatch(/^fs +00001000-00005000 +rwx\/rwx +copy +- +16K\+ +0x3 +00000000 +\/big\.db$/);
    expect(lines[2]).toMatch(/^pager +00001000-00002000 +r--\/rw- +none +s +4K +0x3 +00003000 +\/big\.db$/);
  });

  it('--json prints the records; no regions says so', async () => {
    await daemon({ regions: ok([FILE_WINDOW]) });
    const json = await cli(['regions', '--json', '-m', mnt]);
    expect(JSON.parse(json.stdout)).toEqual([FILE_WINDOW]);
    for (const d of daemons) await d.close();
    daemons = [];
    await daemon({ regions: ok([]) });
    const empty = await cli(['regions']);
    expect(empty.stdout).toBe('no regions: nothing is mapped (no file is open or cached)\n');
  });

  it('errors: no daemon (69), a malformed answer (76), two mounts named (64)', async () => {
    const none = await cli(['regions', mnt]);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: EXIT.UNAVAILABLE, stderr: `machpager: ${mnt}: no machpager daemon serving it (is it mounted?)\n` });
    await daemon({ regions: ok([{ task: 'fs' }]) });
    const bad = await cli(['regions', mnt]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: EXIT.PROTOCOL, stderr: `machpager: ${mnt}: malformed answer from the daemon: region 0: start is missing\n` });
    const two = await cli(['regions', mnt, '-m', tmp]);
    expect(two.code).toBe(EXIT.USAGE);
    expect(two.stderr).toBe(`machpager: regions ${mnt}: and -m ${tmp} name two mounts; give one\n`);
  });
});

describe('requests', () => {
  it('prints who waits, on which file and offset, for what and how long', async () => {
    const d = await daemon({ requests: ok([WAITING, { ...WAITING, id: 8, pid: 0, command: '', op: 'write', path: '', waits_for: 'other_mount', other_mount: '/mnt/b', waited_ms: 20 }]) });
    const r = await cli(['requests', mnt]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(d.params('requests')).toEqual([{}]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ *PID +COMMAND +OP +FILE +OFFSET +LENGTH +WAITS FOR +WAITED +ON$/);
    expect(lines[1]).toMatch(/^31337 +dd +read +\/stalled +8192 +4K +data_request +1\.5s$/);
    expect(lines[2]).toMatch(/^ +0 +\? +write +\(deleted, inode 12\) +8192 +4K +other_mount +20ms +\/mnt\/b$/);
  });

  it('--json prints the records; none waiting says so', async () => {
    await daemon({ requests: ok([WAITING]) });
    const json = await cli(['requests', '--json', mnt]);
    expect(JSON.parse(json.stdout)).toEqual([WAITING]);
    for (const d of daemons) await d.close();
    daemons = [];
    await daemon({ requests: ok([]) });
    expect((await cli(['requests'])).stdout).toBe('no request is waiting on a fault\n');
    expect(JSON.parse((await cli(['requests', '--json'])).stdout)).toEqual([]);
  });

  it('errors: a malformed answer (76), no mount at all (66)', async () => {
    await daemon({ requests: ok({ not: 'a list' }) });
    const bad = await cli(['requests']);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: EXIT.PROTOCOL, stderr: `machpager: ${mnt}: malformed answer from the daemon: the request list is not an array\n` });
    const none = await cli(['requests'], { mounts: [] });
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: EXIT.NOINPUT, stderr: 'machpager: no machpager mount (mount one with: machpager mount STORE MOUNTPOINT)\n' });
  });
});

describe('--help', () => {
  it('lists both commands, and each explains its columns and waits', async () => {
    const top = await cli(['--help']);
    expect(top.stdout).toContain('regions [options] [MOUNTPOINT]');
    expect(top.stdout).toContain('requests [options] [MOUNTPOINT]');
    const regions = await cli(['regions', '--help']);
    for (const w of ['--json', '-m, --mount <path>', 'PRT/MAX', 'vm_protect', 'pager_memcpy']) expect(regions.stdout).toContain(w);
    const requests = await cli(['requests', '--help']);
    for (const w of ['--json', 'data_request', 'data_unlock', 'free_frame', 'busy_page', 'other_mount']) expect(requests.stdout).toContain(w);
  });
});
