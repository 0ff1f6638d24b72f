/**
 * Shadow chains in the fault path (the copy-on-write half of GNU Mach's
 * vm_fault_page). An object with a shadow holds only the pages it wrote or
 * had pushed into it; every other page is read from the shadow, down the
 * chain, and shared in the cache. A write to such a page first copies it
 * into the top object (a cow_fault). An object with a delayed copy pushes
 * a page into the copy before the first write changes it, so the copy
 * keeps the data as it was when it was made.
 */
import { fault, FAULT_SHADOW, heldBelow, readsThrough } from './fault.js';
import type { FaultWait } from './fault-wait.js';
import type { Kernel } from './kernel.js';
import { noteDirty, type VmObject } from './object.js';
import { VM_PROT_READ, VM_PROT_WRITE, type VmProt } from './prot.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY, PG_ERROR, PG_INITIAL, PG_TABLED } from './resident.js';

const NIL = -1;

/** The object lookupThroughChain found its page in. */
let foundIn: VmObject | undefined;

/**
 * The usable (not busy, not absent) page holding page `pageIndex` of
 * `object`'s data: in the object, or down its shadow chain; NIL when a
 * fault must bring it in. A page unavailable in an object with a shadow
 * (data_unavailable) and a page an internal object never held are looked
 * for below.
 */
export function lookupThroughChain(vm: Kernel, object: VmObject, pageIndex: number): number {
  const pages = vm.pages;
  let o: VmObject = object;
  let i = pageIndex;
  for (;;) {
    const d = pages.lookup(o.id, i);
    if (d !== NIL) {
      const flags = pages.flags[d];
      if ((flags & (PG_BUSY | PG_ABSENT)) === 0) {
        foundIn = o;
        return d;
      }
      if ((flags & (PG_BUSY | PG_ERROR)) !== 0 || !readsThrough(o, i)) return NIL;
    } else if (!heldBelow(o, i)) return NIL;
    i += o.shadowOffset;
    o = o.shadow as VmObject;
  }
}

/** The object the last successful lookupThroughChain found its page in. */
export function lastFoundIn(): VmObject | undefined {
  return foundIn;
}

/** Whether a write to page `pageIndex` of `object` must first push the page into its copy. */
export function needsPush(object: VmObject, pageIndex: number): boolean {
  const copy = object.copy;
  if (copy === undefined) return false;
  const i = pageIndex - copy.shadowOffset;
  return i >= 0 && i < copy.sizePages && !copy.existence.has(i);
}

/**
 * The fault path for objects in a chain: `fault` for the others. Resolves
 * to 0 when the page can be accessed (memcpy looks again and faults again
 * if it cannot), else an errno.
 */
export function faultPage(vm: Kernel, object: VmObject, pageIndex: number, access: VmProt, want: number, cluster: number, wait?: FaultWait): Promise<number> {
  if (object.shadow === undefined && object.copy === undefined) return fault(vm, object, pageIndex, access, want, cluster, wait);
  if ((access & VM_PROT_WRITE) === 0) return readFault(vm, object, pageIndex, want, cluster, wait);
  return writeFault(vm, object, pageIndex);
}

/** Make the page resident where its data is: in the object or down the chain. */
async function readFault(vm: Kernel, object: VmObject, pageIndex: number, want: number, cluster: number, wait?: FaultWait): Promise<number> {
  let o = object;
  let i = pageIndex;
  for (;;) {
    const error = await fault(vm, o, i, VM_PROT_READ, want, cluster, wait);
    if (error !== FAULT_SHADOW) return error;
    i += o.shadowOffset;
    o = o.shadow as VmObject;
  }
}

async function writeFault(vm: Kernel, object: VmObject, pageIndex: number): Promise<number> {
  const error = object.shadow === undefined ? await fault(vm, object, pageIndex, VM_PROT_WRITE, 1, 1) : await cowFault(vm, object, pageIndex);
  if (error !== 0) return error;
  return needsPush(object, pageIndex) ? pushToCopy(vm, object, pageIndex) : 0;
}

/**
 * A write to a page of an object with a shadow: its own page if it has
 * one, else the data comes up the chain into a private page of the top
 * object (vm_fault_page's copy-on-write, counted as cow_faults).
 */
