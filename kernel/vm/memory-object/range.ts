/** Walking the pages a reply to a data_request covers. */
import type { Kernel } from '../kernel.js';
import type { VmObject } from '../object.js';
import { PG_ABSENT, PG_BUSY } from '../resident.js';

/**
 * Call `each` for every busy+absent placeholder (an outstanding request)
 * in [offset, offset + size). Checks the range is whole pages.
 */
export function forEachRequestedPage(
  vm: Kernel,
  object: VmObject,
  offset: number,
  size: number,
  what: string,
  each: (d: number) => void,
): void {
  const pageSize = vm.pageSize;
  if (offset % pageSize !== 0 || size <= 0 || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) {
    vm.protocolError(object, `${what} at ${offset} of ${size} bytes`);
    return;
  }
  const pages = vm.pages;
  const first = offset / pageSize;
  const end = first + Math.ceil(size / pageSize);
  for (const d of pages.range(object, first, end, object.residentCount + object.absentCount)) {
    if ((pages.flags[d] & (PG_BUSY | PG_ABSENT)) === (PG_BUSY | PG_ABSENT)) each(d);
  }
}
