/**
 * Every task's address map (task->map in Mach). A task here is an IPC space
 * (the filesystem's, a pager library's, a test client's): the space that
 * called vm_map owns the mapping. A map is made at a task's first mapping
 * and forgotten when its last entry goes.
 */
import type { IpcSpace } from '../ipc/space.js';
import { AddressMap } from './address-map.js';
import type { VmObject } from './object.js';

export class TaskMaps {
  private readonly maps = new Map<IpcSpace, AddressMap>();

  constructor(private readonly pageSize: number) {}

  /** The task's map, made if it has none. */
  mapOf(task: IpcSpace): AddressMap {
    let map = this.maps.get(task);
    if (!map) {
      map = new AddressMap(this.pageSize);
      this.maps.set(task, map);
    }
    return map;
  }

  /** The task's map if it maps anything. */
  find(task: IpcSpace): AddressMap | undefined {
    return this.maps.get(task);
  }

  /** A map left with no entry is forgotten (tasks come and go; their maps must not pile up). */
  release(task: IpcSpace): void {
    if (this.maps.get(task)?.size === 0) this.maps.delete(task);
  }

  /** The tasks that map something, in the order they first did. */
  tasks(): IpcSpace[] {
    return [...this.maps.keys()];
  }

  /** How many mappings of all maps map `object` (more than one: the region is shared); the pieces of a clipped one count once. */
  mappingsOf(object: VmObject): number {
    let n = 0;
    for (const map of this.maps.values()) for (const entry of map.entries) if (entry.object === object && entry.mapping[0] === entry) n++;
    return n;
  }
}
