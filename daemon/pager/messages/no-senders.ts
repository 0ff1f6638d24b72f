/**
 * No send rights to the pager's port are left (the kernel gave its right
 * back with terminate, and no client holds one). If the owner has released
 * the pager as well, it is freed (pager_clear_user_data); otherwise it stays
 * for the next map, and the next send right made arms a new notification.
 * A stale notification (a send right was made since it was sent) is
 * ignored and asked for again.
 */
import type { NoSendersNotification } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';

export function noSenders(pager: Pager, msg: NoSendersNotification): void {
  pager.noSenders(msg.mscount);
}
