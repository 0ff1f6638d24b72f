/**
 * vm_fault_page: make one page of an object resident and accessible for
 * `access`, talking to the pager as needed. The caller already knows the
 * page is not usable as it stands (memcpy's fast path failed on it).
 *
 * - busy page (a request or a pageout in flight): wait, look again. This is
 *   how any number of concurrent faults on one page share one request.
 * - absent but not busy (the pager said data_unavailable): zero-fill.
 * - page_lock denies the access: send data_unlock once (unlock_request
 *   remembers it), wait for the lock_request that lowers the lock.
 * - not resident: wait for pager_ready and for the absent throttle, put
 *   busy+absent placeholders for a cluster of missing pages, send one
 *   data_request for them, wait. With no placeholder free, wait for one
 *   freed by any object (and reclaim stale ones when they run low).
 * Waits on a pager's answer are bounded by the pager timeout (pager-timeout.ts).
 * A data_error wakes the waiters with the error; a requested page nobody
 * waits on yet becomes an error page, which fails the first fault that
 * finds it. After that, the next access asks again.
 */
import { EIO } from './errno.js';
import type { FaultWait, FaultWaitReason } from './fault-wait.js';
import type { Kernel } from './kernel.js';
import { ABSENT_MAX } from './vm-param.js';
import type { MemoryObjectDataRequest, MemoryObjectDataUnlock } from './memory-object-defs.js';
import type { VmObject } from './object.js';
import type { VmProt } from './prot.js';
import { PG_ABSENT, PG_BUSY, PG_ERROR, PG_PREFETCH, PG_TABLED } from './resident.js';

const NIL = -1;

/**
 * fault's answer when the page's data is not in this object but in its
 * shadow (an internal object that never held the page, or a pager that
 * answered data_unavailable): shadow.ts goes down the chain.
 */
export const FAULT_SHADOW = -1;

/**
 * Whether an unavailable page of `object` is read from its shadow: within
 * the pages it keeps of it (a copy's size), and not one a delayed copy
 * holds itself (its pager's unavailable then means zeros).
 */
export function readsThrough(object: VmObject, pageIndex: number): boolean {
  return object.shadow !== undefined && pageIndex < object.sizePages && !(object.existenceKnown && object.existence.has(pageIndex));
}

/** Whether page `pageIndex` of `object`, not resident, is its shadow's without asking its pager (existence set). */
export function heldBelow(object: VmObject, pageIndex: number): boolean {
  return object.shadow !== undefined && (object.internal || object.existenceKnown) && pageIndex < object.sizePages && !object.existence.has(pageIndex);
}

/**
 * Fault in page `pageIndex` of `object`. `want` is how many pages from here
 * on the caller will touch, `cluster` how many to ask for at most (want
 * plus read-ahead). Resolves to 0 when the page is resident and allows
 * `access`, FAULT_SHADOW when its data is in the shadow, else an errno.
 */
