/**
 * memory_object_data_return(object, control, offset, data, dirty,
 * kernel_copy) — the Hurd's "m_o_return": the kernel gives pages back.
 * Dirty pages go to the write-behind queue (written in runs through
 * writePages, see write-behind.ts). A clean precious page needs no write:
 * if the kernel kept no copy, it only means the page was evicted
 * (notifyEvict once, unless a request for it is waiting). The pager owns
 * `data` from here on.
 */
import type { MemoryObjectDataReturn } from '../../../kernel/index.js';
import { PM_INCORE, PM_PAGEINWAIT } from '../pagemap.js';
import type { Pager } from '../pager.js';
import { notifyEvict } from '../write-behind.js';
import { validRange } from './validate.js';

export function dataReturn(pager: Pager, msg: MemoryObjectDataReturn): void | Promise<void> {
  if (!validRange(pager, msg, msg.offset, msg.data.length)) return;
  pager.stats.data_returns++;
  const first = msg.offset / pager.pageSize;
  if (msg.dirty) return pager.writer.add(first, msg.data, msg.kernelCopy);
  // Clean precious pages: nothing to write; the memory goes back (vm_deallocate).
  pager.space.system.memory.deallocate(msg.data);
  if (msg.kernelCopy) return;
  const count = msg.data.length / pager.pageSize;
  for (let page = first; page < first + count; page++) {
    if (pager.pagemap.has(page, PM_PAGEINWAIT)) continue;
    pager.pagemap.clear(page, PM_INCORE);
    if (pager.notifyOnEvict) notifyEvict(pager, page);
  }
}
