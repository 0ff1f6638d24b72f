/** memory_object_change_completed(reply, may_cache, copy_strategy): a change_attributes this pager waits on is done. */
import type { MemoryObjectChangeCompleted } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';

export function changeCompleted(pager: Pager, msg: MemoryObjectChangeCompleted): void {
  const record = pager.attributeRequests.find((r) => r.mayCache === msg.mayCache && r.copyStrategy === msg.copyStrategy);
  if (!record || record.pending === 0) return;
  record.pending--;
  pager.wakeup();
}
