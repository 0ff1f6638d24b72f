/**
 * Messages libpager does not serve either: memory_object_copy (copy
 * strategy CALL: a pager that asks for it must handle it), supply_completed
 * (libpager never asks for it), and the default pager's create. They are
 * logged; nothing else happens.
 */
import type { KernelToPagerMessage } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';

export function unsupported(pager: Pager, msg: KernelToPagerMessage): void {
  pager.requests.log(`pager ${pager.label}: ${msg.id} not supported (EOPNOTSUPP)`);
}
