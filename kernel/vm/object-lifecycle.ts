/**
 * The life of a memory object in the kernel (vm_object.c): entering a
 * pager's port (init, or a hit in the object cache), dropping references
 * (cache or terminate), termination (dirty and precious pages returned
 * first, then memory_object_terminate), collection of cached objects whose
 * last page was evicted, destroy by the pager, and the death of a pager.
 */
import { KernError, KERN_INVALID_RIGHT } from '../ipc/kern-return.js';
import type { PortName } from '../ipc/message.js';
import { EIO } from './errno.js';
import { collapseAbove } from './collapse.js';
import { forgetShadow } from './delayed-copy.js';
import { dropPlaceholder } from './fault.js';
import type { Kernel } from './kernel.js';
import { lockPages } from './memory-object/lock-request.js';
import type { MemoryObjectCreate, MemoryObjectInit, MemoryObjectTerminate } from './memory-object-defs.js';
import { VmObject, wakeAll } from './object.js';
import { MEMORY_OBJECT_RETURN_ALL, VM_PROT_NO_CHANGE } from './prot.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY, PG_HOLDING } from './resident.js';

/**
 * vm_object_enter: the object for memory object port `pager` (the kernel
 * holds one more send right to it, which this consumes), with one more
 * reference. A new object sends memory_object_init; an object still
 * terminating is waited for and then made anew.
 */
export async function enterObject(vm: Kernel, pager: PortName): Promise<VmObject> {
  for (;;) {
    vm.stats.object_lookups++;
    const existing = vm.objectsByPager.get(pager);
    if (existing && existing.state === 'terminating') {
      await new Promise<void>((resolve) => existing.terminatedWaiters.push(resolve));
      continue;
    }
    if (existing) {
      vm.space.deallocate(pager); // the object already holds a send right
      vm.stats.object_hits++;
      if (existing.cached) {
        existing.cached = false;
        vm.cachedObjects.delete(existing);
      }
      existing.refCount++;
      return existing;
    }
    if (vm.space.isDeadName(pager)) {
      vm.space.deallocate(pager);
      throw new KernError(KERN_INVALID_RIGHT, `memory object ${pager} is dead`);
    }
    const object = newObject(vm, pager, false);
    object.refCount = 1;
    // Learn of the pager's death (vm_object_destroy on a dead port).
    vm.space.requestNotification(pager, 'dead_name', vm.notifyPort);
    const sent = vm.send({
      id: 'memory_object_init',
      dest: pager,
      control: object.control,
      name: object.name,
      pageSize: vm.pageSize,
    } satisfies MemoryObjectInit);
    if (!sent) {
      forget(vm, object);
      throw new KernError(KERN_INVALID_RIGHT, `memory object ${pager} is dead`);
    }
    return object;
  }
}

/**
 * A kernel-made (internal) object, handed to the default pager with
 * memory_object_create. It is ready at once; it is temporary (its data is
 * dropped at termination) and never cached.
 */
export function createInternalObject(vm: Kernel, size: number): VmObject {
  const pager = vm.space.allocatePort();
  vm.space.makeSend(pager);
  const object = newObject(vm, pager, true);
  object.state = 'ready';
  object.pagerReady = true;
  vm.space.requestNotification(pager, 'dead_name', vm.notifyPort);
  vm.send({
    id: 'memory_object_create',
    dest: vm.defaultPagerPort,
    newObject: pager,
    size,
    control: object.control,
    name: object.name,
    pageSize: vm.pageSize,
  } satisfies MemoryObjectCreate);
  return object;
}

function newObject(vm: Kernel, pager: PortName, internal: boolean): VmObject {
  const control = vm.space.allocatePort();
  const name = vm.space.allocatePort();
  vm.space.moveMember(control, vm.controlSet);
  const object = new VmObject(vm.allocateObjectId(), pager, control, name, internal);
  vm.objects.set(object.id, object);
  vm.objectsByPager.set(pager, object);
  vm.objectsByControl.set(control, object);
  return object;
}

