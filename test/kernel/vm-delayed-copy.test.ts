/**
 * A delayed copy between two objects that each have a pager (what
 * `machpager snapshot` makes of a file's object, delayed-copy.ts): the copy
 * reads every page it does not hold from the source's resident pages, a
 * write to the source pushes the old page into the copy (written out with
 * data_initialize), a write to the copy is a cow_fault, and truncates and
 * the source's removal leave the copy with its own data.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MEMORY_OBJECT_RETURN_ALL,
  VM_PROT_NO_CHANGE,
  type MemoryObjectDataInitialize,
  type MemoryObjectDataReturn,
  type MemoryObjectDataRequest,
  type VmWindow,
} from '../../kernel/index.js';
import { lockPages } from '../../kernel/vm/memory-object/lock-request.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle, TestPager } from '../helpers/test-pager.js';

afterEach(closeSetups);

async function bytes(w: VmWindow, address: number, length: number): Promise<Buffer> {
  const { data, error } = await w.read(address, length);
  expect(error).toBe(0);
  return data;
}

async function written(w: VmWindow, address: number, data: Buffer): Promise<void> {
  const { error } = await w.write(address, data);
  expect(error).toBe(0);
}

interface Pair {
  s: Setup;
  source: VmWindow;
  copy: VmWindow;
  copyPager: TestPager;
  data: Buffer;
}

/** A source with 4 pages written and stored, and a second object (its own pager) linked as its delayed copy. */
async function pair(held: number[] = []): Promise<Pair> {
  const s = setup();
  const source = await s.map();
  const data = pattern(4, 1);
  await written(source, 0, data);
  await lockPages(s.kernel, source.object, 0, Infinity, MEMORY_OBJECT_RETURN_ALL, false, VM_PROT_NO_CHANGE);
  await settle();
  const copyPager = new TestPager(s.ipc);
  for (const i of held) copyPager.pages.set(i, Buffer.alloc(PAGE, 0x77));
  const copy = await s.kernel.vmMap(s.client, copyPager.giveSendRight(s.client), 0, 1 << 30);
  expect(source.delayedCopyTo(copy, 4 * PAGE, held)).toBe(true);
  return { s, source, copy, copyPager, data };
}

describe('a delayed copy of an object with a pager of its own', () => {
  it('reads the source resident pages without asking its own pager; a source write pushes; a copy write is a cow_fault', async () => {
    const { s, source, copy, copyPager, data } = await pair();
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    expect(copyPager.count('memory_object_data_request')).toBe(0);
    expect(copy.object.residentCount).toBe(0);

    await written(source, PAGE, Buffer.alloc(PAGE, 0xaa));
    expect(s.kernel.statistics().copy_pushes).toBe(1);
    expect(await bytes(copy, PAGE, PAGE)).toEqual(data.subarray(PAGE, 2 * PAGE));

    await written(copy, 2 * PAGE, Buffer.from('mine'));
    expect(s.kernel.statistics().cow_faults).toBe(1);
    expect(await bytes(source, 2 * PAGE, PAGE)).toEqual(data.subarray(2 * PAGE, 3 * PAGE));
    expect((await bytes(copy, 2 * PAGE, 4)).toString()).toBe('mine');

    // Written out: the pushed page as data_initialize, the copy's own page as data_return.
    await lockPages(s.kernel, copy.object, 0, Infinity, MEMORY_OBJECT_RETURN_ALL, true, VM_PROT_NO_CHANGE);
    const init = await copyPager.waitFor<MemoryObjectDataInitialize>('memory_object_data_initialize');
    expect(init.offset).toBe(PAGE);
    await copyPager.waitFor<MemoryObjectDataReturn>('memory_object_data_return', (m) => m.offset === 2 * PAGE);
    // Flushed from the cache, both come back from the copy's pager; the rest still from the source.
    copyPager.pages.set(1, Buffer.from(data.subarray(PAGE, 2 * PAGE)));
    const all = await bytes(copy, 0, 4 * PAGE);
    expect(all.subarray(0, 2 * PAGE)).toEqual(data.subarray(0, 2 * PAGE));
    expect(all.subarray(2 * PAGE, 2 * PAGE + 4).toString()).toBe('mine');
    expect(all.subarray(3 * PAGE)).toEqual(data.subarray(3 * PAGE));
    const asked = new Set<number>();
    for (const m of copyPager.messages('memory_object_data_request')) for (let at = m.offset; at < m.offset + m.length; at += PAGE) asked.add(at);
    expect([...asked].sort((a, b) => a - b)).toEqual([PAGE, 2 * PAGE]);
  });

  it('pages the copy pager holds are read from it, and a source write to them pushes nothing', async () => {
    const { s, source, copy, copyPager } = await pair([3]);
    expect((await bytes(copy, 3 * PAGE, PAGE))[0]).toBe(0x77);
    expect(copyPager.count('memory_object_data_request')).toBe(1);
    await written(source, 3 * PAGE, Buffer.alloc(PAGE, 0xaa));
    expect(s.kernel.statistics().copy_pushes).toBe(0);
    expect((await bytes(copy, 3 * PAGE, PAGE))[0]).toBe(0x77);
  });

  it('refuses a second copy of the same source and a copy of itself', async () => {
    const { s, source, copy } = await pair();
    const other = new TestPager(s.ipc);
    const third = await s.kernel.vmMap(s.client, other.giveSendRight(s.client), 0, 1 << 30);
    expect(source.delayedCopyTo(third, 4 * PAGE, [])).toBe(false);
    expect(copy.delayedCopyTo(copy, 4 * PAGE, [])).toBe(false);
    expect(copy.delayedCopyTo(source, 4 * PAGE, [])).toBe(false);
  });

  it('a source truncate hands the pages past its end to the copy; a copy truncate stops reading through', async () => {
    const { source, copy, copyPager, data } = await pair();
    expect(await bytes(copy, 0, 4 * PAGE)).toEqual(data);
    source.handOverToCopy(2 * PAGE, 2 * PAGE);
    expect(copy.object.sizePages).toBe(2);
    // The copy's pager has those pages now (its store took them from the source's).
    copyPager.pages.set(3, Buffer.from(data.subarray(3 * PAGE)));
    expect(await bytes(copy, 3 * PAGE, PAGE)).toEqual(data.subarray(3 * PAGE));
    expect(copyPager.messages('memory_object_data_request').map((m: MemoryObjectDataRequest) => m.offset)).toEqual([3 * PAGE]);
    expect(await bytes(copy, 0, PAGE)).toEqual(data.subarray(0, PAGE));
    copy.limitCopy(0);
    expect(copy.object.shadow).toBeUndefined();
    expect(source.object.copy).toBeUndefined();
  });

  it('cutting the copy off its source (the source is removed) makes it ask its own pager for everything', async () => {
    const { source, copy, copyPager, data } = await pair();
    expect(await bytes(copy, 0, PAGE)).toEqual(data.subarray(0, PAGE));
    const refs = source.object.refCount;
    source.cutDelayedCopy();
    expect(source.object.refCount).toBe(refs - 1);
    expect(copy.object.shadow).toBeUndefined();
    copyPager.pages.set(0, Buffer.alloc(PAGE, 5));
    expect((await bytes(copy, 0, PAGE))[0]).toBe(5);
  });
});
