/** The checks every handler makes first: the right control port, whole aligned pages, state NORMAL. */
import type { Pager } from '../pager.js';

export function validRange(pager: Pager, msg: { id: string; control: number }, offset: number, length: number): boolean {
  if (pager.state !== 'normal') return false; // shut down or not initialised: requests are ignored
  if (msg.control !== pager.control) {
    pager.requests.log(`pager ${pager.label}: ${msg.id} for control ${msg.control}, not ${pager.control}`);
    return false;
  }
  const pageSize = pager.pageSize;
  if (offset % pageSize !== 0 || length <= 0 || length % pageSize !== 0 || !Number.isSafeInteger(offset)) {
    pager.requests.log(`pager ${pager.label}: ${msg.id} at ${offset} of ${length} bytes: not whole pages`);
    return false;
  }
  return true;
}
