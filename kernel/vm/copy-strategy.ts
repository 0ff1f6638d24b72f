/**
 * vm_object_copy_strategically: a private copy of a range of an object,
 * made the way the object's pager asked for in ready / change_attributes.
 *
 * - COPY_NONE (vm_object_copy_slowly): every page is faulted in and copied
 *   now into a new internal object.
 * - COPY_CALL (vm_object_copy_call): the kernel makes a new memory object
 *   port, sends memory_object_copy with its receive right to the pager,
 *   write-locks the source's resident pages in the range (a write to them
 *   then asks the pager with data_unlock first), and maps the new object
 *   (init follows) with the source as its shadow: what its pager answers
 *   data_unavailable for is read from the source.
 * - COPY_DELAY and COPY_TEMPORARY (vm_object_copy_delayed): a copy object
 *   shadows the source and becomes its `copy`; the source pushes a page into
 *   it before a write changes it. An older copy now shadows the new one. The
 *   caller gets a private object above the copy object, which collapses into
 *   it when nothing else uses it. Internal objects are copied this way too.
 *
 * The copy decision waits for pager_ready.
 */
import { KernError, KERN_INVALID_ARGUMENT, KERN_MEMORY_ERROR } from '../ipc/kern-return.js';
import { collapse } from './collapse.js';
import type { Kernel } from './kernel.js';
import type { MemoryObjectCopy } from './memory-object-defs.js';
import type { VmWindow } from './map.js';
import type { VmObject } from './object.js';
import { createInternalObject, enterObject } from './object-lifecycle.js';
import { MEMORY_OBJECT_COPY_CALL, MEMORY_OBJECT_COPY_NONE, VM_PROT_READ, VM_PROT_WRITE } from './prot.js';
import { PG_ABSENT, PG_BUSY } from './resident.js';
import { faultPage, installPage, lookupThroughChain } from './shadow.js';

const NIL = -1;

/** A private copy of [offset, offset + size) of `src` (the caller holds a reference to it), as a window at 0. */
export async function copyStrategically(vm: Kernel, src: VmObject, offset: number, size: number): Promise<VmWindow> {
  while (!src.pagerReady && src.alive) {
    const timedOut = await vm.timeouts.waitForReady(src);
    if (timedOut !== 0) throw new KernError(KERN_MEMORY_ERROR, `object ${src.id}: its pager never became ready`);
  }
  if (!src.alive) throw new KernError(KERN_INVALID_ARGUMENT, `object ${src.id} is ${src.state}`);
  if (!src.internal && src.copyStrategy === MEMORY_OBJECT_COPY_NONE) return copySlowly(vm, src, offset, size);
  if (!src.internal && src.copyStrategy === MEMORY_OBJECT_COPY_CALL) return copyCall(vm, src, offset, size);
  return copyDelayed(vm, src, offset, size);
}

/** COPY_NONE: fault in every page of the range and copy it now. */
async function copySlowly(vm: Kernel, src: VmObject, offset: number, size: number): Promise<VmWindow> {
  const copy = createInternalObject(vm, size);
  copy.refCount++;
  const window = vm.mapCopy(copy, size);
  const first = offset / vm.pageSize;
  const count = Math.ceil(size / vm.pageSize);
  for (let i = 0; i < count; ) {
    const source = lookupThroughChain(vm, src, first + i);
    if (source === NIL) {
      const error = await faultPage(vm, src, first + i, VM_PROT_READ, count - i, count - i);
      if (error !== 0) {
        window.deallocate();
        throw new KernError(KERN_MEMORY_ERROR, `copy of object ${src.id}: page ${first + i} failed with errno ${error}`);
      }
      continue;
    }
    const frame = vm.grabFrame();
    if (frame === NIL) {
      await vm.waitForFrame();
      continue; // the source page may have gone meanwhile: look again
    }
    const start = vm.pages.chunkOffset(source);
    vm.pages.chunkOf(source).copy(vm.pages.chunkOf(frame), vm.pages.chunkOffset(frame), start, start + vm.pageSize);
    installPage(vm, copy, i, frame, false);
    i++;
  }
  return window;
}

/** COPY_CALL: memory_object_copy to the pager; the new object shadows the source. */
async function copyCall(vm: Kernel, src: VmObject, offset: number, size: number): Promise<VmWindow> {
  const port = vm.space.allocatePort();
  vm.space.makeSend(port); // kept to map the new object once its receive right has gone to the pager
  const sent = vm.send({
    id: 'memory_object_copy',
    dest: src.pager,
    control: src.control,
    offset,
    length: size,
    newObject: port,
  } satisfies MemoryObjectCopy);
  if (!sent) {
    vm.space.destroyName(port);
    throw new KernError(KERN_MEMORY_ERROR, `object ${src.id}: memory_object_copy could not be sent`);
  }
  // Writes to the source now ask the pager first, which keeps what the copy needs.
  const pages = vm.pages;
  const first = offset / vm.pageSize;
  const end = first + Math.ceil(size / vm.pageSize);
  for (const d of pages.memq(src)) {
    const i = pages.pageIndex[d];
    if (i >= first && i < end && (pages.flags[d] & (PG_BUSY | PG_ABSENT)) === 0) pages.pageLock[d] = pages.pageLock[d] | VM_PROT_WRITE;
  }
  const copy = await enterObject(vm, port);
  setShadow(copy, src, first);
  return vm.mapCopy(copy, size);
}

/** COPY_DELAY / COPY_TEMPORARY: a copy object in the source's chain, and a private object above it. */
function copyDelayed(vm: Kernel, src: VmObject, offset: number, size: number): VmWindow {
  const copy = createInternalObject(vm, offset + size);
  setShadow(copy, src, 0);
  const old = src.copy;
  if (old !== undefined && old.shadow === src) {
    // The older copy keeps what was pushed into it and reads the rest through the new one.
    old.shadow = copy;
    copy.refCount++;
    src.refCount--; // old's reference, given to copy's: the caller still holds one on src
  }
  src.copy = copy;
  const top = createInternalObject(vm, size);
  top.refCount++;
  top.sizePages = Math.ceil(size / vm.pageSize);
  setShadow(top, copy, offset / vm.pageSize);
  collapse(vm, top);
  return vm.mapCopy(top, size);
}

function setShadow(object: VmObject, shadow: VmObject, shadowOffset: number): void {
  object.shadow = shadow;
  object.shadowOffset = shadowOffset;
  shadow.refCount++;
}
