/**
 * End to end without FUSE: pagers over SQLite and file stores serve memory
 * objects through the kernel, with a frame pool much smaller than the data.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EIO, ENOSPC, VM_PROT_WRITE, type VmWindow } from '../../kernel/index.js';
import { StorePager } from '../../daemon/pager/index.js';
import { servePager, type ServedPager } from '../../bench/pager-rig.js';
import { FaultStore, MemoryStore, openStore, type Store } from '../../stores/index.js';
import { tempDir } from '../stores/tmp.js';

const PAGE = 4096;
const MiB = 1 << 20;
const dir = tempDir('store-pager');

function serve(store: Store, cacheSize: number, options: { writeLockHoles?: boolean } = {}): Promise<ServedPager> {
  return servePager(new StorePager(store, { pageSize: PAGE, ...options }), store.size, { cacheSize });
}

/** Read the whole window in odd-sized pieces and compare with `expected`. */
async function verify(window: VmWindow, expected: Buffer): Promise<void> {
  for (let at = 0, step = 1 * MiB + 12345; at < expected.length; at += step) {
    const length = Math.min(step, expected.length - at);
    const { data, error } = await window.read(at, length);
    expect(error).toBe(0);
    if (!data.equals(expected.subarray(at, at + length))) throw new Error(`data differs in [${at}, ${at + length})`);
  }
}

describe.each([
  ['sqlite', (path: string) => `sqlite:${path}.db#1`],
  ['file', (path: string) => `file:${path}.img`],
])('a pager over a %s store', (className, nameOf) => {
  it('64 MiB of random data through a 4 MiB pool survives evictions, sync, and closing and reopening the store', async () => {
    const name = nameOf(join(dir, className));
    const store = await openStore(name, { create: true, size: 64 * MiB, blockSize: className === 'file' ? 512 : PAGE });
    const data = randomBytes(64 * MiB);
    let served = await serve(store, 4 * MiB);
    // Written in odd-sized pieces, so that copies start and end inside pages.
    for (let at = 0, step = 999_983; at < data.length; at += step) {
      const piece = data.subarray(at, at + step);
      expect(await served.window.write(at, piece)).toEqual({ bytes: piece.length, error: 0 });
    }
    const stats = served.kernel.statistics();
    expect(stats.evictions_dirty).toBeGreaterThan(10_000);
    expect(stats.frames).toBe(1024);
    await verify(served.window, data); // after evictions
    await served.pager.sync();
    await store.sync();
    expect(served.window.object.dirtyCount).toBe(0);
    await verify(served.window, data); // after sync
    await served.close();
    await store.close();

    const reopened = await openStore(name, { blockSize: className === 'file' ? 512 : PAGE });
    served = await serve(reopened, 4 * MiB);
    await verify(served.window, data); // after closing and reopening the store
    await served.close();
    await reopened.close();
  });
});

describe('holes', () => {
  it('row 55: a hole reads as zeros, write-locked; the first write allocates it through unlock', async () => {
    const store = new MemoryStore({ size: 64 * PAGE, blockSize: PAGE });
    await store.write(PAGE, Buffer.alloc(PAGE, 1));
    const allocated: number[] = [];
    const allocate = store.allocate.bind(store);
    store.allocate = (offset: number, length: number) => {
      allocated.push(offset / PAGE);
      return allocate(offset, length);
    };
    const served = await serve(store, 32 * PAGE, { writeLockHoles: true });
    const w = served.window;
    expect((await w.read(0, 2 * PAGE)).data.equals(Buffer.concat([Buffer.alloc(PAGE), Buffer.alloc(PAGE, 1)]))).toBe(true);
    expect(w.copySync(0, Buffer.alloc(1), VM_PROT_WRITE)).toBe(0); // the hole is write-locked
    expect(w.copySync(PAGE, Buffer.alloc(1), VM_PROT_WRITE)).toBe(1); // data is not
    expect(await w.write(10, Buffer.from('new'))).toEqual({ bytes: 3, error: 0 });
    expect(allocated).toEqual([0]);
    expect(served.kernel.statistics().unlocks).toBe(1);
    await served.close();
    await store.close();
  });
});

describe('errors from the store', () => {
  it('an EIO on read reaches the reader, an ENOSPC on unlock reaches the writer, and no other page is harmed', async () => {
    const faulty = new FaultStore(new MemoryStore({ size: 64 * PAGE, blockSize: PAGE }));
    const served = await serve(faulty, 32 * PAGE, { writeLockHoles: true });
    const w = served.window;
    const before = Buffer.alloc(8 * PAGE, 0x5a);
    expect(await w.write(0, before)).toEqual({ bytes: before.length, error: 0 });
    await served.pager.return();
    faulty.addRule({ op: 'read', offset: 5 * PAGE, length: PAGE, code: 'EIO' });
    faulty.addRule({ op: 'allocate', offset: 12 * PAGE, length: PAGE, code: 'ENOSPC' });
    expect((await w.read(5 * PAGE, 100)).error).toBe(EIO);
    expect((await w.read(4 * PAGE, PAGE)).data.equals(before.subarray(4 * PAGE, 5 * PAGE))).toBe(true);
    expect((await w.read(6 * PAGE, PAGE)).data.equals(before.subarray(6 * PAGE, 7 * PAGE))).toBe(true);
    // Page 12 is a hole: writing it needs room, and there is none.
    expect(await w.write(12 * PAGE + 10, Buffer.from('no room'))).toEqual({ bytes: 0, error: ENOSPC });
    expect(served.pager.getError(12 * PAGE)).toBe(ENOSPC);
    expect(await w.write(13 * PAGE, Buffer.from('room'))).toEqual({ bytes: 4, error: 0 });
    faulty.clearRules();
    expect((await w.read(5 * PAGE, PAGE)).data.equals(before.subarray(5 * PAGE, 6 * PAGE))).toBe(true);
    await served.pager.sync();
    const page = Buffer.alloc(PAGE);
    await faulty.read(13 * PAGE, page);
    expect(page.subarray(0, 4).toString()).toBe('room');
    await faulty.read(12 * PAGE, page);
    expect(page.equals(Buffer.alloc(PAGE))).toBe(true);
    await served.close();
    await faulty.close();
  });
});
