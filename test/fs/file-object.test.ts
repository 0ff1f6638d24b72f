/**
 * The filesystem in this process, through its FUSE operations table but
 * without a mount: a file's memory object when mapping it fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { call, ROOT } from '../helpers/in-process-fs.js';
import { FsError } from '../../daemon/fs/errors.js';

const O_RDWR = 2;

let dir: string;
let fs: MachFilesystem;
let ops: FuseOperations;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-fileobject-'));
  fs = await MachFilesystem.open({ store: `sqlite:${dir}/fs.db`, cacheSize: 1 << 20, pageSize: 4096, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
  ops = fs.operations();
});

afterEach(async () => {
  await fs.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a file object whose mapping fails', () => {
  it('leaves no use behind: the next open maps it again, and reads and writes work', async () => {
    const vmMap = fs.kernel.vmMap.bind(fs.kernel);
    let failures = 1;
    fs.kernel.vmMap = (...args: Parameters<typeof vmMap>) => (failures-- > 0 ? Promise.reject(new FsError('EIO', 'planted vm_map failure')) : vmMap(...args));

    await expect(call<number>((reply) => ops.create?.(ROOT, '/f', 0o644, O_RDWR, reply))).rejects.toMatchObject({ code: 'EIO' });
    const fh = await call<number>((reply) => ops.open?.(ROOT, '/f', O_RDWR, reply));
    const data = Buffer.from('through the kernel after a failed map');
    expect(await call<number>((reply) => ops.write?.(ROOT, '/f', fh, data, data.length, 0, reply))).toBe(data.length);
    const back = Buffer.alloc(64);
    const n = await call<number>((reply) => ops.read?.(ROOT, '/f', fh, back, back.length, 0, reply));
    expect(back.subarray(0, n).toString()).toBe(data.toString());
    await call<void>((reply) => ops.release?.(ROOT, '/f', fh, reply));
    // The one failed use and the one real use are both gone: nothing holds the object.
    expect(fs.objects.get(fs.namespace.resolve('/f').ino)?.inUse ?? false).toBe(false);
  });
});
