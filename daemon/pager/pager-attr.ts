/**
 * pager_change_attributes: change may_cache and the copy strategy. Nothing
 * to do if nothing changes (unless earlier changes are still pending);
 * before init the values are only stored for memory_object_ready. With
 * `wait`, returns after the kernel's change_completed for this change (which
 * comes after the terminate, if uncaching ended the object).
 */
import { MACH_PORT_NULL, type CopyStrategy, type MemoryObjectChangeAttributes } from '../../kernel/index.js';
import type { AttributeRecord, Pager } from './pager.js';

export async function changeAttributes(pager: Pager, mayCache: boolean, copyStrategy: CopyStrategy, wait: boolean): Promise<void> {
  const pending = pager.attributeRequests.some((r) => r.pending > 0);
  if (pager.mayCache === mayCache && pager.copyStrategy === copyStrategy && !pending) return;
  pager.mayCache = mayCache;
  pager.copyStrategy = copyStrategy;
  if (pager.state !== 'normal') return;
  let record: AttributeRecord | undefined;
  if (wait) {
    record = pager.attributeRequests.find((r) => r.mayCache === mayCache && r.copyStrategy === copyStrategy);
    if (!record) {
      record = { mayCache, copyStrategy, pending: 0, waiters: 0 };
      pager.attributeRequests.push(record);
    }
    record.pending++;
    record.waiters++;
  }
  const sent = pager.send<MemoryObjectChangeAttributes>({
    id: 'memory_object_change_attributes',
    dest: pager.control,
    mayCache,
    copyStrategy,
    replyTo: wait ? pager.port : MACH_PORT_NULL,
  });
  if (!record) return;
  if (!sent) record.pending--;
  const waiting = record;
  await pager.waitUntil(() => pager.isDestroyed || waiting.pending === 0);
  waiting.waiters--;
  if (waiting.waiters === 0) pager.attributeRequests.splice(pager.attributeRequests.indexOf(waiting), 1);
}
