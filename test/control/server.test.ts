/**
 * The control socket's daemon side with stand-in handlers: who may connect,
 * what a malformed request gets, ordering, errors, stale sockets.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlError } from '../../daemon/control/control-error.js';
import { exchange } from './exchange.js';
import { ControlServer, type ControlHandlers } from '../../daemon/control/server.js';

const run = promisify(execFile);

let dir: string;
let server: ControlServer | undefined;
const logged: string[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mp-control-'));
  logged.length = 0;
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function handlers(overrides: Partial<ControlHandlers> = {}): ControlHandlers {
  const unused = (): never => {
    throw new ControlError('ENOSYS', 'not in this test');
  };
  return {
    hello: () => ({ protocol: 1, version: 't', mountpoint: '/m', store: 'memory:', pid: process.pid, started: 0, page_size: 4096, cache_mode: 'direct' }),
    stats: unused,
    files: unused,
    sync: unused,
    evict: unused,
    policy: unused,
    cacheSize: unused,
    trace: unused,
    inject: unused,
    residency: unused,
    touch: unused,
    lock: unused,
    regions: unused,
    requests: unused,
    frames: unused,
    latency: unused,
    web: unused,
    snapshot: unused,
    mrc: unused,
    crash: unused,
    ...overrides,
  };
}

async function start(h: ControlHandlers = handlers()): Promise<string> {
  const socketPath = path.join(dir, 'run', 'machpager', 'm.sock');
  server = await ControlServer.start({ socketPath, handlers: h, log: (line) => logged.push(line) });
  return socketPath;
}

describe('control server', () => {
  it('answers a request with its id, and keeps the directory 0700 and the socket 0600', async () => {
    const socketPath = await start();
    const [answer] = await exchange(socketPath, '{"id":7,"method":"hello","params":{}}\n', 1);
    expect(answer).toMatchObject({ id: 7, result: { protocol: 1, page_size: 4096 } });
    expect((await stat(path.dirname(socketPath))).mode & 0o777).toBe(0o700);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
  });

  it('a malformed request gets an error answer, and the connection goes on serving', async () => {
    const socketPath = await start();
    const lines = ['not json', '[1,2]', '{"method":"hello"}', '{"id":1}', '{"id":2,"method":"hello","params":[1]}', '{"id":3,"method":"nope"}', '{"id":"x","method":"hello"}'];
    const answers = await exchange(socketPath, `${lines.join('\n')}\n`, lines.length);
    expect(answers).toEqual([
      { id: null, error: { code: 'EPROTO', message: expect.stringContaining('not JSON') as unknown } },
      { id: null, error: { code: 'EPROTO', message: expect.stringContaining('not a JSON object') as unknown } },
      { id: null, error: { code: 'EPROTO', message: expect.stringContaining('no id') as unknown } },
      { id: 1, error: { code: 'EPROTO', message: expect.stringContaining('no method') as unknown } },
      { id: 2, error: { code: 'EPROTO', message: expect.stringContaining('params') as unknown } },
      { id: 3, error: { code: 'ENOSYS', message: expect.stringContaining('unknown method "nope"') as unknown } },
      { id: 'x', result: expect.objectContaining({ protocol: 1 }) as unknown },
    ]);
  });

  it('a request line past the limit gets an error and the connection is closed', async () => {
    const socketPath = await start();
    const [answer] = await exchange(socketPath, `{"id":1,"method":"hello","params":{"x":"${'a'.repeat(2 << 20)}`, 1);
    expect(answer).toMatchObject({ id: null, error: { code: 'EMSGSIZE' } });
  });

  it('a handler error keeps its errno; one without an errno is EIO and is logged', async () => {
    const socketPath = await start(
      handlers({
        policy: () => {
          throw new ControlError('EINVAL', 'unknown policy "x"');
        },
        stats: () => {
          throw new TypeError('a bug');
        },
      }),
    );
    const answers = await exchange(socketPath, '{"id":1,"method":"policy","params":{"name":"x"}}\n{"id":2,"method":"stats"}\n', 2);
    expect(answers).toEqual([
      { id: 1, error: { code: 'EINVAL', message: 'unknown policy "x"' } },
      { id: 2, error: { code: 'EIO', message: 'stats failed: a bug' } },
    ]);
    expect(logged.some((l) => l.includes('a bug'))).toBe(true);
  });

  it('answers in request order even when an earlier request takes longer', async () => {
    const socketPath = await start(
      handlers({
        sync: async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return { synced: '/' };
        },
      }),
    );
    const answers = await exchange(socketPath, '{"id":1,"method":"sync"}\n{"id":2,"method":"hello"}\n', 2);
    expect(answers.map((a) => (a as { id: number }).id)).toEqual([1, 2]);
  });

  it('replaces a stale socket, refuses a live one and a path that is not a socket', async () => {
    const socketPath = await start();
    await expect(ControlServer.start({ socketPath, handlers: handlers(), log: () => undefined })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // A daemon killed with SIGKILL leaves its socket file behind, nobody listening on it.
    const stale = path.join(dir, 'stale.sock');
    const script = `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`;
    await expect(run(process.execPath, ['-e', script])).rejects.toMatchObject({ signal: 'SIGKILL' });
    expect((await stat(stale)).isSocket()).toBe(true);
    const second = await ControlServer.start({ socketPath: stale, handlers: handlers(), log: () => undefined });
    const [answer] = await exchange(stale, '{"id":1,"method":"hello"}\n', 1);
    expect(answer).toMatchObject({ id: 1 });
    await second.close();

    const plain = path.join(dir, 'plain');
    await writeFile(plain, '');
    await expect(ControlServer.start({ socketPath: plain, handlers: handlers(), log: () => undefined })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  // Runs everywhere the suite does, CI included (CI runs as root, as the mount tests need): it fails, not skips, without root.
  it('refuses another user: a second uid cannot connect (switches to uid 1000 with setpriv: needs root)', async () => {
    expect(process.getuid?.(), 'this test switches uid with setpriv: run it as root, as CI does').toBe(0);
    const socketPath = await start();
    // Root made the directory 0700: uid 1000 may not even reach the socket.
    const script = `require('net').createConnection(${JSON.stringify(socketPath)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`;
    const { stdout } = await run('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', process.execPath, '-e', script]);
    expect(stdout.trim()).toBe('EACCES');
    // The owner still can.
    const [answer] = await exchange(socketPath, '{"id":1,"method":"hello"}\n', 1);
    expect(answer).toMatchObject({ id: 1 });
  });

  it('close removes the socket', async () => {
    const socketPath = await start();
    await server?.close();
    server = undefined;
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("runs what a request holds for its connection when the connection closes (vmtouch -l's wires), once, and at close of the server too", async () => {
    const released: string[] = [];
    const socketPath = await start(
      handlers({
        lock: (params, _caller, session) => {
          const p = String(params.path);
          session.onClose(() => released.push(p));
          return { path: p, locked_pages: 1, wired_pages: 1, frames: 8, wire_limit: 6 };
        },
      }),
    );
    // A caller that locks, hears the answer and goes away: its lock goes with it.
    const [answer] = await exchange(socketPath, '{"id":1,"method":"lock","params":{"path":"/a"}}\n', 1);
    expect(answer).toMatchObject({ id: 1, result: { locked_pages: 1 } });
    await waitUntil(() => released.length === 1);
    expect(released).toEqual(['/a']);
    // A caller still connected when the server closes: released at close.
    const socket = net.createConnection({ path: socketPath });
    socket.setEncoding('utf8');
    const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write('{"id":2,"method":"lock","params":{"path":"/b"}}\n');
    await answered;
    expect(released).toEqual(['/a']);
    await server?.close();
    server = undefined;
    expect(released).toEqual(['/a', '/b']);
    socket.destroy();
  });
});

/** Poll `done` until it holds (bounded). */
async function waitUntil(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
