/**
 * A window on an object entered in a task's address map (vm_map's
 * vm_map_enter): the entry, and the VmWindow that copies through it. If the
 * entry cannot be made, the map and the object reference taken for it go.
 */
import type { IpcSpace } from '../ipc/space.js';
import type { Kernel } from './kernel.js';
import { VmWindow } from './map.js';
import type { VmObject } from './object.js';
import { releaseObject } from './object-lifecycle.js';
import type { MapSpec } from './vm-map-options.js';

export function enterWindow(vm: Kernel, task: IpcSpace, object: VmObject, offset: number, size: number, spec: MapSpec): VmWindow {
  const map = vm.maps.mapOf(task);
  let entry;
  try {
    entry = map.insert({ ...spec, object, offset });
  } catch (err) {
    vm.maps.release(task);
    releaseObject(vm, object);
    throw err;
  }
  return new VmWindow(vm, map, entry, size, () => vm.maps.release(task));
}