export async function fault(
  vm: Kernel,
  object: VmObject,
  pageIndex: number,
  access: VmProt,
  want: number,
  cluster: number,
  wait?: FaultWait,
): Promise<number> {
  const pages = vm.pages;
  const offset = pageIndex * vm.pageSize;
  /** Wait on `waiting`, with what the fault waits for recorded in `wait` meanwhile. */
  const waitFor = async <T>(reason: FaultWaitReason, waiting: Promise<T>): Promise<T> => {
    if (!wait) return waiting;
    wait.begin(reason, object.id, offset);
    try {
      return await waiting;
    } finally {
      wait.end();
    }
  };
  for (;;) {
    // No answer can come any more (and every wait was woken at shutdown).
    if (vm.isShutDown) return EIO;
    const d = pages.lookup(object.id, pageIndex);
    if (d !== NIL) {
      const flags = pages.flags[d];
      if (flags & PG_BUSY) {
        const woken = await waitFor('busy_page', pages.wait(d));
        if (woken !== 0) return woken;
        continue;
      }
      if (flags & PG_ERROR) {
        // data_error for a page nobody was waiting on: this fault sees it, fails, and frees it.
        const error = pages.errorCode[d];
        pages.remove(d, object);
        pages.release(d);
        return error;
      }
      if (flags & PG_ABSENT) {
        // Unavailable here: with a shadow the data is below (vm_fault_page goes down the chain).
        if (readsThrough(object, pageIndex)) return FAULT_SHADOW;
        // data_unavailable: no data anywhere below, so a zero-filled page (vm_fault_page's bottom case).
        if (!zeroFill(vm, object, d)) await waitFor('free_frame', vm.waitForFrame());
        continue;
      }
      if (pages.pageLock[d] & access) {
        if (!object.hasPager()) return EIO;
        if ((pages.unlockRequest[d] & access) !== access) {
          pages.unlockRequest[d] = pages.unlockRequest[d] | access;
          vm.stats.unlocks++;
          vm.timeouts.unlockSent(d, object, pageIndex);
          const sent = vm.send({
            id: 'memory_object_data_unlock',
            dest: object.pager,
            control: object.control,
            offset: pageIndex * vm.pageSize,
            length: vm.pageSize,
            desiredAccess: access,
          } satisfies MemoryObjectDataUnlock);
          if (!sent) return EIO;
        }
        const woken = await waitFor('data_unlock', pages.wait(d));
        if (woken !== 0) return woken;
        continue;
      }
      return 0;
    }

    // Not resident. An object with a shadow that knows it never held the page: the data is below.
    if (heldBelow(object, pageIndex)) return FAULT_SHADOW;
    // Ask the pager.
    if (!object.hasPager()) return EIO;
    if (!object.pagerReady) {
      const timedOut = await waitFor('pager_init', vm.timeouts.waitForReady(object));
      if (timedOut !== 0) return timedOut;
      continue;
    }
    if (object.absentCount >= ABSENT_MAX) {
      await waitFor('free_frame', new Promise<void>((resolve) => object.absentWaiters.push(resolve)));
      continue;
    }
    if (vm.stalePlaceholders > 0 && pages.freeFictitiousCount <= vm.maxClusterPages) reclaimPlaceholders(vm);
    if (pages.freeFictitiousCount === 0) {
      // Out of placeholders (FICTITIOUS_SHORTAGE): all are outstanding requests or holding
      // pages, of any object. Wait for one to be freed, whichever object frees it.
      await waitFor('free_frame', pages.waitForFictitious());
      continue;
    }
    if (requestPages(vm, object, pageIndex, want, cluster, access) === 0) return EIO;
    const woken = await waitFor('data_request', pages.wait(pages.lookup(object.id, pageIndex)));
    if (woken !== 0) return woken;
  }
}

/**
 * One data_request for the missing pages from `pageIndex` on (a cluster of
 * at most `cluster`, see requestCluster), without waiting for the answer:
 * the fault's own request, and read-ahead's (want 0: every page ahead of
 * demand). Returns how many pages were asked for; 0 when no placeholder was
 * free or the request could not be sent (its placeholders are gone, their
 * waiters failed with EIO).
 */
export function requestPages(vm: Kernel, object: VmObject, pageIndex: number, want: number, cluster: number, access: VmProt): number {
  const first = vm.pages.allocFictitious();
  if (first === NIL) return 0;
  const count = requestCluster(vm, object, pageIndex, first, want, cluster);
  vm.stats.data_requests++;
  const sent = vm.send({
    id: 'memory_object_data_request',
    dest: object.pager,
    control: object.control,
    offset: pageIndex * vm.pageSize,
    length: count * vm.pageSize,
    desiredAccess: access,
  } satisfies MemoryObjectDataRequest);
  if (sent) return count;
  abortPlaceholders(vm, object, pageIndex, count, EIO);
  return 0;
}

/**
 * Put busy+absent placeholders on `first` (already allocated) and on the
 * missing pages after it, up to `cluster` pages, the cluster limit, the
 * absent throttle and the free placeholders. Pages past what the caller asked for
 * are read-ahead: PG_PREFETCH, so they enter the cache as inactive (and
 * PG_READAHEAD, data-supply.ts).
 */
