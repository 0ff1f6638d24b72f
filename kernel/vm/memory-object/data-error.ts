/**
 * memory_object_data_error(control, offset, size, error_value): the pages
 * could not be had. Faults waiting on a page now fail with the error (GNU
 * Mach drops error_value; we hand it to the faulting access, limited to
 * what a pager may report: EIO, ENOSPC, EDQUOT). A requested page nobody
 * waits on yet becomes an error page (m->error): the first fault to find it
 * fails and frees it. Read-ahead pages just go, and a fault that waits on
 * one wakes to ask again for itself. After that, the next access
 * asks again. Error pages nobody comes for (the rest of a cluster whose copy
 * stopped at its first page) are reclaimed when placeholders run low.
 */
import { pagerError } from '../errno.js';
import { dropPlaceholder, requestDone } from '../fault.js';
import { PG_BUSY, PG_ERROR, PG_PREFETCH } from '../resident.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectDataError } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { forEachRequestedPage } from './range.js';

export function dataError(vm: Kernel, object: VmObject, msg: MemoryObjectDataError): void {
  const errno = pagerError(msg.errorValue);
  const pages = vm.pages;
  forEachRequestedPage(vm, object, msg.offset, msg.size, msg.id, (d) => {
    vm.stats.page_errors++;
    const flags = pages.flags[d];
    if ((flags & PG_PREFETCH) !== 0) {
      // Read-ahead nobody asked for failed: a reader that caught up with it asks again for
      // itself and gets the pager's answer to that (Linux retries a failed read-ahead page
      // with a read of its own), not an error left by a request it did not make.
      dropPlaceholder(vm, object, d, 0);
      return;
    }
    if (pages.waiterCount(d) > 0) {
      dropPlaceholder(vm, object, d, errno);
      return;
    }
    requestDone(object);
    pages.flags[d] = (flags & ~PG_BUSY) | PG_ERROR;
    pages.errorCode[d] = errno;
    vm.stalePlaceholders++;
  });
}
