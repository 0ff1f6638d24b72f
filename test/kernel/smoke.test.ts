import { describe, expect, it } from 'vitest';
import { IpcSystem, Kernel, MemorySwap } from '../../kernel/index.js';
import { TestPager } from '../helpers/test-pager.js';

describe('smoke', () => {
  it('maps, reads, writes through a pager', async () => {
    const ipc = new IpcSystem();
    const kernel = new Kernel({ ipc, cacheSize: 64 * 4096, swap: new MemorySwap(4096) });
    const pager = new TestPager(ipc);
    const client = ipc.createSpace('client');
    const mo = pager.giveSendRight(client);
    const w = await kernel.vmMap(client, mo, 0, 1 << 20);
    const r = await w.write(100, Buffer.from('hello'));
    expect(r).toEqual({ bytes: 5, error: 0 });
    const back = await w.read(98, 9);
    expect(back.data.toString('latin1')).toBe('\0\0hello\0\0');
    expect(pager.ids()).toEqual(['memory_object_init', 'memory_object_data_request']);
    w.deallocate();
    await pager.waitFor('memory_object_terminate');
    expect(pager.page(0).subarray(100, 105).toString()).toBe('hello');
    await kernel.shutdown();
  });
});