async function cowFault(vm: Kernel, object: VmObject, pageIndex: number): Promise<number> {
  const pages = vm.pages;
  const shadow = object.shadow as VmObject;
  for (;;) {
    const own = await fault(vm, object, pageIndex, VM_PROT_WRITE, 1, 1);
    if (own !== FAULT_SHADOW) return own;
    const below = pageIndex + object.shadowOffset;
    const read = await readFault(vm, shadow, below, 1, 1);
    if (read !== 0) return read;
    const source = lookupThroughChain(vm, shadow, below);
    if (source === NIL) continue; // taken away meanwhile: look again
    const frame = vm.grabFrame();
    if (frame === NIL) {
      await vm.waitForFrame();
      continue;
    }
    // The wait for a frame is over; did someone else install the page meanwhile?
    const placeholder = pages.lookup(object.id, pageIndex);
    if (placeholder !== NIL && (pages.flags[placeholder] & (PG_ABSENT | PG_BUSY)) !== PG_ABSENT) {
      pages.release(frame);
      continue;
    }
    copyFrame(vm, source, frame);
    installPage(vm, object, pageIndex, frame, false);
    vm.stats.cow_faults++;
    return 0;
  }
}

/**
 * Before the first write to a page of an object with a delayed copy, put
 * the page as it is now into the copy (vm_fault_page's push). The pushed
 * page's first write-out is memory_object_data_initialize.
 */
async function pushToCopy(vm: Kernel, object: VmObject, pageIndex: number): Promise<number> {
  const copy = object.copy as VmObject;
  const own = vm.pages.lookup(copy.id, pageIndex - copy.shadowOffset);
  if (own !== NIL && (vm.pages.flags[own] & PG_ABSENT) === 0) {
    // The copy has a page there already (its pager supplied it): it is the copy's for good.
    if ((vm.pages.flags[own] & PG_BUSY) !== 0) return vm.pages.wait(own).then(() => 0);
    if ((vm.pages.flags[own] & PG_DIRTY) === 0) {
      vm.setDirty(own, copy);
      vm.pages.flags[own] = vm.pages.flags[own] | PG_INITIAL;
    }
    copy.existence.add(pageIndex - copy.shadowOffset);
    return 0;
  }
  const source = vm.pages.lookup(object.id, pageIndex);
  if (source === NIL || (vm.pages.flags[source] & (PG_BUSY | PG_ABSENT)) !== 0) return 0; // memcpy faults again
  const frame = vm.grabFrame();
  if (frame === NIL) {
    await vm.waitForFrame();
    return 0;
  }
  // Looked up again: the push may have been made while this one waited.
  if (!needsPush(object, pageIndex) || vm.pages.lookup(object.id, pageIndex) !== source) {
    vm.pages.release(frame);
    return 0;
  }
  copyFrame(vm, source, frame);
  installPage(vm, copy, pageIndex - copy.shadowOffset, frame, true);
  vm.stats.copy_pushes++;
  return 0;
}

function copyFrame(vm: Kernel, from: number, to: number): void {
  const pages = vm.pages;
  const start = pages.chunkOffset(from);
  pages.chunkOf(from).copy(pages.chunkOf(to), pages.chunkOffset(to), start, start + vm.pageSize);
}

/**
 * Put a frame holding a page's data into `object` at `pageIndex`, dirty
 * (it exists nowhere else for this object), in place of an unavailable
 * placeholder if there is one. `initial`: a page pushed into a copy.
 */
export function installPage(vm: Kernel, object: VmObject, pageIndex: number, frame: number, initial: boolean): void {
  const pages = vm.pages;
  const placeholder = pages.lookup(object.id, pageIndex);
  if (placeholder !== NIL) pages.replace(placeholder, frame, object);
  else pages.insert(frame, object, pageIndex);
  pages.flags[frame] = PG_TABLED | PG_DIRTY | (initial ? PG_INITIAL : 0);
  pages.pageLock[frame] = 0;
  pages.unlockRequest[frame] = 0;
  object.dirtyCount++;
  noteDirty(object, pageIndex);
  object.residentCount++;
  if (object.internal || object.existenceKnown) object.existence.add(pageIndex);
  vm.pageIn(frame, object, false);
  if (placeholder !== NIL) {
    pages.wakeup(placeholder, 0);
    pages.release(placeholder);
  }
}

/**
 * Push every page of [first, end) that the object's delayed copy has not
 * got yet, leaving the data as it is: what ext2fs's force_delayed_copies
 * does by touching the pages before a truncate, so that copies keep the
 * old data when the pager then changes it. Resolves to 0 or an errno.
 */
export async function pushRange(vm: Kernel, object: VmObject, first: number, end: number): Promise<number> {
  for (let i = first; i < end; ) {
    if (!needsPush(object, i)) {
      i++;
      continue;
    }
    const d = vm.pages.lookup(object.id, i);
    if (d === NIL || (vm.pages.flags[d] & (PG_BUSY | PG_ABSENT)) !== 0) {
      const error = await readFault(vm, object, i, end - i, end - i);
      if (error !== 0) return error;
      continue;
    }
    const error = await pushToCopy(vm, object, i);
    if (error !== 0) return error;
  }
  return 0;
}
