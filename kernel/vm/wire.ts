/**
 * vm_wire / vm_unwire: keep pages resident. A wired page leaves the
 * policy (the pageout daemon never sees it) until its wire count drops to
 * zero; lock_request waits for it if it would have to change it.
 */
import type { Kernel } from './kernel.js';
import type { VmObject } from './object.js';
import { VM_PROT_WRITE, type VmProt } from './prot.js';
import { faultPage } from './shadow.js';

export async function wirePages(vm: Kernel, object: VmObject, offset: number, size: number, access: VmProt): Promise<number> {
  const pages = vm.pages;
  const first = Math.floor(offset / vm.pageSize);
  const end = Math.ceil((offset + size) / vm.pageSize);
  for (let i = first; i < end; ) {
    const d = pages.lookup(object.id, i);
    if (d >= 0 && !pages.isFictitious(d) && (pages.pageLock[d] & access) === 0) {
      if (pages.wireCount[d] === 0) {
        vm.untrack(d);
        vm.wiredPages++;
      }
      pages.wireCount[d] = pages.wireCount[d] + 1;
      i++;
      continue;
    }
    // A page of a shadow chain is wired as a private copy (Mach copies on wiring a copy-on-write entry).
    const error = await faultPage(vm, object, i, object.shadow !== undefined ? access | VM_PROT_WRITE : access, end - i, end - i);
    if (error !== 0) {
      unwirePages(vm, object, offset, (i - first) * vm.pageSize);
      return error;
    }
  }
  return 0;
}

export function unwirePages(vm: Kernel, object: VmObject, offset: number, size: number): void {
  const pages = vm.pages;
  const first = Math.floor(offset / vm.pageSize);
  const end = Math.ceil((offset + size) / vm.pageSize);
  for (let i = first; i < end; i++) {
    const d = pages.lookup(object.id, i);
    if (d < 0 || pages.isFictitious(d) || pages.wireCount[d] === 0) continue;
    pages.wireCount[d] = pages.wireCount[d] - 1;
    if (pages.wireCount[d] === 0) {
      vm.wiredPages--;
      vm.track(d, object, false);
      pages.wakeup(d, 0);
    }
  }
}
