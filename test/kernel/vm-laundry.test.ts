/**
 * Returned pages are laundry until their pager has written them (issue 10,
 * bounded memory): the kernel counts a data_return's pages from the send
 * until the pager gives the message's memory back (vm_deallocate), so a
 * pager that receives at once but writes slowly is sent no more than the
 * laundry limit, and the kernel double-pages to the default pager instead.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcSystem, Kernel, MemorySwap, OolMemory } from '../../kernel/index.js';
import { DATA_WRITE_MAX } from '../../kernel/vm/data-return.js';
import { MEMORY_OBJECT_RETURN_DIRTY, VM_PROT_NO_CHANGE } from '../../kernel/vm/prot.js';
import { TestPager } from '../helpers/test-pager.js';

const PAGE = 4096;
const FRAMES = 64;

function setup(): { kernel: Kernel; pager: TestPager; ipc: IpcSystem } {
  const ipc = new IpcSystem();
  const kernel = new Kernel({ ipc, cacheSize: FRAMES * PAGE, swap: new MemorySwap(PAGE), log: () => undefined });
  const pager = new TestPager(ipc, { holdReturns: true });
  return { kernel, pager, ipc };
}

function pagesOf(buffers: readonly Buffer[]): number {
  return buffers.reduce((sum, b) => sum + b.length / PAGE, 0);
}

/** Give back the pager's returned memory at every turn (a pager writing at once) until `work` settles. */
async function whileWriting<T>(pager: TestPager, work: Promise<T>): Promise<T> {
  let settled = false;
  const done = work.finally(() => (settled = true));
  while (!settled) {
    pager.giveBack();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done;
}

/** Let the receive loops and the pageout daemon run until `done` holds (at most `rounds` turns). */
async function turnUntil(done: () => boolean, rounds = 10_000): Promise<void> {
  for (let i = 0; i < rounds && !done(); i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** turnUntil, with the pager writing (giving its memory back) at every turn. */
function writingUntil(pager: TestPager, done: () => boolean): Promise<void> {
  return turnUntil(() => {
    pager.giveBack();
    return done();
  });
}

describe('laundry until written', () => {
  it('a returned page stays laundry while its pager holds the memory, and drains when it is given back', async () => {
    const { kernel, pager, ipc } = setup();
    const client = ipc.createSpace('client');
    const w = await kernel.vmMap(client, pager.giveSendRight(client), 0, 2 * FRAMES * PAGE);
    // Dirty more than the cache: the pageout daemon returns pages the pager keeps unwritten.
    expect(await w.write(0, Buffer.alloc(2 * FRAMES * PAGE, 7))).toEqual({ bytes: 2 * FRAMES * PAGE, error: 0 });
    await turnUntil(() => pager.heldReturns.length > 0);
    const held = pagesOf(pager.heldReturns);
    expect(held).toBeGreaterThan(0);
    expect(kernel.statistics().laundry_writing).toBe(held);
    const object = [...kernel.objects.values()].find((o) => !o.internal);
    expect(object?.laundry).toBe(held + kernel.externalLaundry);
    // Frames are free once received: frame accounting does not include what the pager holds.
    const stats = kernel.statistics();
    let resident = 0;
    for (const o of kernel.objects.values()) resident += o.residentCount;
    expect(resident + stats.laundry_count + stats.free_count).toBe(stats.frames);

    pager.giveBack();
    await turnUntil(() => kernel.statistics().laundry_writing === 0 && pager.heldReturns.length === 0);
    expect(kernel.statistics().laundry_writing).toBe(0);
    w.deallocate();
    await kernel.shutdown();
  });

  it('a pager that receives but does not write is sent no more than the limit; the kernel double-pages, and every page reaches it once it writes', async () => {
    const { kernel, pager, ipc } = setup();
    const client = ipc.createSpace('client');
    const size = 4 * FRAMES * PAGE;
    const w = await kernel.vmMap(client, pager.giveSendRight(client), 0, size);
    const data = Buffer.alloc(size);
    for (let page = 0; page < size / PAGE; page++) data.fill(page % 251, page * PAGE, (page + 1) * PAGE);
    let most = 0;
    const writing = (async () => {
      for (let offset = 0; offset < size; offset += 8 * PAGE) {
        expect(await w.write(offset, data.subarray(offset, offset + 8 * PAGE))).toEqual({ bytes: 8 * PAGE, error: 0 });
        most = Math.max(most, kernel.statistics().laundry_writing);
      }
    })();
    // The writer gets ahead only by double-paging: wait for that, then let the pager "write".
    await turnUntil(() => kernel.statistics().double_paged > 0);
    expect(kernel.statistics().double_paged).toBeGreaterThan(0);
    most = Math.max(most, kernel.statistics().laundry_writing);
    expect(most).toBeLessThanOrEqual(kernel.externalLaundryMax + DATA_WRITE_MAX);
    // Now the pager writes (gives its memory back) as fast as it is asked, until the writer is done.
    await whileWriting(pager, writing);
    // Everything double-paged reaches its pager in the end.
    await writingUntil(pager, () => kernel.statistics().double_paged_delivered === kernel.statistics().double_paged);
    const stats = kernel.statistics();
    expect(stats.double_paged_delivered).toBe(stats.double_paged);
    // Reading back through the small cache returns pages again: the pager keeps writing.
    const back = await whileWriting(pager, w.read(0, size));
    expect(back.error).toBe(0);
    expect(back.data.equals(data)).toBe(true);
    w.deallocate();
    pager.giveBack();
    await kernel.shutdown();
  });
});

describe('a sync that needs copy frames', () => {
  it('completes when it takes the last free frames itself (a frame waiter pauses allocation, so pageout runs for it)', async () => {
    // A lock_request that keeps a clean copy takes privileged frames, down to none; it then
    // waits for a frame without allocation being paused. Laundry coming back must still drive
    // the pageout daemon to the high mark for it (the crash test's fsync once hung here).
    const { kernel, pager, ipc } = setup();
    const client = ipc.createSpace('client');
    const w = await kernel.vmMap(client, pager.giveSendRight(client), 0, FRAMES * PAGE);
    expect(await whileWriting(pager, w.write(0, Buffer.alloc(FRAMES * PAGE, 3)))).toEqual({ bytes: FRAMES * PAGE, error: 0 });
    const dirty = [...kernel.objects.values()].find((o) => !o.internal)?.residentCount ?? 0;
    expect(dirty).toBeGreaterThan(kernel.statistics().free_count);
    pager.lockRequest(0, FRAMES * PAGE, MEMORY_OBJECT_RETURN_DIRTY, false, VM_PROT_NO_CHANGE, pager.port);
    let completed = false;
    void pager.waitFor('memory_object_lock_completed').then(() => (completed = true));
    await writingUntil(pager, () => completed);
    expect(completed).toBe(true);
    expect(kernel.frameWaiterCount).toBe(0);
    w.deallocate();
    pager.giveBack();
    await kernel.shutdown();
  });
});

describe('a frame waiter', () => {
  it('is served when it found the free list empty as a privileged caller, with its pager behind and allocation not paused', async () => {
    const { kernel, pager, ipc } = setup();
    const client = ipc.createSpace('client');
    const size = 2 * FRAMES * PAGE;
    const w = await kernel.vmMap(client, pager.giveSendRight(client), 0, size);
    // The pager holds every page it is sent: by the end of this write it is behind.
    expect(await w.write(0, Buffer.alloc(size, 5))).toEqual({ bytes: size, error: 0 });
    await turnUntil(() => !kernel.allocPaused);
    expect(kernel.allocPaused).toBe(false);
    // A privileged caller (a sync keeping clean copies) takes every free frame, then waits.
    const taken: number[] = [];
    for (let d = kernel.grabFrame(true); d >= 0; d = kernel.grabFrame(true)) taken.push(d);
    let served = false;
    void kernel.waitForFrame().then(() => (served = true));
    // Waiting pauses allocation: only then does pageout go on to the high mark (and laundry
    // coming back wake it) rather than stop once free frames and laundry in transit add up, and
    // leave this waiter behind if others take frames meanwhile (the fsync hang of the crash test).
    expect(kernel.allocPaused).toBe(true);
    // The pager writes (gives its memory back) from now on: the waiter must be served.
    await writingUntil(pager, () => served);
    expect(served).toBe(true);
    for (const d of taken) kernel.pages.release(d);
    w.deallocate();
    pager.giveBack();
    await kernel.shutdown();
  });
});

describe('OolMemory.watch', () => {
  it('fires once when the buffer is given back, not for other buffers', () => {
    const memory = new OolMemory();
    const buffer = memory.allocate(PAGE);
    let fired = 0;
    memory.watch(buffer, () => fired++);
    memory.deallocate(memory.allocate(PAGE));
    expect(fired).toBe(0);
    memory.deallocate(buffer);
    expect(fired).toBe(1);
    // Reused from the pool and given back again: the old watch is gone.
    const again = memory.allocate(PAGE);
    expect(again).toBe(buffer);
    memory.deallocate(again);
    expect(fired).toBe(1);
  });

  it('pools by size class: a block given back serves any length of its class; views and second give-backs are not pooled', () => {
    const memory = new OolMemory();
    const three = memory.allocate(3 * PAGE);
    expect(three.length).toBe(3 * PAGE);
    memory.deallocate(three);
    const four = memory.allocate(4 * PAGE);
    expect(four.buffer).toBe(three.buffer);
    expect(four.length).toBe(4 * PAGE);
    memory.deallocate(four.subarray(0, PAGE));
    expect(memory.bytesPooled).toBe(0);
    memory.deallocate(four);
    expect(memory.bytesPooled).toBe(4 * PAGE);
    memory.deallocate(four);
    expect(memory.bytesPooled).toBe(4 * PAGE);
  });

  it('fires when a receiver never gives the buffer back and the collector takes it (a pager that drops it)', async () => {
    // A child with --expose-gc, so that collection can be forced rather than waited for.
    const module = path.resolve('dist/kernel/ipc/ool-memory.js');
    const script = `
      const { OolMemory } = await import(${JSON.stringify(module)});
      const memory = new OolMemory();
      let fired = 0;
      (() => { memory.watch(memory.allocate(65536), () => fired++); })();
      for (let i = 0; i < 50 && fired === 0; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      process.stdout.write(String(fired));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', script]);
    expect(stdout).toBe('1');
  });
});
