/**
 * memory_object_lock_completed(reply, control, offset, length): a
 * lock_request this pager waits on is done. Records are matched by exact
 * range, as in libpager; the waiter also waits for the writes it caused.
 */
import type { MemoryObjectLockCompleted } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';

export function lockCompleted(pager: Pager, msg: MemoryObjectLockCompleted): void {
  if (msg.control !== pager.control) {
    pager.requests.log(`pager ${pager.label}: lock_completed for control ${msg.control} (EPERM)`);
    return;
  }
  const record = pager.lockRequests.find((r) => r.start === msg.offset && r.end === msg.offset + msg.length);
  if (!record || record.locksPending === 0) return;
  record.locksPending--;
  // Every data_return of the request came before this: its pages are all in the queued run, so
  // the waiter's writes start now rather than on the next turn of the event loop.
  if (record.locksPending === 0) pager.writer.startQueued();
  pager.wakeup();
}
