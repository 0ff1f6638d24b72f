/**
 * The control client against a fake daemon: calls and answers matched by
 * id, the daemon's errors, every way an answer can be malformed, timeouts, a
 * daemon that hangs up or is not there; and finding mounts and the paths
 * inside them.
 */
import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { candidatesFor, ControlClient, ControlError, innerPath, locatePaths, mountContaining, resolveMount, type MachpagerMount } from '../../daemon/control/client.js';
import { socketCandidates } from '../../daemon/control/socket-path.js';
import { FakeDaemon, mountEntries, ok, removeDir, tempDir, UID } from './fake-daemon.js';

let tmp = '';
let run = '';
let mnt = '';
let daemon: FakeDaemon | undefined;
const runtime = (): { uid: number; env: Record<string, string> } => ({ uid: UID, env: { XDG_RUNTIME_DIR: run } });
const mountOf = (mountpoint: string, owner?: number): MachpagerMount => ({ mountpoint, source: 'sqlite:/x.db', owner });

beforeEach(async () => {
  tmp = await tempDir('ctl-client');
  run = path.join(tmp, 'run');
  mnt = path.join(tmp, 'mnt');
  await mkdir(mnt);
});

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  await removeDir(tmp);
});

async function connected(handlers: Parameters<typeof FakeDaemon.start>[2], timeoutMs?: number): Promise<ControlClient> {
  daemon = await FakeDaemon.start(mnt, run, handlers);
  return ControlClient.connect(mountOf(mnt), { runtime: runtime(), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
}

async function failure(p: Promise<unknown>): Promise<ControlError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ControlError);
  return err as ControlError;
}

describe('calls', () => {
  it('sends {id, method, params} lines and resolves each call with its result, several in flight', async () => {
    const client = await connected({ policy: (p) => ({ result: { policy: typeof p.name === 'string' ? p.name : 'mach', policies: ['mach', 'lru'] } }), hello: ok({ protocol: 1 }) });
    const [a, b, c] = await Promise.all([client.call('policy', {}), client.call('policy', { name: 'lru' }), client.call('hello', {})]);
    expect(a).toEqual({ policy: 'mach', policies: ['mach', 'lru'] });
    expect(b).toEqual({ policy: 'lru', policies: ['mach', 'lru'] });
    expect(c).toEqual({ protocol: 1 });
    expect(daemon?.requests).toEqual([
      { id: 1, method: 'policy', params: {} },
      { id: 2, method: 'policy', params: { name: 'lru' } },
      { id: 3, method: 'hello', params: {} },
    ]);
    expect(client.socketPath).toBe(socketCandidates(mnt, runtime())[0]);
    client.close();
  });

  it("the daemon's error answer rejects the call with its code and message; the connection stays usable", async () => {
    const client = await connected({ policy: () => ({ error: { code: 'EINVAL', message: 'unknown policy "nope"' } }), hello: ok({ protocol: 1 }) });
    const err = await failure(client.call('policy', { name: 'nope' }));
    expect([err.code, err.message]).toEqual(['EINVAL', 'unknown policy "nope"']);
    expect(await client.call('hello', {})).toEqual({ protocol: 1 });
    client.close();
  });

  it('an error answer with id null (the daemon could not read the request) fails the oldest call waiting', async () => {
    const client = await connected({ stats: () => ({ raw: JSON.stringify({ id: null, error: { code: 'EPROTO', message: 'the request is not JSON' } }) }) });
    const err = await failure(client.call('stats', {}));
    expect([err.code, err.message]).toEqual(['EPROTO', 'the request is not JSON']);
    client.close();
  });

  it.each([
    ['not JSON', '{"id": 1, "result": ', /malformed answer from the daemon: not JSON/],
    ['an unknown id', JSON.stringify({ id: 99, result: {} }), /malformed answer from the daemon: an answer to no request \(id 99\)/],
    ['no id', JSON.stringify({ result: {} }), /malformed answer from the daemon: an answer without an id/],
    ['neither result nor error', JSON.stringify({ id: 1 }), /malformed answer from the daemon: the answer to stats has neither a result nor an error/],
    ['a JSON array', '[1, 2]', /malformed answer from the daemon: an answer without an id/],
  ])('a malformed answer (%s) fails with EPROTO, and so does every later call', async (_what, raw, message) => {
    const client = await connected({ stats: () => ({ raw }) });
    const err = await failure(client.call('stats', {}));
    expect(err.code).toBe('EPROTO');
    expect(err.message).toMatch(message);
    expect((await failure(client.call('stats', {}))).code).toBe('EPROTO');
    client.close();
  });

  it('no answer in time: ETIMEDOUT; a daemon that hangs up: ECONNRESET', async () => {
    const client = await connected({ stats: () => ({ silent: true }), hello: () => ({ close: true }) }, 100);
    const err = await failure(client.call('stats', {}));
    expect([err.code, err.message]).toEqual(['ETIMEDOUT', 'no answer to stats within 0.1 s']);
    const again = await ControlClient.connect(mountOf(mnt), { runtime: runtime() });
    const gone = await failure(again.call('hello', {}));
    expect([gone.code, gone.message]).toEqual(['ECONNRESET', 'the daemon closed the connection before answering']);
  });
});