/**
 * vm_object_deallocate: one reference fewer. The last one either keeps the
 * object cached (may_cache and pages resident) or terminates it.
 */
export function releaseObject(vm: Kernel, object: VmObject): void {
  if (object.refCount <= 0) throw new Error(`object ${object.id}: reference count underflow`);
  object.refCount--;
  if (object.refCount > 0) {
    // Only the object above may use it now: the chain can be shortened.
    if (object.refCount === 1) collapseAbove(vm, object);
    return;
  }
  dropShadow(vm, object);
  if (object.state === 'dead') {
    discard(vm, object);
    return;
  }
  if (object.canPersist && object.residentCount > 0 && object.state === 'ready') {
    object.cached = true;
    vm.cachedObjects.add(object);
    return;
  }
  vm.serial.run(object.id, () => terminate(vm, object));
}

/** An object that goes gives up its place in a shadow chain and its reference to its shadow. */
function dropShadow(vm: Kernel, object: VmObject): void {
  const shadow = object.shadow;
  if (shadow === undefined) return;
  object.shadow = undefined;
  if (shadow.copy === object) shadow.copy = undefined;
  forgetShadow(vm, object);
  releaseObject(vm, shadow);
}

/** vm_object_collect: a cached object whose last page left is terminated. */
export function collectIfEmpty(vm: Kernel, object: VmObject): void {
  if (!object.cached || object.residentCount > 0 || object.pagingInProgress > 0) return;
  object.cached = false;
  vm.cachedObjects.delete(object);
  vm.serial.run(object.id, () => terminate(vm, object));
}

/**
 * vm_object_terminate: return dirty and precious pages (flushing them),
 * free the rest, and send memory_object_terminate with the control and
 * name ports. Until the message is queued, maps of the pager wait.
 */
export async function terminate(vm: Kernel, object: VmObject): Promise<void> {
  if (object.state !== 'ready' && object.state !== 'initializing') return;
  if (object.refCount > 0) return; // mapped again while waiting for its turn
  object.state = 'terminating';
  while (object.pagingInProgress > 0) await new Promise<void>((resolve) => object.pagingWaiters.push(resolve));
  abortRequests(vm, object, EIO);
  if (!object.temporary && object.hasPager()) {
    await lockPages(vm, object, 0, Infinity, MEMORY_OBJECT_RETURN_ALL, true, VM_PROT_NO_CHANGE);
  }
  freeAllPages(vm, object);
  vm.objectsByControl.delete(object.control);
  const sent = sendTerminate(vm, object);
  // Unsent, the send right to the pager port did not go with it.
  if (!sent && !vm.isShutDown && vm.space.hasName(object.pager)) vm.space.destroyName(object.pager);
  object.state = 'dead';
  forget(vm, object);
  wakeAll(object.terminatedWaiters);
}

/**
 * memory_object_destroy: the ports are cut now (later calls on them are
 * rejected), outstanding requests fail, and terminate is sent with the
 * rights. Resident pages stay for the mappings that still exist; faults on
 * anything else fail.
 */
export async function destroyObject(vm: Kernel, object: VmObject): Promise<void> {
  if (!object.alive) return;
  vm.objectsByControl.delete(object.control);
  vm.objectsByPager.delete(object.pager);
  object.canPersist = false;
  object.state = 'dead';
  abortRequests(vm, object, EIO);
  while (object.pagingInProgress > 0) await new Promise<void>((resolve) => object.pagingWaiters.push(resolve));
  sendTerminate(vm, object);
  object.pagerGone = true;
  bury(vm, object);
}

/**
 * The pager's port died (vm_object_destroy on the dead-name notification):
 * associations removed, pending requests aborted, no terminate sent.
 */
