/**
 * The pageout daemon (vm_pageout.c): woken when free frames fall to the
 * low mark, it asks the policy for victims until free frames reach the
 * high mark. Clean, non-precious victims are freed without a message;
 * dirty or precious ones go back to their pager with data_return.
 *
 * Flow control: pages in data_returns not yet received are laundry, and
 * so are pages external pagers received and have not written yet.
 * - With externalLaundryMax pages out to external pagers, or
 *   MAX_DEFAULT_LAUNDRY out to the default pager, the daemon pauses until
 *   laundry comes back, at most PAGEOUT_TIMEOUT_MS.
 * - If memory is short meanwhile (unprivileged allocation paused), an
 *   external pager that does not take its pages is not trusted with more:
 *   dirty external pages are double-paged, written to the default pager
 *   (swap) at once, with a holding page at their offset so that nobody
 *   pages them in meanwhile, and handed to their own pager later, when its
 *   laundry drains. Holding pages take at most half the placeholders, so
 *   page-ins always find some; past that the daemon waits for the laundry.
 * - The limit is shared, but a pager with less than one data_return's worth
 *   (DATA_WRITE_MAX pages, or the limit if smaller) outstanding is not the one behind: it still gets
 *   its pages, so one stuck pager cannot stall the others. Past the limit,
 *   each pager holds at most that many more.
 */
import { performance } from 'node:perf_hooks';
import type { Kernel } from './kernel.js';
import { MAX_DEFAULT_LAUNDRY, PAGEOUT_TIMEOUT_MS } from './vm-param.js';
import { DATA_WRITE_MAX, sendDataReturn, type LaundryKind } from './data-return.js';
import { fault } from './fault.js';
import { wakeAll, type VmObject } from './object.js';
import { collectIfEmpty, createInternalObject } from './object-lifecycle.js';
import { VM_PROT_READ } from './prot.js';
import { MAX_OFFSET } from './errno.js';
import { PG_ABSENT, PG_BUSY, PG_DIRTY, PG_ERROR, PG_FICTITIOUS, PG_HOLDING, PG_INITIAL, PG_LAUNDRY, PG_PRECIOUS } from './resident.js';

const NIL = -1;
/** Pages that never join a pageout cluster: in flight, placeholders, in the laundry, pushed and not written since. */
const CLUSTER_EXCLUDED = PG_BUSY | PG_ABSENT | PG_FICTITIOUS | PG_HOLDING | PG_LAUNDRY | PG_ERROR | PG_INITIAL;

/** Victims put back in a row after which a pass stops and waits for the laundry. */
const MAX_THROTTLED_IN_A_ROW = 64;

interface DoublePaged {
  readonly object: VmObject;
  readonly pageIndex: number;
  readonly holding: number;
  readonly slot: number;
  readonly dirty: boolean;
}

type EvictResult = 'freed' | 'returned' | 'throttled';

export class PageoutDaemon {
  private scheduled = false;
  private running = false;
  /** Paused for laundry: resumed when laundry comes back or the timer fires. */
  private throttleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The internal object double-paged pages wait in (Mach makes a new one per page). */
  private laundryObject: VmObject | undefined;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly doublePaged: DoublePaged[] = [];
  private forwarding = false;
  /** When each kind of laundry last moved (sent while empty, or came back). */
  private readonly laundryMoved: Record<LaundryKind, number> = { external: 0, default: 0 };
  /** Those waiting for laundry to come back (a sync that keeps clean copies, lock-request.ts). */
  private readonly laundryWaiters: (() => void)[] = [];

  constructor(private readonly vm: Kernel) {}

