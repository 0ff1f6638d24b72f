/**
 * mincore for a memory object: which pages of [offset, offset + size) are
 * resident now, one byte a page, as mincore(2) answers for a mapping (the
 * bit names are macOS's, whose mincore reports more than Linux's). What
 * vmtouch and fincore show is read from here; nothing is faulted in, and
 * the replacement policy does not hear of the look (a query is no access).
 */
import type { Kernel } from './kernel.js';
import type { VmObject } from './object.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY } from './resident.js';

/** The page is resident (busy or absent placeholders are not: their data is not there yet). */
export const MINCORE_INCORE = 0x1;
/** Written and not yet returned to the pager. */
export const MINCORE_MODIFIED = 0x4;
/** Wired (vm_wire): resident until unwired, never a victim of the pageout daemon. */
export const MINCORE_WIRED = 0x40;

/** One byte per page of [offset, offset + size) of `object`: MINCORE_* bits, 0 for a page not resident. */
export function mincore(vm: Kernel, object: VmObject, offset: number, size: number): Uint8Array {
  const pages = vm.pages;
  const first = Math.floor(offset / vm.pageSize);
  const end = Math.ceil((offset + size) / vm.pageSize);
  const vec = new Uint8Array(Math.max(0, end - first));
  // A sparse object in a wide range: walk its pages, not the range.
  for (const d of pages.range(object, first, end, object.residentCount + object.absentCount)) {
    const flags = pages.flags[d];
    if (pages.isFictitious(d) || (flags & (PG_BUSY | PG_ABSENT)) !== 0) continue;
    let bits = MINCORE_INCORE;
    if ((flags & PG_DIRTY) !== 0) bits |= MINCORE_MODIFIED;
    if (pages.wireCount[d] > 0) bits |= MINCORE_WIRED;
    vec[pages.pageIndex[d] - first] = bits;
  }
  return vec;
}