describe('connecting', () => {
  it('no socket anywhere, or a socket nobody listens on: ECONNREFUSED, "no machpager daemon serving it"', async () => {
    const err = await failure(ControlClient.connect(mountOf(mnt), { runtime: runtime() }));
    expect([err.code, err.message]).toEqual(['ECONNREFUSED', 'no machpager daemon serving it (is it mounted?)']);
    // A dead daemon's socket file: bound, never listened on, left behind; connect() is refused.
    const sock = socketCandidates(mnt, runtime())[0] ?? '';
    await mkdir(path.dirname(sock), { recursive: true });
    await new Promise<void>((resolve, reject) =>
      execFile('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock], (e) => (e ? reject(new Error(e.message)) : resolve())),
    );
    const again = await failure(ControlClient.connect(mountOf(mnt), { runtime: runtime() }));
    expect(again.code).toBe('ECONNREFUSED');
  });

  it("a mount that mountinfo says is another user's, with no socket of ours: permission denied", async () => {
    const err = await failure(ControlClient.connect(mountOf(mnt, 4321), { runtime: runtime() }));
    expect([err.code, err.message]).toEqual(['EACCES', 'permission denied: the mount belongs to another user (uid 4321)']);
  });

  it("looks in the caller's directory, root's, then the owner's (so root can reach a user's mount)", () => {
    expect(candidatesFor(mountOf('/m'), { uid: 0, env: {} })).toEqual(socketCandidates('/m', { uid: 0, env: {} }));
    const forRoot = candidatesFor(mountOf('/m', 1000), { uid: 0, env: {} });
    expect(forRoot[0]).toMatch(/^\/run\/machpager\/[0-9a-f]{24}\.sock$/);
    expect(forRoot).toContain(`/run/user/1000/machpager/${path.basename(forRoot[0] ?? '')}`);
    expect(new Set(forRoot).size).toBe(forRoot.length);
  });
});

describe('finding the mount and the path inside it', () => {
  const env = (cwd: string, mounts: string[]): Parameters<typeof resolveMount>[1] => ({ cwd, uid: UID, env: {}, mountinfo: () => Promise.resolve(mountEntries(mounts)) });

  it('innerPath and mountContaining: the innermost mount, / for the mountpoint itself', () => {
    const mounts = [mountOf('/a'), mountOf('/a/b'), mountOf('/c')];
    expect(mountContaining(mounts, '/a/b/c')?.mountpoint).toBe('/a/b');
    expect(mountContaining(mounts, '/a/bc')?.mountpoint).toBe('/a');
    expect(mountContaining(mounts, '/d')).toBeUndefined();
    expect(innerPath('/a', '/a')).toBe('/');
    expect(innerPath('/a', '/a/x/y')).toBe('/x/y');
  });

  it('the MOUNTPOINT given (or any path in it), else the mount of the current directory, else the only one; else an error listing them', async () => {
    const other = path.join(tmp, 'other');
    await mkdir(path.join(mnt, 'sub'), { recursive: true });
    await mkdir(other);
    expect((await resolveMount(path.join(mnt, 'sub'), env(tmp, [mnt, other]))).mountpoint).toBe(mnt);
    expect((await resolveMount(undefined, env(path.join(mnt, 'sub'), [mnt, other]))).mountpoint).toBe(mnt);
    expect((await resolveMount(undefined, env(tmp, [other]))).mountpoint).toBe(other);
    expect(await resolveMount('.', env(tmp, []))).toEqual({ mountpoint: tmp, source: '', owner: undefined, unlisted: true });
    const several = await failure(resolveMount(undefined, env(tmp, [mnt, other])));
    expect([several.code, several.message]).toEqual(['EINVAL', `2 machpager mounts and the current directory is in none; name one: ${mnt}, ${other}`]);
    const none = await failure(resolveMount(undefined, env(tmp, [])));
    expect([none.code, none.message]).toEqual(['ENOENT', 'no machpager mount (mount one with: machpager mount STORE MOUNTPOINT)']);
  });

  it('local paths (relative, through symlinks, not existing yet) become paths inside their mounts', async () => {
    await mkdir(path.join(mnt, 'dir'));
    await writeFile(path.join(mnt, 'dir', 'a'), 'x');
    await symlink(path.join(mnt, 'dir'), path.join(tmp, 'link'));
    const located = await locatePaths(['mnt/dir/a', 'link/a', 'link', mnt, 'mnt/dir/new'], env(tmp, [mnt]));
    expect(located.map((l) => [l.given, l.mount.mountpoint, l.inner])).toEqual([
      ['mnt/dir/a', mnt, '/dir/a'],
      ['link/a', mnt, '/dir/a'],
      ['link', mnt, '/dir'],
      [mnt, mnt, '/'],
      ['mnt/dir/new', mnt, '/dir/new'],
    ]);
    const outside = await failure(locatePaths(['run'], env(tmp, [mnt])));
    expect([outside.code, outside.message]).toEqual(['ENOENT', `run: not in a machpager mount (mounts: ${mnt})`]);
  });
});