function requestCluster(vm: Kernel, object: VmObject, pageIndex: number, first: number, want: number, cluster: number): number {
  const pages = vm.pages;
  const limit = Math.max(1, Math.min(cluster, vm.maxClusterPages, ABSENT_MAX - object.absentCount));
  const request = vm.timeouts.startRequest(object);
  let d = first;
  let count = 0;
  for (;;) {
    pages.insert(d, object, pageIndex + count);
    vm.timeouts.stamp(d, request);
    pages.flags[d] = pages.flags[d] | PG_BUSY | PG_ABSENT | (count >= want ? PG_PREFETCH : 0);
    object.absentCount++;
    count++;
    // A page the object's shadow holds is not asked of its pager (heldBelow).
    if (count >= limit || pages.lookup(object.id, pageIndex + count) !== NIL || heldBelow(object, pageIndex + count)) break;
    d = pages.allocFictitious();
    if (d === NIL) break;
  }
  return count;
}

/** Free the placeholders of a request that could not be sent, failing their waiters. */
export function abortPlaceholders(vm: Kernel, object: VmObject, pageIndex: number, count: number, errno: number): void {
  const pages = vm.pages;
  for (let i = 0; i < count; i++) {
    const d = pages.lookup(object.id, pageIndex + i);
    if (d === NIL) continue;
    const flags = pages.flags[d];
    if ((flags & (PG_BUSY | PG_ABSENT)) !== (PG_BUSY | PG_ABSENT)) continue;
    dropPlaceholder(vm, object, d, errno);
  }
}

/** Take a busy+absent placeholder out, waking its waiters with `value`. */
export function dropPlaceholder(vm: Kernel, object: VmObject, d: number, value: number): void {
  const pages = vm.pages;
  if (pages.flags[d] & PG_BUSY) requestDone(object);
  pages.wakeup(d, value);
  if (pages.flags[d] & PG_TABLED) pages.remove(d, object);
  pages.release(d);
}

/**
 * Free the placeholders that answers left and nobody waits on: error pages
 * and unavailable (absent, not busy) pages, mostly the rest of a cluster
 * whose copy failed or stopped before reaching them. GNU Mach keeps such
 * pages until a fault finds them and, when it runs out of fictitious pages,
 * allocates more (vm_page_more_fictitious); our pool is fixed, so when it
 * runs low we take these back instead. A later access to one of these pages
 * asks the pager again. Called only when placeholders run low and answers
 * have left some since the last call (vm.stalePlaceholders).
 */
export function reclaimPlaceholders(vm: Kernel): number {
  const pages = vm.pages;
  let freed = 0;
  for (let d = 0; d < pages.fictitiousCount; d++) {
    const flags = pages.flags[d];
    if ((flags & (PG_TABLED | PG_BUSY)) !== PG_TABLED || (flags & (PG_ERROR | PG_ABSENT)) === 0) continue;
    if (pages.waiterCount(d) > 0) continue;
    const object = vm.objects.get(pages.objectId[d]);
    if (!object) continue;
    pages.remove(d, object);
    pages.release(d);
    freed++;
  }
  vm.stalePlaceholders = 0;
  return freed;
}

/** One outstanding request fewer: let throttled faults go. */
export function requestDone(object: VmObject): void {
  object.absentCount--;
  if (object.absentWaiters.length > 0) for (const wake of object.absentWaiters.splice(0)) wake();
}

/**
 * Replace an absent (unavailable) placeholder with a zero-filled frame.
 * Returns false if no frame can be had now (the caller waits and retries).
 */
export function zeroFill(vm: Kernel, object: VmObject, placeholder: number): boolean {
  const frame = vm.grabFrame();
  if (frame === NIL) return false;
  const pages = vm.pages;
  pages.frameData(frame).fill(0);
  pages.replace(placeholder, frame, object);
  object.residentCount++;
  vm.pageIn(frame, object, false);
  vm.stats.zero_fill_count++;
  object.stats.zero_fills++;
  pages.wakeup(placeholder, 0);
  pages.release(placeholder);
  return true;
}
