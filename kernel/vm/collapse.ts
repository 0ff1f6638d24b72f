/**
 * vm_object_collapse: shorten a shadow chain. When the object below an
 * internal object is itself internal and referenced by nothing else, its
 * pages move up (those the upper object does not hold already), the upper
 * object shadows what the lower one shadowed, takes its place as its
 * shadow's delayed copy, and the lower object is terminated. Pages the
 * lower object gave to the default pager would have to come back first:
 * then, and while it has pages in transit, the chain stays as it is (a
 * longer chain reads the same data).
 */
import type { Kernel } from './kernel.js';
import { noDirtyLeft, noteDirty, type VmObject } from './object.js';
import { terminate } from './object-lifecycle.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY } from './resident.js';

const NIL = -1;

export function collapse(vm: Kernel, object: VmObject): void {
  for (;;) {
    const backing = object.shadow;
    if (!object.internal || backing === undefined || !canCollapse(vm, backing)) return;
    movePages(vm, backing, object);
    object.shadow = backing.shadow;
    object.shadowOffset += backing.shadowOffset;
    if (object.shadow !== undefined && object.shadow.copy === backing) object.shadow.copy = object;
    // The reference backing held on its shadow is object's now; object's reference on backing goes.
    backing.shadow = undefined;
    backing.existence.clear();
    backing.refCount = 0;
    vm.serial.run(backing.id, () => terminate(vm, backing));
    vm.stats.object_collapses++;
  }
}

/** After a reference to `object` went: if only one object shadows it now, that object may collapse it. */
export function collapseAbove(vm: Kernel, object: VmObject): void {
  if (object.refCount !== 1 || !object.internal) return;
  for (const above of vm.objects.values()) {
    if (above.shadow === object) {
      collapse(vm, above);
      return;
    }
  }
}

function canCollapse(vm: Kernel, backing: VmObject): boolean {
  if (!backing.internal || backing.refCount !== 1 || !backing.alive) return false;
  if (backing.pagingInProgress > 0 || backing.absentCount > 0) return false;
  const pages = vm.pages;
  for (const i of backing.existence) if (pages.lookup(backing.id, i) === NIL) return false;
  for (const d of pages.memq(backing)) if ((pages.flags[d] & (PG_BUSY | PG_ABSENT)) !== 0 || pages.wireCount[d] > 0) return false;
  return true;
}

function movePages(vm: Kernel, from: VmObject, to: VmObject): void {
  const pages = vm.pages;
  for (const d of [...pages.memq(from)]) {
    const j = pages.pageIndex[d] - to.shadowOffset;
    if (j < 0 || j >= to.sizePages || pages.lookup(to.id, j) !== NIL || to.existence.has(j)) {
      vm.freePage(d, from);
      continue;
    }
    const dirty = (pages.flags[d] & PG_DIRTY) !== 0;
    vm.untrack(d);
    pages.remove(d, from);
    from.residentCount--;
    if (dirty && --from.dirtyCount === 0) noDirtyLeft(from);
    pages.insert(d, to, j);
    // Dirty in any case: the upper object's default pager has never seen it.
    pages.flags[d] = pages.flags[d] | PG_DIRTY;
    to.residentCount++;
    to.dirtyCount++;
    if (from.preciousSupplied) to.preciousSupplied = true;
    noteDirty(to, j);
    to.existence.add(j);
    vm.track(d, to, false);
  }
}
