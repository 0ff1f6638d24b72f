/**
 * Stalled pager: a read returns EIO after the pager timeout; other files
 * keep working. The filesystem runs in this process through its FUSE
 * operations table (no mount): one file's store never answers a read until
 * the test lets it, which is what a wedged disk or store looks like to the
 * pager (its readPage never resolves, so no data_supply ever comes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachFilesystem, type FilesystemConfig } from '../../daemon/fs/filesystem.js';
import type { FuseOperations } from '../../daemon/fs/fuse/contract.js';
import { call, ROOT } from '../helpers/in-process-fs.js';
import { FsError } from '../../daemon/fs/errors.js';
import type { Store } from '../../stores/index.js';

const O_RDONLY = 0;
const O_RDWR = 2;
const TIMEOUT_MS = 300;
const SIZE = 64 * 1024;

let dir: string;
let fs: MachFilesystem | undefined;
let logged: string[] = [];

function config(create: boolean): FilesystemConfig {
  return { store: `sqlite:${dir}/fs.db`, cacheSize: 1 << 20, pageSize: 4096, policy: 'mach', readOnly: false, cacheMode: 'direct', create, log: (line) => logged.push(line), pagerTimeoutMs: TIMEOUT_MS };
}

function content(seed: number): Buffer {
  const b = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) b.writeUInt32LE((seed * 7919 + i) >>> 0, i);
  return b;
}

async function writeFile(ops: FuseOperations, name: string, data: Buffer): Promise<void> {
  const fh = await call<number>((reply) => ops.create?.(ROOT, name, 0o644, O_RDWR, reply));
  expect(await call<number>((reply) => ops.write?.(ROOT, name, fh, data, data.length, 0, reply))).toBe(data.length);
  await call<void>((reply) => ops.fsync?.(ROOT, name, false, fh, reply));
  await call<void>((reply) => ops.release?.(ROOT, name, fh, reply));
}

function read(ops: FuseOperations, name: string, fh: number, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  return call<number>((reply) => ops.read?.(ROOT, name, fh, buf, length, position, reply)).then((n) => buf.subarray(0, n));
}

/** `store` with reads held until `gate` resolves: the pager's readPage hangs meanwhile. */
function stalled(store: Store, gate: Promise<void>): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'read') {
        return async (...args: Parameters<Store['read']>) => {
          await gate;
          return target.read(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeEach(async () => {
  logged = [];
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-pager-timeout-'));
});

afterEach(async () => {
  await fs?.close();
  fs = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('stalled pager', () => {
  it('a read returns EIO after the pager timeout; other files keep working; a late answer is harmless and the next read asks again', async () => {
    // Two files on the store, then a fresh filesystem: nothing of them is cached.
    fs = await MachFilesystem.open(config(true));
    await writeFile(fs.operations(), '/stalled', content(1));
    await writeFile(fs.operations(), '/ok', content(2));
    await fs.close();
    fs = await MachFilesystem.open(config(false));
    const ops = fs.operations();

    const stalledIno = fs.namespace.resolve('/stalled').ino;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const open = fs.data.open.bind(fs.data);
    fs.data.open = async (ino) => (ino === stalledIno ? stalled(await open(ino), gate) : open(ino));

    const hung = await call<number>((reply) => ops.open?.(ROOT, '/stalled', O_RDONLY, reply));
    const ok = await call<number>((reply) => ops.open?.(ROOT, '/ok', O_RDONLY, reply));
    const started = performance.now();
    let failedAt = 0;
    const failing = read(ops, '/stalled', hung, 0, 4096).then(
      () => {
        throw new Error('the stalled read returned data');
      },
      (err: unknown) => {
        failedAt = performance.now();
        return err;
      },
    );

    // Meanwhile the other file is read, every page of it, from the store.
    let okReads = 0;
    for (let at = 0; at < SIZE; at += 4096) {
      expect((await read(ops, '/ok', ok, at, 4096)).equals(content(2).subarray(at, at + 4096))).toBe(true);
      okReads++;
    }
    expect(failedAt).toBe(0);
    expect(okReads).toBe(SIZE / 4096);

    const err = await failing;
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).code).toBe('EIO');
    expect(failedAt - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(fs.kernel.statistics().pager_timeouts).toBe(1);
    expect(logged.filter((l) => l.includes('pager timeout'))).toHaveLength(1);

    // The store comes back: its late answer enters harmlessly, and reading works again.
    release();
    const back = await read(ops, '/stalled', hung, 0, SIZE);
    expect(back.equals(content(1))).toBe(true);
    expect(fs.kernel.statistics()).toMatchObject({ protocol_errors: 0, pager_timeouts: 1 });
    expect((await read(ops, '/ok', ok, 0, SIZE)).equals(content(2))).toBe(true);
    await call<void>((reply) => ops.release?.(ROOT, '/stalled', hung, reply));
    await call<void>((reply) => ops.release?.(ROOT, '/ok', ok, reply));
  });
});
