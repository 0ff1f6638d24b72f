/**
 * What a fault is waiting for, while it waits: the thread state GNU Mach
 * keeps in thread->wait_event (vm_fault's PAGE_ASSERT_WAIT on a busy page,
 * VM_PAGE_WAIT for a free page, the wait for the pager's data) and Minix
 * keeps in a process's RTS flags (RTS_PAGEFAULT until VM replies). A caller
 * that wants to show a suspended copy passes one of these down through
 * memcpy; fault() sets it before each wait and clears it after.
 */
import { performance } from 'node:perf_hooks';

export type FaultWaitReason =
  /** Our data_request is out; the pager has not supplied the page. */
  | 'data_request'
  /** The page is supplied locked against this access; data_unlock is out. */
  | 'data_unlock'
  /** No frame (or placeholder, or room in the absent throttle) now: the pageout daemon must free one. */
  | 'free_frame'
  /** Another fault's request, or a pageout, holds the page busy. */
  | 'busy_page'
  /** The object's pager has not answered memory_object_init yet. */
  | 'pager_init';

export const FAULT_WAIT_REASONS: readonly FaultWaitReason[] = ['data_request', 'data_unlock', 'free_frame', 'busy_page', 'pager_init'];

export class FaultWait {
  /** What the fault waits for now; undefined while it runs (or once done). */
  reason: FaultWaitReason | undefined;
  /** The object and page the fault is for. */
  object = 0;
  offset = 0;
  /** When the current wait began (performance.now() ms). */
  since = 0;

  /** fault() is about to wait for `reason` on `object`'s page at `offset`. */
  begin(reason: FaultWaitReason, object: number, offset: number): void {
    if (this.reason !== reason || this.object !== object || this.offset !== offset) this.since = performance.now();
    this.reason = reason;
    this.object = object;
    this.offset = offset;
  }

  /** The wait is over; the fault runs again. */
  end(): void {
    this.reason = undefined;
  }
}
