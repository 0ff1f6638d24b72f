/**
 * memory_object_lock_request(control, offset, size, should_return,
 * should_flush, lock_value, reply_to) (memory_object_lock_page): for each
 * resident page of the range, in offset order:
 * - absent: a request outstanding is skipped; a page the pager had no data
 *   for (data_unavailable, not yet zero-filled) is dropped by a flush; busy: any batch being built
 *   is sent, then we wait and look again; wired: waited for if it would
 *   be flushed or relocked (returned without a flush, it is cleaned in place).
 * - lock: should_flush counts as lock ALL; otherwise lock_value unless
 *   NO_CHANGE. A new lock clears unlock_request and wakes the faults
 *   waiting for it (that is how data_unlock is answered).
 * - return: with should_return DIRTY, dirty pages; with ALL, clean precious
 *   pages too (dirty=false). Contiguous pages of one kind go in one
 *   data_return of at most 32 pages, kernel_copy = !should_flush. Without
 *   flush the kernel keeps a clean copy (precious stays precious).
 * - flush: the page goes; dirty data is discarded unless returned.
 * Then lock_completed goes to reply_to, after every data_return it caused.
 */
import { MACH_PORT_NULL } from '../../ipc/message.js';
import { ReturnBatch } from '../data-return.js';
import { dropPlaceholder } from '../fault.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectLockCompleted, MemoryObjectLockRequest } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { collectIfEmpty } from '../object-lifecycle.js';
import {
  isReturnPolicy,
  MEMORY_OBJECT_RETURN_ALL,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_ALL,
  VM_PROT_NO_CHANGE,
  type ReturnPolicy,
  type VmProt,
} from '../prot.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY, PG_PRECIOUS, PG_WANTED } from '../resident.js';

export async function lockRequest(vm: Kernel, object: VmObject, msg: MemoryObjectLockRequest): Promise<void> {
  const pageSize = vm.pageSize;
  const valid =
    Number.isSafeInteger(msg.offset) &&
    Number.isSafeInteger(msg.size) &&
    msg.offset >= 0 &&
    msg.size >= 0 &&
    msg.offset % pageSize === 0 &&
    isReturnPolicy(msg.shouldReturn) &&
    (msg.lockValue === VM_PROT_NO_CHANGE || (msg.lockValue & ~VM_PROT_ALL) === 0);
  if (!valid) {
    vm.protocolError(object, `lock_request at ${msg.offset} of ${msg.size} bytes, return ${msg.shouldReturn}, lock ${msg.lockValue}`);
    return;
  }
  vm.stats.lock_requests++;
  const first = msg.offset / pageSize;
  const end = first + Math.ceil(msg.size / pageSize);
  await lockPages(vm, object, first, end, msg.shouldReturn, msg.shouldFlush, msg.lockValue);
  if (msg.replyTo !== MACH_PORT_NULL) {
    vm.reply({
      id: 'memory_object_lock_completed',
      dest: msg.replyTo,
      control: object.control,
      offset: msg.offset,
      length: msg.size,
    } satisfies MemoryObjectLockCompleted);
  }
}

/**
 * The page loop of lock_request, also used by termination. Pages
 * [first, end) (end may be Infinity for the whole object).
 */
export async function lockPages(
  vm: Kernel,
  object: VmObject,
  first: number,
  end: number,
  shouldReturn: ReturnPolicy,
  shouldFlush: boolean,
  lockValue: VmProt,
): Promise<void> {
  const pages = vm.pages;
  const lock = shouldFlush ? VM_PROT_ALL : lockValue;
  if (!shouldFlush && lock === VM_PROT_NO_CHANGE && (shouldReturn !== MEMORY_OBJECT_RETURN_ALL || !object.preciousSupplied) && object.pagingInProgress === 0) {
    // A sync (return dirty, and clean precious pages of which there are none; keep; no lock
    // change) touches dirty pages only, and with no page double-paged (a busy holding page it
    // must wait for) it need not look past them.
    first = Math.max(first, object.dirtyFirst);
    end = Math.min(end, object.dirtyEnd);
  }
  const batch = new ReturnBatch(vm, object, !shouldFlush);
  const indexes = pages
    .range(object, first, Math.min(end, Number.MAX_SAFE_INTEGER), object.residentCount + object.absentCount)
    .map((d) => pages.pageIndex[d]);
  for (const pageIndex of indexes) {
    for (;;) {
      const d = pages.lookup(object.id, pageIndex);
      if (d < 0) break;
      const flags = pages.flags[d];
      if (flags & PG_ABSENT) {
        // A page the pager said it has no data for is forgotten by a flush: the next fault asks it
        // again (after a truncate, a write there is promised room again: store-pager.ts).
        if (shouldFlush && (flags & PG_BUSY) === 0) dropPlaceholder(vm, object, d, 0);
        break;
      }
      if (flags & PG_BUSY) {
        batch.flush();
        await pages.wait(d);
        continue;
      }
      const dirty = (flags & PG_DIRTY) !== 0;
      const returning =
        shouldReturn !== MEMORY_OBJECT_RETURN_NONE &&
        (dirty || ((flags & PG_PRECIOUS) !== 0 && shouldReturn === MEMORY_OBJECT_RETURN_ALL));
      if (pages.wireCount[d] > 0 && (shouldFlush || (lock !== VM_PROT_NO_CHANGE && lock !== pages.pageLock[d]))) {
        // A wired page can be flushed or relocked only once it is unwired. Returned without a flush it
        // is cleaned in place (a copy goes back; GNU Mach's memory_object_lock_page does the same), so
        // an fsync of a file locked by vmtouch -l does not wait for the lock to end.
        batch.flush();
        await pages.wait(d);
        continue;
      }
      if (lock !== VM_PROT_NO_CHANGE) {
        pages.pageLock[d] = lock;
        pages.unlockRequest[d] = 0;
        if (flags & PG_WANTED) pages.wakeup(d, 0);
      }
      if (returning) {
        if (shouldFlush) {
          vm.detachPage(d, object);
          batch.add(pageIndex, d, dirty);
        } else {
          // Keep a clean copy: the data_return gets a copy in a frame of its own. Copies go out as
          // fast as frames allow, and what the pager has not written is memory beyond the cache:
          // past a quarter of the pool in flight for this object, wait for its pager to write some.
          if (object.laundry >= Math.min(vm.externalLaundryMax, 2048) && !vm.isShutDown && object.hasPager()) {
            batch.flush();
            await vm.pageout.waitForLaundry();
            continue;
          }
          if (!batch.fits(pageIndex, dirty)) batch.flush();
          const copy = vm.grabFrame(true);
          if (copy < 0) {
            batch.flush();
            await vm.waitForFrame();
            continue;
          }
          pages.frameData(d).copy(pages.frameData(copy));
          vm.clearDirty(d, object);
          batch.add(pageIndex, copy, dirty);
        }
      } else if (shouldFlush) {
        vm.freePage(d, object); // pager_flush: dirty data is discarded, as asked

      }
      break;
    }
  }
  batch.flush();
  if (shouldFlush) collectIfEmpty(vm, object);
}