  /** vm_pageout_start: make sure a pass runs soon. */
  wake(): void {
    if (this.scheduled || this.running || this.stopped || this.throttleTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  stop(): void {
    this.stopped = true;
    wakeAll(this.laundryWaiters);
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = undefined;
  }

  /** Pages double-paged and not yet handed to their pager. */
  get doublePagedPending(): number {
    return this.doublePaged.length;
  }

  /** Resolves when some laundry comes back (or the daemon stops). */
  waitForLaundry(): Promise<void> {
    return new Promise((resolve) => this.laundryWaiters.push(resolve));
  }

  /** A data_return was queued: laundry that was idle starts moving now. */
  laundrySent(kind: LaundryKind, wasEmpty: boolean): void {
    if (wasEmpty) this.laundryMoved[kind] = performance.now();
  }

  /** Laundry came back: a paused pass may go on, double-paged pages may be delivered. */
  laundryReleased(kind: LaundryKind): void {
    this.laundryMoved[kind] = performance.now();
    wakeAll(this.laundryWaiters);
    if (this.throttleTimer) {
      clearTimeout(this.throttleTimer);
      this.throttleTimer = undefined;
    }
    if (kind === 'external' && this.doublePaged.length > 0) this.forward();
    this.vm.resumeAllocation();
    // The frames a pass counted on came back and memory is still short (they may have gone to a
    // shrink, not to the free list): evict more now.
    if (this.vm.allocPaused || this.vm.pages.retireDebt > 0 || this.vm.freeBalance <= this.vm.freeLow) this.wake();
  }

  /**
   * One pass: evict until free frames, counting the laundry on its way
   * back, reach the high mark. An urgent pass (the laundry did not come
   * back in time) counts only frames really free.
   */
  run(urgent = false): void {
    if (this.running || this.stopped) return;
    this.running = true;
    const vm = this.vm;
    try {
      // Laundry sent during this pass counts too: a pager cannot receive while the pass runs.
      // A page put back (its pager is behind) goes on to the next victim, which may belong to
      // a pager that is not; a run of them means every pager in sight is behind: wait.
      let throttled = 0;
      const patience = Math.min(vm.policy.size, MAX_THROTTLED_IN_A_ROW);
      while (vm.freeBalance + (urgent ? 0 : this.incomingLaundry()) < vm.freeHigh) {
        const d = vm.victim();
        if (d === NIL) break;
        if (this.evict(d) !== 'throttled') throttled = 0;
        else if (++throttled >= patience) break;
      }
    } finally {
      this.running = false;
    }
    // Memory is short and waits on laundry (or a shrink does): look again within the timeout, in case a pager is stuck.
    const laundry = vm.externalLaundry + vm.defaultLaundry;
    if ((vm.allocPaused || (vm.pages.retireDebt > 0 && laundry > 0)) && vm.freeBalance < vm.freeHigh) this.throttle();
    vm.resumeAllocation();
  }

  /** Laundry frames expected back soon: those of a kind that has moved within the timeout. */
  private incomingLaundry(): number {
    const now = performance.now();
    const vm = this.vm;
    return (
      (now - this.laundryMoved.external < PAGEOUT_TIMEOUT_MS ? vm.externalLaundry : 0) +
      (now - this.laundryMoved.default < PAGEOUT_TIMEOUT_MS ? vm.defaultLaundry : 0)
    );
  }

  private throttle(): void {
    if (this.throttleTimer || this.stopped) return;
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = undefined;
      this.run(true);
    }, PAGEOUT_TIMEOUT_MS);
  }

