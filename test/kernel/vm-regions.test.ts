/**
 * Address maps: vm_map enters a region, vm_region walks them (seed 000's
 * region_scan), vm_protect cannot pass the maximum protection, vm_inherit
 * sets the inheritance, growable windows grow, and a fault records what it
 * waits for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  FaultWait,
  KernError,
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_PROTECTION_FAILURE,
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_SHARE,
  VM_PROT_ALL,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type MemoryObjectDataRequest,
  type VmRegionInfo,
} from '../../kernel/index.js';
import { AddressMap } from '../../kernel/vm/address-map.js';
import type { VmObject } from '../../kernel/vm/object.js';
import { closeSetups, PAGE, setup } from '../helpers/kernel-setup.js';

afterEach(closeSetups);

function kernCode(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    if (err instanceof KernError) return err.code;
    throw err;
  }
  return 0;
}

const object = { id: 1, internal: false } as VmObject;
const spec = { object, offset: 0, protection: VM_PROT_ALL, maxProtection: VM_PROT_ALL, inheritance: VM_INHERIT_COPY } as const;

describe('address map', () => {
  it('inserts first fit from the first page up, and looks addresses up', () => {
    const map = new AddressMap(PAGE);
    const a = map.insert({ ...spec, size: 2 * PAGE });
    const b = map.insert({ ...spec, size: 1 });
    expect([a.start, a.size, b.start, b.size]).toEqual([PAGE, 2 * PAGE, 3 * PAGE, PAGE]);
    expect(map.lookup(PAGE - 1)).toBeUndefined();
    expect(map.lookup(3 * PAGE - 1)).toBe(a);
    expect(map.lookup(3 * PAGE)).toBe(b);
    expect(map.lookup(4 * PAGE)).toBeUndefined();
    map.remove(a);
    // The hole a left is taken by the next entry that fits in it.
    expect(map.insert({ ...spec, size: PAGE }).start).toBe(PAGE);
    expect(kernCode(() => map.insert({ ...spec, size: PAGE, address: 3 * PAGE }))).toBe(KERN_NO_SPACE);
    expect(map.insert({ ...spec, size: PAGE, address: 10 * PAGE }).start).toBe(10 * PAGE);
  });

  it('finds the region at or after an address, as vm_region does', () => {
    const map = new AddressMap(PAGE);
    const a = map.insert({ ...spec, size: PAGE, address: 4 * PAGE });
    const b = map.insert({ ...spec, size: PAGE, address: 8 * PAGE });
    expect(map.regionFrom(0)).toBe(a);
    expect(map.regionFrom(4 * PAGE + 10)).toBe(a);
    expect(map.regionFrom(5 * PAGE)).toBe(b);
    expect(map.regionFrom(9 * PAGE)).toBeUndefined();
  });

  it('grows a growable entry in place, and moves it when the next one is in the way', () => {
    const map = new AddressMap(PAGE);
    const g = map.insert({ ...spec, size: PAGE, maxSize: 100 * PAGE });
    map.grow(g, 2 * PAGE + 1);
    expect([g.start, g.size]).toEqual([PAGE, 3 * PAGE]);
    const after = map.insert({ ...spec, size: PAGE });
    expect(after.start).toBe(4 * PAGE);
    map.grow(g, 5 * PAGE);
    expect([g.start, g.size]).toEqual([5 * PAGE, 5 * PAGE]);
    map.grow(g, 1000 * PAGE);
    expect(g.size).toBe(100 * PAGE);
    expect(map.entries.map((e) => e.start)).toEqual([4 * PAGE, 5 * PAGE]);
    expect(kernCode(() => map.grow(after, 2 * PAGE))).toBe(KERN_INVALID_ARGUMENT);
  });

  it('protects and sets inheritance on whole entries and on parts of entries (clipped)', () => {
    const map = new AddressMap(PAGE);
    const a = map.insert({ ...spec, size: 2 * PAGE });
    const b = map.insert({ ...spec, size: PAGE });
    map.protect(PAGE, 3 * PAGE, false, VM_PROT_READ);
    expect([a.protection, b.protection]).toEqual([VM_PROT_READ, VM_PROT_READ]);
    expect(map.entries).toHaveLength(2);
    map.inherit(3 * PAGE, PAGE, VM_INHERIT_NONE);
    expect([a.inheritance, b.inheritance]).toEqual([VM_INHERIT_COPY, VM_INHERIT_NONE]);
    expect(kernCode(() => map.inherit(3 * PAGE, PAGE, 7 as never))).toBe(KERN_INVALID_ARGUMENT);
    // Half of a: vm_map_clip_end splits it, the second page gets its own entry at offset PAGE.
    map.protect(2 * PAGE, 10, false, VM_PROT_ALL);
    expect(map.entries.map((e) => [e.start, e.size, e.offset, e.protection])).toEqual([
      [PAGE, PAGE, 0, VM_PROT_READ],
      [2 * PAGE, PAGE, PAGE, VM_PROT_ALL],
      [3 * PAGE, PAGE, 0, VM_PROT_READ],
    ]);
    expect(a.mapping).toHaveLength(2);
    expect(map.spanOf(a)).toBe(2 * PAGE);
    expect(map.protectionOver(a, 0, 2 * PAGE)).toBe(VM_PROT_READ);
    expect(map.protectionOver(a, PAGE, 1)).toBe(VM_PROT_ALL);
    // Alike again: the pieces join (vm_map_simplify).
    map.protect(2 * PAGE, PAGE, false, VM_PROT_READ);
    expect(map.entries.map((e) => [e.start, e.size])).toEqual([
      [PAGE, 2 * PAGE],
      [3 * PAGE, PAGE],
    ]);
    expect(a.mapping).toEqual([a]);
    // A hole in the range changes nothing.
    expect(kernCode(() => map.protect(PAGE, 4 * PAGE, false, VM_PROT_ALL))).toBe(KERN_INVALID_ADDRESS);
    expect(map.entries).toHaveLength(2);
  });

  it('a refused vm_protect on part of an entry leaves it whole', () => {
    const map = new AddressMap(PAGE);
    const a = map.insert({ ...spec, size: 3 * PAGE, maxProtection: VM_PROT_READ, protection: VM_PROT_READ });
    expect(kernCode(() => map.protect(2 * PAGE, PAGE, false, VM_PROT_ALL))).toBe(KERN_PROTECTION_FAILURE);
    expect(map.entries).toEqual([a]);
    expect(a.size).toBe(3 * PAGE);
  });

  it('vm_inherit on the middle of an entry makes three entries; removing the mapping removes every piece', () => {
    const map = new AddressMap(PAGE);
    const a = map.insert({ ...spec, size: 4 * PAGE, offset: 8 * PAGE });
    map.inherit(2 * PAGE, 2 * PAGE, VM_INHERIT_SHARE);
    expect(map.entries.map((e) => [e.start, e.size, e.offset, e.inheritance])).toEqual([
      [PAGE, PAGE, 8 * PAGE, VM_INHERIT_COPY],
      [2 * PAGE, 2 * PAGE, 9 * PAGE, VM_INHERIT_SHARE],
      [4 * PAGE, PAGE, 11 * PAGE, VM_INHERIT_COPY],
    ]);
    map.remove(a);
    expect(map.entries).toHaveLength(0);
  });

  it('a clipped growable mapping grows at its last piece and moves whole', () => {
    const map = new AddressMap(PAGE);
    const g = map.insert({ ...spec, size: 2 * PAGE, maxSize: 100 * PAGE });
    map.protect(PAGE, PAGE, false, VM_PROT_READ);
    map.grow(g, 3 * PAGE);
    expect(map.entries.map((e) => [e.start, e.size])).toEqual([
      [PAGE, PAGE],
      [2 * PAGE, 2 * PAGE],
    ]);
    const after = map.insert({ ...spec, size: PAGE });
    map.grow(g, 6 * PAGE);
    const [head, tail] = g.mapping;
    expect(head.start).toBeGreaterThan(after.start);
    expect([tail.start - head.start, head.size + tail.size]).toEqual([PAGE, 6 * PAGE]);
    expect(map.spanOf(g)).toBe(6 * PAGE);
  });
});

describe('vm_map, vm_region, vm_protect, vm_inherit', () => {
  it('region_scan: every region of the task with its protection, inheritance, object and offset', async () => {
    const s = setup();
    const w = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 2 * PAGE, 4 * PAGE, {
      protection: VM_PROT_READ,
      maxProtection: VM_PROT_READ | VM_PROT_WRITE,
      inheritance: VM_INHERIT_SHARE,
    });
    const anon = s.kernel.vmAllocate(3 * PAGE, s.client);
    const regions: VmRegionInfo[] = [];
    for (let address = 0; ; ) {
      let r: VmRegionInfo;
      try {
        r = s.kernel.vmRegion(s.client, address);
      } catch (err) {
        expect((err as KernError).code).toBe(KERN_NO_SPACE);
        break;
      }
      regions.push(r);
      address = r.address + r.size;
    }
    expect(regions).toEqual([
      expect.objectContaining({ address: w.address, size: 4 * PAGE, protection: VM_PROT_READ, maxProtection: 3, inheritance: VM_INHERIT_SHARE, shared: false, objectName: w.object.id, offset: 2 * PAGE, internal: false }),
      expect.objectContaining({ address: anon.address, size: 3 * PAGE, protection: VM_PROT_ALL, inheritance: VM_INHERIT_COPY, objectName: anon.object.id, offset: 0, internal: true }),
    ]);
    expect(s.kernel.regions(s.client)).toEqual(regions);
    // A second mapping of the same object: both regions are shared.
    const w2 = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, PAGE);
    expect(s.kernel.vmRegion(s.client, w2.address).shared).toBe(true);
    expect(s.kernel.vmRegion(s.client, w.address).shared).toBe(true);
    w2.deallocate();
    expect(s.kernel.vmRegion(s.client, w.address).shared).toBe(false);
    w.deallocate();
    anon.deallocate();
    // Its last region gone, the task maps nothing.
    expect(kernCode(() => s.kernel.vmRegion(s.client, 0))).toBe(KERN_NO_SPACE);
    expect(s.kernel.maps.tasks()).not.toContain(s.client);
  });

  it('vm_protect may not exceed the maximum; a write through a read-only region is a protection failure', async () => {
    const s = setup();
    const w = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, 4 * PAGE, { maxProtection: VM_PROT_READ | VM_PROT_WRITE, protection: VM_PROT_READ | VM_PROT_WRITE });
    expect((await w.write(0, Buffer.from('mach'))).error).toBe(0);
    s.kernel.vmProtect(s.client, w.address, 4 * PAGE, false, VM_PROT_READ);
    await expect(w.write(0, Buffer.from('hurd'))).rejects.toMatchObject({ code: KERN_PROTECTION_FAILURE });
    expect(kernCode(() => w.copySync(0, Buffer.from('x'), VM_PROT_WRITE))).toBe(KERN_PROTECTION_FAILURE);
    expect((await w.read(0, 4)).data.toString()).toBe('mach');
    expect(kernCode(() => s.kernel.vmProtect(s.client, w.address, 4 * PAGE, false, VM_PROT_ALL))).toBe(KERN_PROTECTION_FAILURE);
    expect(w.protection).toBe(VM_PROT_READ);
    s.kernel.vmProtect(s.client, w.address, 4 * PAGE, false, VM_PROT_READ | VM_PROT_WRITE);
    expect((await w.write(0, Buffer.from('hurd'))).error).toBe(0);
    // Lowering the maximum lowers the protection with it, for good.
    s.kernel.vmProtect(s.client, w.address, 4 * PAGE, true, VM_PROT_READ);
    expect(s.kernel.vmRegion(s.client, 0)).toMatchObject({ protection: VM_PROT_READ, maxProtection: VM_PROT_READ });
    expect(kernCode(() => s.kernel.vmProtect(s.client, w.address, 4 * PAGE, false, VM_PROT_READ | VM_PROT_WRITE))).toBe(KERN_PROTECTION_FAILURE);
    s.kernel.vmInherit(s.client, w.address, 4 * PAGE, VM_INHERIT_NONE);
    expect(s.kernel.vmRegion(s.client, 0).inheritance).toBe(VM_INHERIT_NONE);
    w.deallocate();
  });

  it('vm_protect on one page of a window: vm_region shows three regions, the window obeys each', async () => {
    const s = setup();
    const w = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, 3 * PAGE, VM_PROT_READ | VM_PROT_WRITE);
    expect((await w.write(0, Buffer.alloc(3 * PAGE, 1))).error).toBe(0);
    s.kernel.vmProtect(s.client, w.address + PAGE, PAGE, false, VM_PROT_READ);
    const regions = s.kernel.regions(s.client);
    expect(regions.map((r) => [r.address - w.address, r.size, r.offset, r.protection, r.shared])).toEqual([
      [0, PAGE, 0, VM_PROT_READ | VM_PROT_WRITE, false],
      [PAGE, PAGE, PAGE, VM_PROT_READ, false],
      [2 * PAGE, PAGE, 2 * PAGE, VM_PROT_READ | VM_PROT_WRITE, false],
    ]);
    expect((await w.write(2 * PAGE, Buffer.from('ok'))).error).toBe(0);
    await expect(w.write(PAGE + 10, Buffer.from('no'))).rejects.toMatchObject({ code: KERN_PROTECTION_FAILURE });
    await expect(w.write(0, Buffer.alloc(2 * PAGE))).rejects.toMatchObject({ code: KERN_PROTECTION_FAILURE });
    expect((await w.read(0, 3 * PAGE)).error).toBe(0);
    s.kernel.vmInherit(s.client, w.address + 2 * PAGE, PAGE, VM_INHERIT_NONE);
    expect(s.kernel.regions(s.client).map((r) => r.inheritance)).toEqual([VM_INHERIT_COPY, VM_INHERIT_COPY, VM_INHERIT_NONE]);
    w.deallocate();
    expect(s.kernel.regions(s.client)).toEqual([]);
  });

  it('vm_map refuses a protection above the maximum', async () => {
    const s = setup();
    await expect(s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, PAGE, { protection: VM_PROT_ALL, maxProtection: VM_PROT_READ })).rejects.toMatchObject({
      code: KERN_PROTECTION_FAILURE,
    });
  });

  it('a growable window grows with the copies and keeps its data when it moves', async () => {
    const s = setup();
    const g = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, 1 << 30, { initialSize: 0 });
    expect(s.kernel.vmRegion(s.client, 0)).toMatchObject({ size: PAGE, growable: true });
    expect((await g.write(0, Buffer.from('first'))).error).toBe(0);
    const fixed = await s.map(PAGE);
    expect(fixed.address).toBe(g.address + PAGE);
    expect((await g.write(3 * PAGE, Buffer.from('later'))).error).toBe(0);
    expect(g.entry.size).toBe(4 * PAGE);
    expect(g.address).toBeGreaterThan(fixed.address);
    expect((await g.read(0, 5)).data.toString()).toBe('first');
    expect((await g.read(3 * PAGE, 5)).data.toString()).toBe('later');
    g.deallocate();
    fixed.deallocate();
  });
});

describe('fault waits', () => {
  it('a fault records that it waits for data_request, and a second one for the busy page', async () => {
    const s = setup({}, { auto: false });
    const w = await s.mapReady();
    const first = new FaultWait();
    const second = new FaultWait();
    const a = w.completeCopy(0, Buffer.alloc(10), VM_PROT_READ, 0, first);
    const req = await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    expect(first).toMatchObject({ reason: 'data_request', object: w.object.id, offset: 0 });
    const b = w.completeCopy(100, Buffer.alloc(10), VM_PROT_READ, 0, second);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(second.reason).toBe('busy_page');
    s.pager.answer(req);
    expect((await a).error).toBe(0);
    expect((await b).error).toBe(0);
    expect([first.reason, second.reason]).toEqual([undefined, undefined]);
    w.deallocate();
  });
});
