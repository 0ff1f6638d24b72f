/** memory_object_destroy(control, reason): the pager gives the object up. */
import type { Kernel } from '../kernel.js';
import type { MemoryObjectDestroy } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { destroyObject } from '../object-lifecycle.js';

export function destroy(vm: Kernel, object: VmObject, _msg: MemoryObjectDestroy): Promise<void> {
  return destroyObject(vm, object);
}