  /** vm_page_seg_evict for one victim the policy chose (already out of the policy). */
  private evict(d: number): EvictResult {
    const vm = this.vm;
    const pages = vm.pages;
    const object = vm.objectOf(d);
    const flags = pages.flags[d];
    const pageIndex = pages.pageIndex[d];
    const dirty = (flags & PG_DIRTY) !== 0;
    if (!dirty && (flags & PG_PRECIOUS) === 0) {
      vm.freePage(d, object);
      vm.stats.evictions_clean++;
      object.stats.evictions++;
      collectIfEmpty(vm, object);
      return 'freed';
    }
    if (!object.hasPager()) {
      // Nobody to give it to: the data is lost (the pager died or destroyed the object).
      if (dirty) vm.stats.pages_lost++;
      vm.freePage(d, object);
      return 'freed';
    }
    const laundryFull = object.internal ? vm.defaultLaundry >= MAX_DEFAULT_LAUNDRY : this.pagerBehind(object);
    if (!laundryFull) {
      vm.detachPage(d, object);
      // An external pager's dirty victim goes with its dirty, inactive neighbours (pageoutCluster).
      const { first, frames } = dirty && !object.internal ? pageoutCluster(vm, object, pageIndex, d) : { first: pageIndex, frames: [d] };
      sendDataReturn(vm, object, first, frames, dirty, false);
      vm.stats.evictions_dirty += frames.length;
      object.stats.evictions += frames.length;
      collectIfEmpty(vm, object);
      return 'returned';
    }
    // The pager is behind. Wait for it, unless memory is short: then double-page through the default pager.
    if (object.internal || !vm.allocPaused || vm.defaultLaundry >= MAX_DEFAULT_LAUNDRY || !this.holdingAvailable())
      return this.putBack(d, object);
    this.doublePage(d, object, pageIndex, dirty);
    vm.stats.evictions_dirty++;
    object.stats.evictions++;
    return 'returned';
  }

  /** External pagers hold as many returned pages, in transit or not yet written, as they may. */
  private externalLaundryFull(): boolean {
    const vm = this.vm;
    return vm.externalLaundry + vm.externalWriting >= vm.externalLaundryMax;
  }

  /** Whether `object`'s pager is behind: the laundry is full and this pager holds its share of it. */
  private pagerBehind(object: VmObject): boolean {
    return this.externalLaundryFull() && object.laundry >= Math.min(DATA_WRITE_MAX, this.vm.externalLaundryMax);
  }

  /** Whether a holding page may be taken: placeholders beyond half the pool stay for page-ins. */
  private holdingAvailable(): boolean {
    const pages = this.vm.pages;
    return pages.freeFictitiousCount > pages.fictitiousCount / 2;
  }

  private putBack(d: number, object: VmObject): EvictResult {
    this.vm.track(d, object, false);
    return 'throttled';
  }

  /**
   * Write the page to the default pager now and deliver it to its own
   * pager later. A busy holding page keeps its offset: a fault there waits
   * until the data_return to the real pager is queued, then asks again.
   */
  private doublePage(d: number, object: VmObject, pageIndex: number, dirty: boolean): void {
    const vm = this.vm;
    const pages = vm.pages;
    const laundry = (this.laundryObject ??= this.createLaundryObject());
    const holding = pages.allocFictitious();
    vm.detachPage(d, object);
    pages.insert(holding, object, pageIndex);
    pages.flags[holding] = pages.flags[holding] | PG_BUSY | PG_HOLDING | PG_FICTITIOUS;
    object.pagingInProgress++;
    const slot = this.freeSlots.pop() ?? this.nextSlot++;
    this.doublePaged.push({ object, pageIndex, holding, slot, dirty });
    sendDataReturn(vm, laundry, slot, [d], true, false);
    vm.stats.double_paged++;
  }

  private createLaundryObject(): VmObject {
    const object = createInternalObject(this.vm, MAX_OFFSET);
    object.refCount++; // kept for the kernel's lifetime
    return object;
  }

  /** Hand double-paged pages to their pagers while those take them. */
  private forward(): void {
    if (this.forwarding || this.stopped) return;
    this.forwarding = true;
    this.forwardLoop().then(
      () => {
        this.forwarding = false;
      },
      (err: unknown) => {
        this.forwarding = false;
        this.vm.onError(err);
      },
    );
  }

