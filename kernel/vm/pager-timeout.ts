/**
 * The pager timeout: a fault that has waited longer than `pagerTimeoutMs`
 * for a pager's answer fails with EIO, so a pager that never answers cannot
 * hang a program for ever (DESIGN.md's "no fault waits for ever"). Mach has
 * no such bound: it trusts its pagers. The waits bounded are those on an
 * answer to something the kernel sent:
 *
 * - data_request: the request's placeholders are dropped, their faults fail
 *   with EIO, and a later access asks again. A late data_supply then finds
 *   no placeholder and enters as an unrequested page, or fills the
 *   placeholder of a newer request for that page (the pager's data is as
 *   good for it); a late data_error or data_unavailable acts only on a newer
 *   request's placeholder. Nothing is counted twice: each placeholder is
 *   taken out (absent_count, waiters) exactly once.
 * - data_unlock: unlock_request is cleared and the faults waiting for the
 *   lock to drop fail with EIO; the next access asks again.
 * - init: faults waiting for ready fail with EIO; the object stays, and the
 *   next access waits again.
 *
 * Objects of the default pager are not timed: the kernel trusts its own
 * default pager (as Mach does), and a double-paged page read back from swap
 * must not be lost to a slow disk. Waits on the pager side (sync, fsync) are
 * the pager's business.
 *
 * One timer for the whole kernel, armed only while something waits on a
 * pager, for the earliest deadline (deadlines come in the order waits start,
 * since the timeout is one value). When it fires it sweeps the placeholders,
 * the outstanding unlocks and the objects not yet ready. The cache-hit path
 * sees none of it; a miss stamps its placeholders with the time.
 */
import { performance } from 'node:perf_hooks';
import { EIO } from './errno.js';
import { dropPlaceholder } from './fault.js';
import type { Kernel } from './kernel.js';
import type { VmObject } from './object.js';
import { PG_ABSENT, PG_BUSY, PG_HOLDING, PG_TABLED } from './resident.js';

interface UnlockWait {
  readonly object: VmObject;
  readonly pageIndex: number;
  readonly sentAt: number;
}

interface ExpiredRequest {
  readonly object: VmObject;
  first: number;
  last: number;
}

const OUTSTANDING = PG_BUSY | PG_ABSENT | PG_TABLED;

export class PagerTimeouts {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Per fictitious descriptor: when the data_request it stands for was sent (0: not timed). */
  private readonly sentAt: Float64Array;
  /** Per fictitious descriptor: which request (a timed-out request is counted once). */
  private readonly requestId: Uint32Array;
  private lastRequest = 0;
  private requestTime = 0;
  /** Outstanding data_unlocks by page descriptor. */
  private readonly unlocks = new Map<number, UnlockWait>();
  /** Objects faults wait on for ready. */
  private readonly unready = new Set<VmObject>();

  constructor(
    private readonly vm: Kernel,
    /** 0: never time out. */
    readonly timeoutMs: number,
  ) {
    const n = timeoutMs > 0 ? vm.pages.fictitiousCount : 0;
    this.sentAt = new Float64Array(n);
    this.requestId = new Uint32Array(n);
  }

  /** A data_request for `object` is about to go out: its id for stamp(), 0 when it is not timed. */
  startRequest(object: VmObject): number {
    if (this.timeoutMs <= 0 || object.internal) return 0;
    this.requestTime = performance.now();
    this.lastRequest = this.lastRequest === 0xffff_ffff ? 1 : this.lastRequest + 1;
    this.arm();
    return this.lastRequest;
  }

  /** Placeholder `d` stands for request `request` (from startRequest; 0: not timed). */
  stamp(d: number, request: number): void {
    if (this.sentAt.length === 0) return;
    this.sentAt[d] = request === 0 ? 0 : this.requestTime;
    this.requestId[d] = request;
  }

  /** A data_unlock for page descriptor `d` went out. */
  unlockSent(d: number, object: VmObject, pageIndex: number): void {
    if (this.timeoutMs <= 0 || object.internal) return;
    this.unlocks.set(d, { object, pageIndex, sentAt: performance.now() });
    this.arm();
  }

