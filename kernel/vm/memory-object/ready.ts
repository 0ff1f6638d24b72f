/**
 * memory_object_ready(control, may_cache, copy_strategy): the pager has
 * set the object up; faults waiting for pager_ready go on.
 */
import type { Kernel } from '../kernel.js';
import type { MemoryObjectReady } from '../memory-object-defs.js';
import { wakeAll, type VmObject } from '../object.js';
import { isCopyStrategy, MEMORY_OBJECT_COPY_TEMPORARY, type CopyStrategy } from '../prot.js';

export function ready(vm: Kernel, object: VmObject, msg: MemoryObjectReady): void {
  if (!isCopyStrategy(msg.copyStrategy)) {
    vm.protocolError(object, `ready with copy strategy ${String(msg.copyStrategy)} (KERN_INVALID_ARGUMENT)`);
    return;
  }
  setAttributes(object, msg.mayCache, msg.copyStrategy);
}

/** set_attributes_common: the part ready and change_attributes share. */
export function setAttributes(object: VmObject, mayCache: boolean, copyStrategy: CopyStrategy): void {
  object.canPersist = mayCache;
  if (copyStrategy === MEMORY_OBJECT_COPY_TEMPORARY) object.temporary = true;
  else object.copyStrategy = copyStrategy;
  if (object.state === 'initializing') object.state = 'ready';
  object.pagerReady = true;
  wakeAll(object.readyWaiters);
}