export function pagerDied(vm: Kernel, object: VmObject): void {
  if (object.state === 'dead') return;
  vm.objectsByControl.delete(object.control);
  vm.objectsByPager.delete(object.pager);
  object.pagerGone = true;
  object.pagerReady = true;
  object.state = 'dead';
  abortRequests(vm, object, EIO);
  // Faults waiting on a locked page for an unlock that will never come.
  for (const d of vm.pages.memq(object)) {
    vm.pages.unlockRequest[d] = 0;
    vm.pages.wakeup(d, EIO);
  }
  vm.space.destroyName(object.control);
  vm.space.destroyName(object.name);
  bury(vm, object);
}

/**
 * Kernel shutdown: no answer can arrive any more, so every fault waiting
 * for one (a request, an unlock, ready, the throttle, a placeholder, a
 * frame) is woken; requests fail with EIO, and the others look again and
 * find the kernel shut down.
 */
export function failWaitsAtShutdown(vm: Kernel): void {
  for (const object of vm.objects.values()) {
    abortRequests(vm, object, EIO);
    for (const d of vm.pages.memq(object)) {
      if ((vm.pages.flags[d] & PG_BUSY) !== 0) continue; // holding pages belong to pageout
      vm.pages.unlockRequest[d] = 0;
      vm.pages.wakeup(d, EIO);
    }
    wakeAll(object.readyWaiters);
  }
  vm.pages.wakeFictitiousWaiters();
  vm.wakeFrameWaiters();
}

/**
 * memory_object_terminate: the control and name ports' receive rights go to
 * the pager with the kernel's send right to the pager port. When it cannot
 * go (no pager, or a dead one) the kernel destroys the ports itself; after
 * shutdown the kernel's space and its names are gone already. Returns
 * whether it was sent.
 */
function sendTerminate(vm: Kernel, object: VmObject): boolean {
  const sent =
    object.hasPager() &&
    vm.send(
      {
        id: 'memory_object_terminate',
        dest: object.pager,
        control: object.control,
        name: object.name,
      } satisfies MemoryObjectTerminate,
      { destDisposition: 'move_send' },
    );
  if (!sent && !vm.isShutDown) {
    vm.space.destroyName(object.control);
    vm.space.destroyName(object.name);
  }
  return sent;
}

/** Fail every outstanding request of the object (busy+absent placeholders) and unavailable placeholders. */
function abortRequests(vm: Kernel, object: VmObject, errno: number): void {
  const pages = vm.pages;
  for (const d of [...pages.memq(object)]) {
    const flags = pages.flags[d];
    if ((flags & PG_HOLDING) !== 0) continue;
    if ((flags & PG_ABSENT) !== 0) dropPlaceholder(vm, object, d, errno);
  }
  wakeAll(object.absentWaiters);
}

function freeAllPages(vm: Kernel, object: VmObject): void {
  const pages = vm.pages;
  for (const d of [...pages.memq(object)]) {
    const flags = pages.flags[d];
    if ((flags & PG_BUSY) !== 0) continue; // holding pages belong to pageout
    if ((flags & PG_DIRTY) !== 0 && !object.temporary) vm.stats.pages_lost++;
    pages.wireCount[d] = 0;
    vm.freePage(d, object);
  }
}

/** The object died: waiters look again (and fail), it leaves the object cache, and unreferenced it goes. */
function bury(vm: Kernel, object: VmObject): void {
  wakeAll(object.readyWaiters);
  wakeAll(object.terminatedWaiters);
  if (object.cached) {
    object.cached = false;
    vm.cachedObjects.delete(object);
  }
  if (object.refCount === 0) discard(vm, object);
}

/** A dead object with no references left: free what it still has. */
function discard(vm: Kernel, object: VmObject): void {
  freeAllPages(vm, object);
  forget(vm, object);
}

function forget(vm: Kernel, object: VmObject): void {
  vm.objectsByControl.delete(object.control);
  if (vm.objectsByPager.get(object.pager) === object) vm.objectsByPager.delete(object.pager);
  if (vm.objects.get(object.id) === object) {
    vm.objects.delete(object.id);
    vm.releaseObjectId(object.id);
  }
}
