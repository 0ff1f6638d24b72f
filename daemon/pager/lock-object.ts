/**
 * _pager_lock_object: send a memory_object_lock_request over a range and,
 * when asked to wait, wait for its lock_completed and for every write it
 * caused. sync, flush and return are this with different should_return and
 * should_flush. Two waits on the same range share one record, as in
 * libpager. The caller must not be a message handler of this pager (the
 * lock_completed it waits for is a later message on the same port).
 */
import { MACH_PORT_NULL, type MemoryObjectLockRequest, type ReturnPolicy, type VmProt } from '../../kernel/index.js';
import { PM_INCORE } from './pagemap.js';
import type { LockRecord, Pager } from './pager.js';

export async function lockObject(
  pager: Pager,
  offset: number,
  length: number,
  shouldReturn: ReturnPolicy,
  shouldFlush: boolean,
  lockValue: VmProt,
  wait: boolean,
): Promise<void> {
  if (pager.state !== 'normal' || length <= 0) return;
  const pageSize = pager.pageSize;
  const start = Math.floor(offset / pageSize) * pageSize;
  const end = Math.ceil((offset + length) / pageSize) * pageSize;
  let record: LockRecord | undefined;
  if (wait) {
    record = pager.lockRequests.find((r) => r.start === start && r.end === end);
    if (!record) {
      record = { start, end, locksPending: 0, waiters: 0 };
      pager.lockRequests.push(record);
    }
    record.locksPending++;
    record.waiters++;
  }
  const sent = pager.send<MemoryObjectLockRequest>({
    id: 'memory_object_lock_request',
    dest: pager.control,
    offset: start,
    size: end - start,
    shouldReturn,
    shouldFlush,
    lockValue,
    replyTo: wait ? pager.port : MACH_PORT_NULL,
  });
  if (!record) return;
  if (!sent) record.locksPending--;
  const waiting = record;
  // Done when the kernel said so and the pages it returned are written.
  await pager.waitUntil(
    () => pager.isDestroyed || (waiting.locksPending === 0 && !pager.writer.pendingIn(start / pageSize, end / pageSize)),
  );
  waiting.waiters--;
  if (waiting.waiters === 0) pager.lockRequests.splice(pager.lockRequests.indexOf(waiting), 1);
  if (shouldFlush) pager.pagemap.clearAll(PM_INCORE, start / pageSize, end / pageSize);
}
