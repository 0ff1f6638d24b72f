/**
 * The pageout pass stops at the high mark counting the dirty pages it has
 * just sent out: their frames come free only when the pager receives the
 * data_return, which cannot happen while the (synchronous) pass runs. A
 * pass that does not count them sees free frames never rise, evicts until
 * the external laundry limit (a quarter of the pool), and then double-pages
 * pages of a pager that would have taken them at once. And if the pages do
 * not come back (a stuck pager), the kernel must still make progress.
 */
import { describe, expect, it } from 'vitest';
import { IpcSystem, Kernel, MemorySwap } from '../../kernel/index.js';
import { TestPager } from '../helpers/test-pager.js';

const PAGE = 4096;
const FRAMES = 256;
const CHUNK = 32 * PAGE;

function fill(chunk: number): Buffer {
  return Buffer.alloc(CHUNK, (chunk % 251) + 1);
}

describe('pageout target', () => {
  it('a pager that takes returned pages at once: no double paging, free frames stay at the high mark', async () => {
    const ipc = new IpcSystem();
    const kernel = new Kernel({ ipc, cacheSize: FRAMES * PAGE, swap: new MemorySwap(PAGE), log: () => undefined });
    const pager = new TestPager(ipc);
    const client = ipc.createSpace('client');
    const size = 10 * FRAMES * PAGE;
    const w = await kernel.vmMap(client, pager.giveSendRight(client), 0, size);
    let maxFree = 0;
    for (let offset = 0, chunk = 0; offset < size; offset += CHUNK, chunk++) {
      expect(await w.write(offset, fill(chunk))).toEqual({ bytes: CHUNK, error: 0 });
      // Once the pool has filled, pageout keeps free frames from the low mark up to the high mark.
      if (offset >= 2 * FRAMES * PAGE) maxFree = Math.max(maxFree, kernel.statistics().free_count);
    }
    const stats = kernel.statistics();
    expect(stats.double_paged).toBe(0);
    expect(stats.pageouts).toBeGreaterThan(8 * FRAMES);
    // The old pass evicted until the external laundry limit (a quarter of the pool) before stopping.
    expect(maxFree).toBeLessThanOrEqual(stats.free_high);
    w.deallocate();
    await pager.waitFor('memory_object_terminate');
    for (let chunk = 0; chunk * CHUNK < size; chunk++) {
      const page = pager.page((chunk * CHUNK) / PAGE);
      expect(page[0]).toBe((chunk % 251) + 1);
    }
    await kernel.shutdown();
  });

  it('a pager that stops receiving cannot stall the kernel: its dirty pages are double-paged', async () => {
    const ipc = new IpcSystem();
    const kernel = new Kernel({ ipc, cacheSize: FRAMES * PAGE, swap: new MemorySwap(PAGE), log: () => undefined });
    const a = new TestPager(ipc);
    const b = new TestPager(ipc);
    const client = ipc.createSpace('client');
    const wa = await kernel.vmMap(client, a.giveSendRight(client), 0, FRAMES * PAGE);
    const wb = await kernel.vmMap(client, b.giveSendRight(client), 0, 8 * FRAMES * PAGE);
    // Half the pool dirty in A, then A stops taking messages.
    for (let offset = 0; offset < (FRAMES / 2) * PAGE; offset += CHUNK) {
      expect(await wa.write(offset, fill(1))).toEqual({ bytes: CHUNK, error: 0 });
    }
    a.pause();
    for (let offset = 0; offset < 8 * FRAMES * PAGE; offset += CHUNK) {
      expect(await wb.write(offset, fill(2))).toEqual({ bytes: CHUNK, error: 0 });
    }
    const stats = kernel.statistics();
    expect(stats.double_paged).toBeGreaterThan(0);
    let resident = 0;
    for (const object of kernel.objects.values()) resident += object.residentCount;
    expect(resident + stats.laundry_count + stats.free_count).toBe(stats.frames);
    // Once A takes messages again, everything double-paged reaches it.
    a.resume();
    for (let i = 0; i < 100 && kernel.statistics().double_paged_delivered < stats.double_paged; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(kernel.statistics().double_paged_delivered).toBe(kernel.statistics().double_paged);
    await kernel.shutdown();
  });
});
