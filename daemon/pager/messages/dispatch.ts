/** Kernel → pager messages by name; each handler lives in the file named after its message. */
import { isNotification, type KernelToPagerMessage, type Message } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';
import { changeCompleted } from './change-completed.js';
import { dataInitialize } from './data-initialize.js';
import { dataRequest } from './data-request.js';
import { dataReturn } from './data-return.js';
import { dataUnlock } from './data-unlock.js';
import { lockCompleted } from './lock-completed.js';
import { noSenders } from './no-senders.js';
import { objectInit } from './object-init.js';
import { objectTerminate } from './object-terminate.js';
import { unsupported } from './unsupported.js';

export function handlePagerMessage(pager: Pager, msg: Message): void | Promise<void> {
  if (isNotification(msg)) {
    if (msg.id === 'mach_notify_no_senders') return noSenders(pager, msg);
    return;
  }
  const m = msg as KernelToPagerMessage;
  switch (m.id) {
    case 'memory_object_init':
      return objectInit(pager, m);
    case 'memory_object_terminate':
      return objectTerminate(pager, m);
    case 'memory_object_data_request':
      return dataRequest(pager, m);
    case 'memory_object_data_return':
      return dataReturn(pager, m);
    case 'memory_object_data_initialize':
      return dataInitialize(pager, m);
    case 'memory_object_data_unlock':
      return dataUnlock(pager, m);
    case 'memory_object_lock_completed':
      return lockCompleted(pager, m);
    case 'memory_object_change_completed':
      return changeCompleted(pager, m);
    case 'memory_object_copy':
    case 'memory_object_supply_completed':
    case 'memory_object_create':
    case 'memory_object_get_attributes_reply':
      return unsupported(pager, m);
  }
}