  /**
   * Wait for `object`'s pager to be ready (or gone). Resolves to 0 when the
   * caller should look again, EIO when the pager has not answered init in time.
   */
  async waitForReady(object: VmObject): Promise<number> {
    if (this.timeoutMs <= 0 || object.internal) {
      await new Promise<void>((resolve) => object.readyWaiters.push(resolve));
      return 0;
    }
    const since = performance.now();
    for (;;) {
      // The object's deadline is its longest-waiting fault's.
      if (object.readyWaiters.length === 0 || since < object.readyWaitSince) object.readyWaitSince = since;
      this.unready.add(object);
      this.arm();
      await new Promise<void>((resolve) => object.readyWaiters.push(resolve));
      if (object.pagerReady || !object.hasPager() || this.stopped) return 0;
      if (performance.now() - since >= this.timeoutMs) return EIO;
    }
  }

  /** Outstanding unlocks being timed (for tests and describeWaits). */
  get unlockCount(): number {
    return this.unlocks.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delay = this.timeoutMs): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => this.sweep(), Math.max(1, delay));
    // A timer of ours never keeps a process alive on its own.
    this.timer.unref();
  }

  /** Fail what has waited too long; re-arm for the earliest deadline left. */
  private sweep(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = performance.now();
    const oldest = Math.min(this.sweepRequests(now), this.sweepUnlocks(now), this.sweepReady(now));
    if (oldest < Infinity) this.arm(oldest + this.timeoutMs - now);
  }

  /** Returns when the oldest request still in time was sent (Infinity: none). */
  private sweepRequests(now: number): number {
    const vm = this.vm;
    const pages = vm.pages;
    const flags = pages.flags;
    let oldest = Infinity;
    let expired: Map<number, ExpiredRequest> | undefined;
    for (let d = 0; d < this.sentAt.length; d++) {
      if ((flags[d] & (OUTSTANDING | PG_HOLDING)) !== OUTSTANDING) continue;
      const at = this.sentAt[d];
      if (at === 0) continue;
      if (now - at < this.timeoutMs) {
        if (at < oldest) oldest = at;
        continue;
      }
      const object = vm.objects.get(pages.objectId[d]);
      if (!object) continue;
      const pageIndex = pages.pageIndex[d];
      const id = this.requestId[d];
      const seen = (expired ??= new Map<number, ExpiredRequest>()).get(id);
      if (seen) {
        seen.first = Math.min(seen.first, pageIndex);
        seen.last = Math.max(seen.last, pageIndex);
      } else {
        expired.set(id, { object, first: pageIndex, last: pageIndex });
      }
      this.sentAt[d] = 0;
      dropPlaceholder(vm, object, d, EIO);
    }
    if (expired) {
      for (const { object, first, last } of expired.values()) {
        vm.stats.pager_timeouts++;
        const range = first === last ? `page ${first}` : `pages ${first}-${last}`;
        vm.log(`pager timeout: object ${object.id}: no answer to data_request (${range}) in ${this.timeoutMs} ms; its faults fail with EIO`);
      }
    }
    return oldest;
  }

  private sweepUnlocks(now: number): number {
    const pages = this.vm.pages;
    let oldest = Infinity;
    for (const [d, wait] of this.unlocks) {
      const { object, pageIndex, sentAt } = wait;
      // Answered (lock_request clears unlock_request), or the page is gone.
      if (pages.objectId[d] !== object.id || pages.pageIndex[d] !== pageIndex || pages.unlockRequest[d] === 0) {
        this.unlocks.delete(d);
        continue;
      }
      if (now - sentAt < this.timeoutMs) {
        oldest = Math.min(oldest, sentAt);
        continue;
      }
      this.unlocks.delete(d);
      pages.unlockRequest[d] = 0;
      pages.wakeup(d, EIO);
      this.vm.stats.pager_timeouts++;
      this.vm.log(`pager timeout: object ${object.id}: no answer to data_unlock (page ${pageIndex}) in ${this.timeoutMs} ms; its faults fail with EIO`);
    }
    return oldest;
  }

  private sweepReady(now: number): number {
    let oldest = Infinity;
    for (const object of this.unready) {
      if (object.pagerReady || !object.hasPager() || object.readyWaiters.length === 0) {
        this.unready.delete(object);
        continue;
      }
      if (now - object.readyWaitSince < this.timeoutMs) {
        oldest = Math.min(oldest, object.readyWaitSince);
        continue;
      }
      // Each fault checks its own wait: those in time wait again (and put the object back).
      this.unready.delete(object);
      this.vm.stats.pager_timeouts++;
      this.vm.log(`pager timeout: object ${object.id}: no answer to init in ${this.timeoutMs} ms; faults waiting for it fail with EIO`);
      for (const wake of object.readyWaiters.splice(0)) wake();
    }
    return oldest;
  }
}
