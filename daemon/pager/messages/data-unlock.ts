/**
 * memory_object_data_unlock(object, control, offset, length, access): a
 * write faulted on a write-locked page. unlockPage (allocate, check quota)
 * decides:
 * - yes: lock_request lowering the lock to NONE, asynchronously (waiting
 *   for its lock_completed here would wait for a message queued behind
 *   this one: libpager 385d9bf1);
 * - no: flush the page and save the error for the next request asking for
 *   write access; the fault asks again, gets data_error with that error,
 *   and the write fails with it (ENOSPC, EDQUOT or EIO).
 * Only single-page write unlocks are served (as libpager).
 */
import {
  MACH_PORT_NULL,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_NONE,
  VM_PROT_WRITE,
  type MemoryObjectDataUnlock,
  type MemoryObjectLockRequest,
} from '../../../kernel/index.js';
import { pagerErrno } from '../errors.js';
import type { Pager } from '../pager.js';
import { validRange } from './validate.js';

export async function dataUnlock(pager: Pager, msg: MemoryObjectDataUnlock): Promise<void> {
  if (!validRange(pager, msg, msg.offset, msg.length)) return;
  if ((msg.desiredAccess & VM_PROT_WRITE) === 0 || msg.length !== pager.pageSize) {
    pager.requests.log(`pager ${pager.label}: data_unlock of ${msg.length} bytes for access ${msg.desiredAccess} ignored`);
    return;
  }
  pager.stats.unlocks++;
  pager.noterm++;
  try {
    await pager.callbacks.unlockPage(msg.offset);
    lock(pager, msg.offset, false, VM_PROT_NONE);
  } catch (err) {
    const errno = pagerErrno(err);
    pager.stats.unlock_errors++;
    pager.pagemap.setNextError(msg.offset / pager.pageSize, errno);
    lock(pager, msg.offset, true, VM_PROT_WRITE);
  } finally {
    pager.noterm--;
    pager.wakeup();
  }
}

function lock(pager: Pager, offset: number, flush: boolean, lockValue: number): void {
  pager.send<MemoryObjectLockRequest>({
    id: 'memory_object_lock_request',
    dest: pager.control,
    offset,
    size: pager.pageSize,
    shouldReturn: MEMORY_OBJECT_RETURN_NONE,
    shouldFlush: flush,
    lockValue,
    replyTo: MACH_PORT_NULL,
  });
}