  private async forwardLoop(): Promise<void> {
    const vm = this.vm;
    const pages = vm.pages;
    const laundry = this.laundryObject;
    if (!laundry) return;
    while (this.doublePaged.length > 0 && !this.stopped) {
      // The oldest page whose pager may take it now (one pager behind does not hold up the
      // others), but not while memory is short: a page forwarded frees no frame.
      let index = 0;
      if (this.externalLaundryFull()) index = vm.allocPaused ? -1 : this.doublePaged.findIndex((p) => !this.pagerBehind(p.object));
      if (index < 0) break;
      const next = this.doublePaged[index];
      // Page it back in from swap through the ordinary fault path on the laundry object...
      const error = await fault(vm, laundry, next.slot, VM_PROT_READ, 1, 1);
      const d = pages.lookup(laundry.id, next.slot);
      if (error !== 0 || d === NIL || pages.isFictitious(d)) {
        if (error !== 0) {
          // The swap could not give it back: the page is lost; free its offset.
          this.doublePaged.splice(this.doublePaged.indexOf(next), 1);
          vm.stats.pages_lost++;
          this.finish(next);
        }
        continue;
      }
      this.doublePaged.splice(this.doublePaged.indexOf(next), 1);
      // ...and move it from the laundry object into a data_return to its own pager.
      vm.detachPage(d, laundry);
      sendDataReturn(vm, next.object, next.pageIndex, [d], next.dirty, false);
      vm.stats.double_paged_delivered++;
      this.finish(next);
    }
  }

  private finish(entry: DoublePaged): void {
    const vm = this.vm;
    const pages = vm.pages;
    this.freeSlots.push(entry.slot);
    pages.wakeup(entry.holding, 0);
    pages.remove(entry.holding, entry.object);
    pages.release(entry.holding);
    entry.object.pagingInProgress--;
    if (entry.object.pagingInProgress === 0) for (const wake of entry.object.pagingWaiters.splice(0)) wake();
    collectIfEmpty(vm, entry.object);
  }
}

/**
 * The run of pages one data_return takes from a dirty victim (detached
 * already): its neighbours in the object, before and after it, as long as
 * each is resident, dirty, inactive by the policy and not busy, wired or in
 * the laundry, up to DATA_WRITE_MAX pages in all and no more than the
 * laundry has room for. They would be chosen soon
 * anyway; sent together they cost one message and one store write, not one
 * each (XNU's vm_pageout_cluster gathers the same way; GNU Mach sends pages
 * one at a time).
 */
export function pageoutCluster(vm: Kernel, object: VmObject, pageIndex: number, victim: number): { first: number; frames: number[] } {
  const before: number[] = [];
  const after: number[] = [];
  // No more than the laundry has room for: a slow pager is not sent more than it would page by page.
  const most = Math.min(DATA_WRITE_MAX, vm.externalLaundryMax - vm.externalLaundry - vm.externalWriting);
  const room = (): boolean => before.length + after.length + 1 < most;
  for (let i = pageIndex + 1; room(); i++) {
    const d = clusterable(vm, object, i);
    if (d === NIL) break;
    after.push(d);
  }
  for (let i = pageIndex - 1; i >= 0 && room(); i--) {
    const d = clusterable(vm, object, i);
    if (d === NIL) break;
    before.push(d);
  }
  for (const d of before) vm.detachPage(d, object);
  for (const d of after) vm.detachPage(d, object);
  return { first: pageIndex - before.length, frames: [...before.reverse(), victim, ...after] };
}

/** Page `pageIndex` of `object` if it may join a pageout cluster (pageoutCluster), else NIL. */
function clusterable(vm: Kernel, object: VmObject, pageIndex: number): number {
  const pages = vm.pages;
  const d = pages.lookup(object.id, pageIndex);
  if (d === NIL || (pages.flags[d] & (PG_DIRTY | CLUSTER_EXCLUDED)) !== PG_DIRTY || pages.wireCount[d] !== 0) return NIL;
  return vm.policy.isInactive(d - pages.fictitiousCount) ? d : NIL;
}
