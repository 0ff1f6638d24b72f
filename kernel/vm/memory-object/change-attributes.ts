/**
 * memory_object_change_attributes(control, may_cache, copy_strategy,
 * reply_to): as ready, then change_completed on reply_to. Making an idle
 * cached object uncacheable terminates it first, so terminate is queued
 * before change_completed (which is why that message has no control port).
 */
import { MACH_PORT_NULL } from '../../ipc/message.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectChangeAttributes, MemoryObjectChangeCompleted } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { terminate } from '../object-lifecycle.js';
import { isCopyStrategy } from '../prot.js';
import { setAttributes } from './ready.js';

export async function changeAttributes(vm: Kernel, object: VmObject, msg: MemoryObjectChangeAttributes): Promise<void> {
  if (!isCopyStrategy(msg.copyStrategy)) {
    vm.protocolError(object, `change_attributes with copy strategy ${String(msg.copyStrategy)} (KERN_INVALID_ARGUMENT)`);
    return;
  }
  setAttributes(object, msg.mayCache, msg.copyStrategy);
  if (!msg.mayCache && object.cached) {
    object.cached = false;
    vm.cachedObjects.delete(object);
    await terminate(vm, object);
  }
  if (msg.replyTo !== MACH_PORT_NULL) {
    vm.reply({
      id: 'memory_object_change_completed',
      dest: msg.replyTo,
      mayCache: msg.mayCache,
      copyStrategy: msg.copyStrategy,
    } satisfies MemoryObjectChangeCompleted);
  }
}
