/**
 * memory_object_data_error(control, offset, size, error_value): the pages
 * could not be had. The faults waiting on them now fail with the error
 * (GNU Mach drops error_value; we hand it to the faulting access, limited
 * to what a pager may report: EIO, ENOSPC, EDQUOT). The placeholders go:
 * the next access asks again.
 */
import { pagerError } from '../errno.js';
import { dropPlaceholder } from '../fault.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectDataError } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { forEachRequestedPage } from './range.js';

export function dataError(vm: Kernel, object: VmObject, msg: MemoryObjectDataError): void {
  const errno = pagerError(msg.errorValue);
  forEachRequestedPage(vm, object, msg.offset, msg.size, msg.id, (d) => {
    vm.stats.page_errors++;
    dropPlaceholder(vm, object, d, errno);
  });
}
