/**
 * Name and path length (NAME_MAX 255 bytes, PATH_MAX 4096 with its NUL):
 * every operation that names a file answers ENAMETOOLONG for a name that
 * cannot exist, not ENOENT, in the one place paths are resolved
 * (Namespace.resolve and parentOf); a whole path of PATH_MAX bytes or more
 * only for a new name (Namespace.newEntry). Lengths are UTF-8 bytes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { checkName, checkPathLength } from '../../daemon/fs/namespace.js';
import { call, openInProcessFs, ROOT, type InProcessFs } from '../helpers/in-process-fs.js';

const LONG = 'a'.repeat(256);
const MAX = 'b'.repeat(255);
const O_RDWR = 2;
const S_IFIFO = 0o010000;

let t: InProcessFs;
let ops: FuseOperations;

beforeEach(async () => {
  t = await openInProcessFs('names');
  ops = t.ops;
  const fh = await call<number>((r) => ops.create?.(ROOT, '/file', 0o644, O_RDWR, r));
  await call((r) => ops.release?.(ROOT, '/file', fh, r));
  await call((r) => ops.mkdir?.(ROOT, '/dir', 0o755, r));
});

afterEach(async () => {
  await t.close();
});

/** Each operation that takes a path, called on `p` (and, for two-path ops, with `p` on either side). */
function everyPathOperation(p: string): [string, () => Promise<unknown>][] {
  return [
    ['getattr', () => call((r) => ops.getattr(ROOT, p, r))],
    ['access', () => call((r) => ops.access?.(ROOT, p, 0, r))],
    ['open', () => call((r) => ops.open?.(ROOT, p, 0, r))],
    ['create', () => call((r) => ops.create?.(ROOT, p, 0o644, O_RDWR, r))],
    ['opendir', () => call((r) => ops.opendir?.(ROOT, p, 0, r))],
    ['readdir', () => call((r) => ops.readdir?.(ROOT, p, r))],
    ['mkdir', () => call((r) => ops.mkdir?.(ROOT, p, 0o755, r))],
    ['mknod', () => call((r) => ops.mknod?.(ROOT, p, S_IFIFO | 0o644, 0, r))],
    ['rmdir', () => call((r) => ops.rmdir?.(ROOT, p, r))],
    ['unlink', () => call((r) => ops.unlink?.(ROOT, p, r))],
    ['rename from', () => call((r) => ops.rename?.(ROOT, p, '/x', r))],
    ['rename to', () => call((r) => ops.rename?.(ROOT, '/file', p, r))],
    ['link from', () => call((r) => ops.link?.(ROOT, p, '/x', r))],
    ['link to', () => call((r) => ops.link?.(ROOT, '/file', p, r))],
    ['symlink at', () => call((r) => ops.symlink?.(ROOT, 'file', p, r))],
    ['readlink', () => call((r) => ops.readlink?.(ROOT, p, r))],
    ['truncate', () => call((r) => ops.truncate?.(ROOT, p, 0, r))],
    ['chmod', () => call((r) => ops.chmod?.(ROOT, p, 0o600, r))],
    ['chown', () => call((r) => ops.chown?.(ROOT, p, 1, 1, r))],
    ['utimens', () => call((r) => ops.utimens?.(ROOT, p, 'now', 'now', r))],
    ['setxattr', () => call((r) => ops.setxattr?.(ROOT, p, 'user.a', Buffer.from('v'), 0, r))],
    ['getxattr', () => call((r) => ops.getxattr?.(ROOT, p, 'user.a', 0, r))],
    ['listxattr', () => call((r) => ops.listxattr?.(ROOT, p, 0, r))],
    ['removexattr', () => call((r) => ops.removexattr?.(ROOT, p, 'user.a', r))],
  ];
}

