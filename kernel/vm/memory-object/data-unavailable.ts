/**
 * memory_object_data_unavailable(control, offset, size): the pager has no
 * data for these pages. Each busy+absent placeholder becomes plain absent
 * and its faults wake up to zero-fill it (there is no shadow to look in);
 * a page of the faulting copy's range that nobody waits on yet stays
 * absent for the copy to zero-fill when it gets there (or, if the copy
 * never does, until placeholders run low and it is reclaimed). A read-ahead
 * placeholder nobody waits on is simply dropped.
 */
import { dropPlaceholder, requestDone } from '../fault.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectDataUnavailable } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { PG_ABSENT, PG_BUSY, PG_PREFETCH } from '../resident.js';
import { forEachRequestedPage } from './range.js';

export function dataUnavailable(vm: Kernel, object: VmObject, msg: MemoryObjectDataUnavailable): void {
  forEachRequestedPage(vm, object, msg.offset, msg.size, msg.id, (d) => {
    const pages = vm.pages;
    if (pages.waiterCount(d) === 0 && (pages.flags[d] & PG_PREFETCH) !== 0) {
      dropPlaceholder(vm, object, d, 0);
      return;
    }
    pages.flags[d] = (pages.flags[d] & ~PG_BUSY) | PG_ABSENT;
    requestDone(object);
    vm.stalePlaceholders++;
    pages.wakeup(d, 0);
  });
}
