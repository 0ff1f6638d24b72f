/** memory_object_get_attributes(control) → (ready, may_cache, copy_strategy), as they are now. */
import { KERN_SUCCESS } from '../../ipc/kern-return.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectGetAttributes, MemoryObjectGetAttributesReply } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { MEMORY_OBJECT_COPY_TEMPORARY } from '../prot.js';

export function getAttributes(vm: Kernel, object: VmObject, msg: MemoryObjectGetAttributes): void {
  vm.reply({
    id: 'memory_object_get_attributes_reply',
    dest: msg.replyTo,
    result: KERN_SUCCESS,
    ready: object.pagerReady,
    mayCache: object.canPersist,
    copyStrategy: object.temporary && !object.internal ? MEMORY_OBJECT_COPY_TEMPORARY : object.copyStrategy,
  } satisfies MemoryObjectGetAttributesReply);
}