describe('ENAMETOOLONG', () => {
  it('every path operation answers it for a last name over 255 bytes', async () => {
    const results: Record<string, unknown> = {};
    for (const [name, run] of everyPathOperation(`/${LONG}`)) results[name] = await run().then(() => 'ok', (err: { code?: string }) => err.code);
    expect(results).toEqual(Object.fromEntries(everyPathOperation('').map(([name]) => [name, 'ENAMETOOLONG'])));
  });

  it('every path operation answers it for a long name inside the path', async () => {
    const p = `/dir/${LONG}/x`;
    const results: Record<string, unknown> = {};
    for (const [name, run] of everyPathOperation(p)) results[name] = await run().then(() => 'ok', (err: { code?: string }) => err.code);
    expect(results).toEqual(Object.fromEntries(everyPathOperation('').map(([name]) => [name, 'ENAMETOOLONG'])));
  });

  it('a new name on a path of 4096 bytes or more is refused; a file already that deep stays reachable and removable', async () => {
    // 20 names of 200 bytes under /d: made one by one (each path under 4096), then moved one level deeper.
    const level = 'c'.repeat(200);
    let at = '/d';
    await call((r) => ops.mkdir?.(ROOT, at, 0o755, r));
    for (let i = 0; i < 20; i++) {
      at += `/${level}`;
      await call((r) => ops.mkdir?.(ROOT, at, 0o755, r));
    }
    const fh = await call<number>((r) => ops.create?.(ROOT, `${at}/f`, 0o644, O_RDWR, r));
    await call((r) => ops.release?.(ROOT, `${at}/f`, fh, r));
    await call((r) => ops.mkdir?.(ROOT, '/p', 0o755, r));
    await call((r) => ops.rename?.(ROOT, '/d', `/p/${level}`, r));
    const deep = `/p/${level}${at.slice(2)}`;
    expect(Buffer.byteLength(`${deep}/f`)).toBeGreaterThanOrEqual(4096);
    await call((r) => ops.getattr(ROOT, `${deep}/f`, r));
    await expect(call((r) => ops.create?.(ROOT, `${deep}/g`, 0o644, O_RDWR, r))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await expect(call((r) => ops.mkdir?.(ROOT, `${deep}/g`, 0o755, r))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await expect(call((r) => ops.rename?.(ROOT, '/file', `${deep}/g`, r))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await call((r) => ops.unlink?.(ROOT, `${deep}/f`, r));
  });

  it('a name of exactly 255 bytes works for making, finding, renaming and removing', async () => {
    const fh = await call<number>((r) => ops.create?.(ROOT, `/dir/${MAX}`, 0o644, O_RDWR, r));
    await call((r) => ops.release?.(ROOT, `/dir/${MAX}`, fh, r));
    expect((await call<{ size: number }>((r) => ops.getattr(ROOT, `/dir/${MAX}`, r))).size).toBe(0);
    await call((r) => ops.rename?.(ROOT, `/dir/${MAX}`, `/${MAX}`, r));
    await call((r) => ops.unlink?.(ROOT, `/${MAX}`, r));
    await expect(call((r) => ops.getattr(ROOT, `/${MAX}`, r))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(() => checkName('é'.repeat(127))).not.toThrow(); // 254 bytes
    expect(() => checkName('é'.repeat(128))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' })); // 256 bytes in 128 units
    expect(() => checkName('€'.repeat(85))).not.toThrow(); // 255 bytes
    expect(() => checkName('€'.repeat(86))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    expect(() => checkName('😀'.repeat(63))).not.toThrow(); // 252 bytes in 126 units
    expect(() => checkName('😀'.repeat(64))).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    expect(() => checkPathLength(`/${'x'.repeat(4094)}`)).not.toThrow(); // 4095 bytes and the NUL
    expect(() => checkPathLength(`/${'x'.repeat(4095)}`)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    expect(() => checkPathLength(`/${'é'.repeat(2048)}`)).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' })); // 4097 bytes in 2049 units
  });

  it('a symlink target of 4096 bytes or more is too long; 4095 is not', async () => {
    await expect(call((r) => ops.symlink?.(ROOT, 't'.repeat(4096), '/l1', r))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
    await call((r) => ops.symlink?.(ROOT, 't'.repeat(4095), '/l2', r));
    expect(await call<string>((r) => ops.readlink?.(ROOT, '/l2', r))).toHaveLength(4095);
  });

  it('comes after the lookup of the names before it, as on Linux: ENOENT under a missing directory, ENOTDIR under a file', async () => {
    await expect(call((r) => ops.getattr(ROOT, `/missing/${LONG}`, r))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(call((r) => ops.getattr(ROOT, `/file/${LONG}`, r))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(call((r) => ops.mkdir?.(ROOT, `/missing/${LONG}`, 0o755, r))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(call((r) => ops.mkdir?.(ROOT, `/file/${LONG}`, 0o755, r))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
