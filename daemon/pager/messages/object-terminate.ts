/**
 * memory_object_terminate(object, control, name): the kernel is done with
 * this incarnation. Wait for operations in progress (libpager's noterm),
 * then destroy the control and name ports (their receive rights came with
 * the message), wake everyone waiting on lock and attribute requests, and
 * go back to NOTINIT: a later map starts again with init. Unlike libpager,
 * the pages' recorded errors survive (until each page is read well again).
 */
import type { MemoryObjectTerminate } from '../../../kernel/index.js';
import { MACH_PORT_NULL } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';

export async function objectTerminate(pager: Pager, msg: MemoryObjectTerminate): Promise<void> {
  if (msg.control !== pager.control) {
    pager.requests.log(`pager ${pager.label}: terminate for control ${msg.control}, not ${pager.control}`);
    destroyRights(pager, msg);
    return;
  }
  await pager.writer.drain();
  await pager.waitUntil(() => pager.noterm === 0);
  destroyRights(pager, msg);
  for (const record of pager.lockRequests) record.locksPending = 0;
  for (const record of pager.attributeRequests) record.pending = 0;
  pager.control = MACH_PORT_NULL;
  pager.name = MACH_PORT_NULL;
  if (pager.state === 'normal') pager.state = 'notinit';
  pager.pagemap.keepOnlyErrors();
  pager.wakeup();
}

function destroyRights(pager: Pager, msg: MemoryObjectTerminate): void {
  for (const port of [msg.control, msg.name]) if (pager.space.hasName(port)) pager.space.destroyName(port);
}
