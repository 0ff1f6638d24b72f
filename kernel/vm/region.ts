/**
 * vm_region: describe the region of a task's map at or after an address,
 * as seed 000's region_scan walks it (start, size, protection, max
 * protection, inheritance, shared, object name, offset). Asking again at
 * address + size gives the next region; past the last one the answer is
 * KERN_NO_SPACE, which ends the walk.
 */
import { KernError, KERN_INVALID_ADDRESS, KERN_NO_SPACE } from '../ipc/kern-return.js';
import type { IpcSpace } from '../ipc/space.js';
import type { VmInherit } from './inherit.js';
import type { TaskMaps } from './task-maps.js';
import type { VmProt } from './prot.js';

export interface VmRegionInfo {
  /** Where the region starts (at or after the address asked). */
  address: number;
  size: number;
  protection: VmProt;
  maxProtection: VmProt;
  inheritance: VmInherit;
  /** More than one mapping (of any task) maps the object. */
  shared: boolean;
  /** The object's name: its id in the kernel (what `files` and `stats` call object). */
  objectName: number;
  /** Offset in the object of the region's first byte. */
  offset: number;
  /** Internal (anonymous, default-pager) memory rather than a pager's object. */
  internal: boolean;
  /** The region grows as its user reaches further (a file window). */
  growable: boolean;
}

export function vmRegion(maps: TaskMaps, task: IpcSpace, address: number): VmRegionInfo {
  if (!Number.isInteger(address) || address < 0) throw new KernError(KERN_INVALID_ADDRESS, `bad address ${address}`);
  const entry = maps.find(task)?.regionFrom(address);
  if (!entry) throw new KernError(KERN_NO_SPACE, `no region at or after ${address}`);
  return {
    address: entry.start,
    size: entry.size,
    protection: entry.protection,
    maxProtection: entry.maxProtection,
    inheritance: entry.inheritance,
    shared: maps.mappingsOf(entry.object) > 1,
    objectName: entry.object.id,
    offset: entry.offset,
    internal: entry.object.internal,
    growable: entry.growable,
  };
}

/** Every region of the task, lowest first (region_scan's loop). */
export function taskRegions(maps: TaskMaps, task: IpcSpace): VmRegionInfo[] {
  const out: VmRegionInfo[] = [];
  for (let address = 0; ; ) {
    let region: VmRegionInfo;
    try {
      region = vmRegion(maps, task, address);
    } catch (err) {
      if (err instanceof KernError && err.code === KERN_NO_SPACE) return out;
      throw err;
    }
    out.push(region);
    address = region.address + region.size;
  }
}
