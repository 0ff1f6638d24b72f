/**
 * The life of a memory object: cache, collection, termination, re-init,
 * destroy, pager death (checklist rows 3, 38-43).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  EIO,
  KernError,
  MEMORY_OBJECT_COPY_DELAY,
  MEMORY_OBJECT_COPY_TEMPORARY,
  VM_PROT_NONE,
  VM_PROT_READ,
  type MemoryObjectChangeCompleted,
  type MemoryObjectInit,
  type KernelOptions,
  type MemoryObjectTerminate,
  type VmWindow,
} from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle, TestPager } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

/** A may_cache object whose one window touched it with `touch` and is gone: cached, idle. */
async function idleCachedObject(kernelOptions: Partial<KernelOptions>, touch: (w: VmWindow) => Promise<unknown>): Promise<VmWindow> {
  s = setup(kernelOptions, { mayCache: true });
  const w = await s.map();
  await touch(w);
  w.deallocate();
  await settle();
  return w;
}

describe('object life cycle', () => {
  it('row 38: with may_cache, unmapping keeps the object and its pages; a new map sends no init', async () => {
    const w = await idleCachedObject({}, (w) => w.write(0, Buffer.from('cached')));
    expect(s.pager.count('memory_object_terminate')).toBe(0);
    expect(s.kernel.statistics().objects_cached).toBe(1);
    const again = await s.map();
    expect(again.object).toBe(w.object);
    expect(again.copySync(0, Buffer.alloc(6), VM_PROT_READ)).toBe(6);
    expect(s.pager.count('memory_object_init')).toBe(1);
    expect(s.pager.count('memory_object_data_request')).toBe(1);
    const st = s.kernel.statistics();
    expect(st.object_lookups).toBe(2);
    expect(st.object_hits).toBe(1);
    expect(st.objects_cached).toBe(0);
    again.deallocate();
  });

  it('row 3: making an idle cached object uncacheable sends terminate before change_completed', async () => {
    await idleCachedObject({}, (w) => w.write(0, Buffer.from('x')));
    s.pager.send({ id: 'memory_object_change_attributes', mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY, replyTo: s.pager.port });
    await s.pager.waitFor<MemoryObjectChangeCompleted>('memory_object_change_completed');
    const ids = s.pager.ids();
    expect(ids.indexOf('memory_object_terminate')).toBeGreaterThan(-1);
    expect(ids.indexOf('memory_object_terminate')).toBeLessThan(ids.indexOf('memory_object_change_completed'));
    // The dirty page came back before the terminate.
    expect(ids.indexOf('memory_object_data_return')).toBeLessThan(ids.indexOf('memory_object_terminate'));
    expect(s.pager.page(0).subarray(0, 1).toString()).toBe('x');
  });

  it('row 39: a cached object whose last page is evicted is terminated', async () => {
    await idleCachedObject({ cacheSize: 16 * PAGE }, (w) => w.read(0, 1));
    expect(s.kernel.statistics().objects_cached).toBe(1);
    const other = new TestPager(s.ipc);
    const w2 = await s.kernel.vmMap(s.client, other.giveSendRight(s.client), 0, 1 << 30);
    for (let i = 0; i < 64; i++) await w2.read(i * 3 * PAGE, 1);
    await s.pager.waitFor<MemoryObjectTerminate>('memory_object_terminate');
    expect(s.kernel.statistics().objects_cached).toBe(0);
    w2.deallocate();
  });

  it('row 40: termination returns dirty and precious pages first; a temporary object returns nothing', async () => {
    s = setup();
    const w = await s.map();
    await w.write(PAGE, pattern(2, 1));
    s.pager.supply(8 * PAGE, pattern(1, 8), VM_PROT_NONE, true);
    await settle();
    w.deallocate();
    await s.pager.waitFor('memory_object_terminate');
    const ids = s.pager.ids();
    const returns = s.pager.messages('memory_object_data_return');
    expect(returns.map((r) => [r.offset / PAGE, r.data.length / PAGE, r.dirty, r.kernelCopy])).toEqual([
      [1, 2, true, false],
      [8, 1, false, false],
    ]);
    expect(ids.lastIndexOf('memory_object_data_return')).toBeLessThan(ids.indexOf('memory_object_terminate'));
    expect(s.kernel.statistics().objects).toBe(0);

    const temp = new TestPager(s.ipc, { copyStrategy: MEMORY_OBJECT_COPY_TEMPORARY });
    const t = await s.kernel.vmMap(s.client, temp.giveSendRight(s.client), 0, 1 << 20);
    await t.write(0, Buffer.from('scratch'));
    t.deallocate();
    await temp.waitFor('memory_object_terminate');
    expect(temp.count('memory_object_data_return')).toBe(0);
  });

  it('row 41: a map after terminate gets a new init with new ports, never before the old terminate', async () => {
    s = setup();
    const w = await s.map();
    await w.write(0, pattern(20, 1));
    w.deallocate(); // terminate runs: 20 dirty pages go back first
    const again = await s.map();
    expect(again.object).not.toBe(w.object);
    const inits = () => s.pager.messages('memory_object_init');
    await s.pager.waitFor('memory_object_init', (m: MemoryObjectInit) => m.control !== inits()[0]?.control);
    const ids = s.pager.ids();
    expect(ids.indexOf('memory_object_terminate')).toBeLessThan(ids.lastIndexOf('memory_object_init'));
    const [first, second] = inits();
    expect(second?.control).not.toBe(first?.control);
    expect(second?.name).not.toBe(first?.name);
    // The data written before is back from the pager.
    expect((await again.read(0, 20 * PAGE)).data.equals(pattern(20, 1))).toBe(true);
    again.deallocate();
  });

  it('row 42: destroy cuts the ports, fails outstanding requests and sends terminate; later calls are not taken', async () => {
    s = setup({}, { auto: true });
    const w = await s.map();
    await w.write(0, Buffer.from('resident'));
    s.pager.options.auto = false;
    const pending = w.read(5 * PAGE, 1);
    await s.pager.waitFor('memory_object_data_request');
    const control = s.pager.control;
    s.pager.send({ id: 'memory_object_destroy', reason: 0 }, control);
    s.pager.supply(7 * PAGE, pattern(1, 7), VM_PROT_NONE, false, undefined);
    expect((await pending).error).toBe(EIO);
    const term = await s.pager.waitFor<MemoryObjectTerminate>('memory_object_terminate');
    expect(term.control).toBe(control);
    // Resident pages still serve the mapping; others fail; the supply after destroy was never taken.
    expect((await w.read(0, 8)).data.toString()).toBe('resident');
    expect((await w.read(7 * PAGE, 1)).error).toBe(EIO);
    w.deallocate();
    expect(s.kernel.statistics().objects).toBe(0);
  });

  it('row 43: when the pager port dies, pending faults fail and no terminate is sent', async () => {
    s = setup({}, { auto: false });
    const w = await s.map();
    await s.pager.waitFor('memory_object_init');
    s.pager.send({ id: 'memory_object_ready', mayCache: true, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    const pending = w.read(0, 10);
    await s.pager.waitFor('memory_object_data_request');
    const terminatesBefore = s.pager.count('memory_object_terminate');
    s.pager.die();
    expect((await pending).error).toBe(EIO);
    expect((await w.read(PAGE, 1)).error).toBe(EIO);
    expect(s.pager.count('memory_object_terminate')).toBe(terminatesBefore);
    w.deallocate();
    await settle();
    expect(s.kernel.statistics().objects).toBe(0);
    // Mapping the dead port is refused.
    await expect(s.kernel.vmMap(s.client, s.pager.port, 0, PAGE)).rejects.toBeInstanceOf(KernError);
  });
});
