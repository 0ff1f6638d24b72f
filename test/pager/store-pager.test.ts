/**
 * End to end without FUSE: pagers over SQLite and file stores serve memory
 * objects through the kernel, with a frame pool much smaller than the data.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EIO, ENOSPC, VM_PROT_WRITE, type VmWindow } from '../../kernel/index.js';
import { PagerError, StorePager, type PageRoom } from '../../daemon/pager/index.js';
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

describe('pages past a growing file\'s end', () => {
  /** A StorePager as a file's: the store grows at write-back, data ends at `size`, room is promised per page. */
  function growing(room: PageRoom, size: { end: number }): { store: MemoryStore; pager: StorePager } {
    const store = new MemoryStore({ size: 0, blockSize: PAGE });
    return { store, pager: new StorePager(store, { pageSize: PAGE, grow: true, writeLockHoles: true, room, dataEnd: () => size.end, extent: () => size.end }) };
  }

  it('a write there promises each page room at its fault and zero-fills it writable: no data_unlock, no zeros sent', async () => {
    const claims: number[] = [];
    const room: PageRoom = { claim: (bytes) => void claims.push(bytes), release: () => undefined };
    const size = { end: 0 };
    const { store, pager } = growing(room, size);
    const served = await servePager(pager, 64 * PAGE, { cacheSize: 32 * PAGE });
    const data = Buffer.alloc(3 * PAGE - 100, 7);
    expect(await served.window.write(50, data)).toEqual({ bytes: data.length, error: 0 });
    size.end = 50 + data.length;
    expect(claims.reduce((a, b) => a + b, 0)).toBe(3 * PAGE);
    expect(pager.claimedBytes).toBe(3 * PAGE);
    const stats = served.kernel.statistics();
    expect(stats.unlocks).toBe(0);
    expect(stats.zero_fill_count).toBe(3);
    await served.pager.sync();
    expect(pager.claimedBytes).toBe(0); // written: the promises are settled
    const back = Buffer.alloc(3 * PAGE);
    await store.read(0, back);
    expect(back.subarray(50, 50 + data.length).equals(data)).toBe(true);
    expect(back.subarray(0, 50).equals(Buffer.alloc(50))).toBe(true);
    await served.close();
    await store.close();
  });

  it('when the disk refuses the room, the write still gets ENOSPC from its page\'s unlock, and the pages before it are written', async () => {
    let left = 2 * PAGE;
    const room: PageRoom = {
      claim: (bytes) => {
        if (bytes > left) throw new PagerError('ENOSPC', 'full');
        left -= bytes;
      },
      release: () => undefined,
    };
    const size = { end: 0 };
    const { store, pager } = growing(room, size);
    const served = await servePager(pager, 64 * PAGE, { cacheSize: 32 * PAGE });
    // Three pages asked for in one fault: not all three have room, so they come write-locked and
    // each unlock asks for its own page: two get room, the third is the writer's ENOSPC.
    expect(await served.window.write(0, Buffer.alloc(3 * PAGE, 1))).toEqual({ bytes: 2 * PAGE, error: ENOSPC });
    expect(served.kernel.statistics().unlocks).toBe(3);
    expect(await served.window.write(2 * PAGE, Buffer.alloc(10, 1))).toEqual({ bytes: 0, error: ENOSPC });
    await served.close();
    await store.close();
  });
});

describe('pages past the data\'s end inside a store of fixed size (as a sqlite: space, 2^53 bytes)', () => {
  it('a write there allocates them at its fault; a refused allocation makes them write-locked, and the page refused is the writer\'s ENOSPC', async () => {
    const faulty = new FaultStore(new MemoryStore({ size: 64 * PAGE, blockSize: PAGE }));
    const size = { end: 0 };
    const pager = new StorePager(faulty, { pageSize: PAGE, writeLockHoles: true, dataEnd: () => size.end, extent: () => size.end });
    const served = await servePager(pager, 64 * PAGE, { cacheSize: 32 * PAGE });
    expect(await served.window.write(0, Buffer.alloc(2 * PAGE, 1))).toEqual({ bytes: 2 * PAGE, error: 0 });
    size.end = 2 * PAGE;
    expect(served.kernel.statistics().unlocks).toBe(0);
    faulty.addRule({ op: 'allocate', offset: 4 * PAGE, length: PAGE, code: 'ENOSPC' });
    expect(await served.window.write(2 * PAGE, Buffer.alloc(3 * PAGE, 2))).toEqual({ bytes: 2 * PAGE, error: ENOSPC });
    expect(served.kernel.statistics().unlocks).toBe(3);
    expect(served.pager.getError(4 * PAGE)).toBe(ENOSPC);
    await served.close();
    await faulty.close();
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
