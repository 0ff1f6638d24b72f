/**
 * Pager → kernel calls arriving on a control port, by message name. Each
 * handler lives in the file named after its message (memory_object.c's
 * routines, one per file).
 */
import type { Kernel } from '../kernel.js';
import type { PagerToKernelMessage } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { changeAttributes } from './change-attributes.js';
import { dataError } from './data-error.js';
import { dataSupply } from './data-supply.js';
import { dataUnavailable } from './data-unavailable.js';
import { destroy } from './destroy.js';
import { getAttributes } from './get-attributes.js';
import { lockRequest } from './lock-request.js';
import { ready } from './ready.js';

export function handleControlMessage(vm: Kernel, object: VmObject, msg: PagerToKernelMessage): void | Promise<void> {
  switch (msg.id) {
    case 'memory_object_ready':
      return ready(vm, object, msg);
    case 'memory_object_change_attributes':
      return changeAttributes(vm, object, msg);
    case 'memory_object_get_attributes':
      return getAttributes(vm, object, msg);
    case 'memory_object_data_supply':
      return dataSupply(vm, object, msg);
    case 'memory_object_data_unavailable':
      return dataUnavailable(vm, object, msg);
    case 'memory_object_data_error':
      return dataError(vm, object, msg);
    case 'memory_object_lock_request':
      return lockRequest(vm, object, msg);
    case 'memory_object_destroy':
      return destroy(vm, object, msg);
  }
}
