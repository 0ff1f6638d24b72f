/**
 * A delayed copy between two objects that each have a pager (what
 * `machpager snapshot` asks of the page cache): vm_object_copy_delayed with
 * the copy object being an existing object rather than a new internal one.
 * The copy shadows the source and becomes its `copy`: the copy's pager
 * answers data_unavailable for the pages it does not hold, and the kernel
 * reads them from the source's resident pages (shared in the cache); a
 * write to the source pushes the old page into the copy first (copy_pushes,
 * written out with data_initialize); a write to the copy is a cow_fault.
 *
 * The existence set of the copy says which pages it holds itself: those its
 * pager holds (given at the link), and those pushed into it or written
 * since. A page the source has dirty at the link counts as held too: its
 * data as of the link is in the source's store, which the copy's pager
 * reads through to, not in the source's page.
 */
import { dropPlaceholder } from './fault.js';
import type { Kernel } from './kernel.js';
import type { VmObject } from './object.js';
import { releaseObject } from './object-lifecycle.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY } from './resident.js';

/**
 * Make `copy` a delayed copy of the first `pages` pages of `source`.
 * `held`: the pages the copy's pager holds itself. Refused (false, nothing
 * changed) when either is already in such a link, when they are the same
 * object, when one is not alive, or while the source has pages in the
 * laundry (their data is neither in its pages nor in its store).
 */
export function linkDelayedCopy(vm: Kernel, copy: VmObject, source: VmObject, pages: number, held: Iterable<number>): boolean {
  if (copy === source || copy.shadow !== undefined || source.copy !== undefined || copy.copy !== undefined) return false;
  if (!copy.alive || !source.alive || source.laundry > 0) return false;
  // The source must not be below the copy already (a chain that would loop).
  for (let o: VmObject | undefined = source; o !== undefined; o = o.shadow) if (o === copy) return false;
  const table = vm.pages;
  // Unavailable answers of its pager so far meant zeros; from now on a page it does not hold is the source's.
  dropUnavailable(vm, copy, 0, Infinity);
  copy.existence.clear();
  for (const i of held) if (i < pages) copy.existence.add(i);
  for (const d of table.memq(copy)) {
    const i = table.pageIndex[d];
    if (i < pages && (table.flags[d] & (PG_BUSY | PG_ABSENT)) === 0) copy.existence.add(i);
  }
  for (const d of table.memq(source)) {
    const i = table.pageIndex[d];
    if (i < pages && (table.flags[d] & (PG_DIRTY | PG_BUSY)) !== 0) copy.existence.add(i);
  }
  copy.shadow = source;
  copy.shadowOffset = 0;
  copy.sizePages = pages;
  copy.existenceKnown = true;
  source.refCount++;
  source.copy = copy;
  return true;
}

/**
 * The source's pages [first, end) are about to change under the kernel (a
 * truncate): the copy holds them itself from now on, and reads them from its
 * own pager (which has them, or reads them where the source's pager keeps
 * them as of the link: pages the source changed since were pushed already).
 */
export function handOverToCopy(vm: Kernel, source: VmObject, first: number, end: number): void {
  const copy = source.copy;
  if (copy === undefined || copy.shadow !== source) return;
  const stop = Math.min(end, copy.sizePages);
  if (stop <= first) return;
  if (stop >= copy.sizePages) {
    limitDelayedCopy(vm, copy, first);
    return;
  }
  dropUnavailable(vm, copy, first, stop);
  for (let i = first; i < stop; i++) copy.existence.add(i);
}

/** The copy keeps only its first `pages` pages of the source (it was truncated): the rest it holds itself, as zeros. */
export function limitDelayedCopy(vm: Kernel, copy: VmObject, pages: number): void {
  if (copy.shadow === undefined || pages >= copy.sizePages) return;
  copy.sizePages = pages;
  dropUnavailable(vm, copy, pages, Infinity);
  for (const i of [...copy.existence]) if (i >= pages) copy.existence.delete(i);
  if (pages === 0) unlinkDelayedCopy(vm, copy);
}

/** Cut a copy off its source: it reads what it does not hold from its own pager again. */
export function unlinkDelayedCopy(vm: Kernel, copy: VmObject): void {
  const source = copy.shadow;
  if (source === undefined) return;
  copy.shadow = undefined;
  if (source.copy === copy) source.copy = undefined;
  forgetShadow(vm, copy);
  releaseObject(vm, source);
}

/**
 * An external object leaves a chain: the data_unavailable answers that
 * sent its faults to the shadow would now zero-fill, so they go (the next
 * fault asks its pager again), and so does its existence set.
 */
export function forgetShadow(vm: Kernel, object: VmObject): void {
  if (object.internal) return;
  dropUnavailable(vm, object, 0, Infinity);
  object.existence.clear();
  object.existenceKnown = false;
  object.sizePages = Infinity;
}

/** Free the unavailable placeholders (absent, not busy) of pages [from, end) of `object`: a fault there asks its pager again. */
function dropUnavailable(vm: Kernel, object: VmObject, from: number, end: number): void {
  const table = vm.pages;
  for (const d of [...table.memq(object)]) {
    const i = table.pageIndex[d];
    if ((table.flags[d] & (PG_ABSENT | PG_BUSY)) === PG_ABSENT && i >= from && i < end) dropPlaceholder(vm, object, d, 0);
  }
}

