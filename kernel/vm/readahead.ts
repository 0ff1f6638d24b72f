/**
 * Read-ahead, as Linux's mm/readahead.c and XNU's cluster_read do it, per
 * memory object: an access that continues the previous one is sequential. A read fault of a sequential stream asks for its
 * own pages and then, in a second data_request it does not wait for, for a
 * window of pages ahead; the window grows (doubles) at each step up to the
 * cluster limit and drops to nothing at a random access. The first page of
 * the window requested ahead is the marker (Linux's PG_readahead page):
 * when the reader touches it, the next window is requested, so the store
 * reads ahead while the program consumes what is there.
 *
 * Pages that arrive ahead of demand carry PG_READAHEAD; the rest of a
 * demand cluster (pages the faulting copy wants but did not wait on) carry
 * PG_CLUSTERED. The first demand access clears them: a read-ahead page
 * counts as a read-ahead hit and a clustered page as a miss, neither as a
 * demand hit (cachestat's hits). A read-ahead page freed before any access
 * counts as read-ahead unused (kernel.ts detachPage).
 */
import { heldBelow, requestPages } from './fault.js';
import type { Kernel } from './kernel.js';
import type { VmObject } from './object.js';
import { ABSENT_MAX } from './vm-param.js';
import { VM_PROT_READ } from './prot.js';
import { PG_BUSY, PG_CLUSTERED, PG_PREFETCH, PG_READAHEAD } from './resident.js';

const NIL = -1;
/** The smallest window: a stream of one-page reads still reads ahead this many. */
const MIN_WINDOW_PAGES = 4;

/** One object's read-ahead state (Linux's struct file_ra_state). */
export class ReadAheadState {
  /** The page after the last access (-1: no access yet). */
  nextPage = -1;
  /** The byte after the last access. */
  nextOffset = -1;
  /** The last access's verdict: it continued the stream. */
  sequential = false;
  /** Pages requested ahead at the last step (0: no stream). */
  window = 0;
  /** First page of the last window requested ahead: touching it requests the next (-1: none). */
  marker = -1;
  /** First page past the last window requested ahead. */
  end = 0;

  /** A random access: no stream, no window. */
  reset(): void {
    this.window = 0;
    this.marker = -1;
    this.end = 0;
  }
}

/**
 * Note an access to [offset, offset + length) of `object`; returns true
 * when it continues the previous access: it starts at the byte where that
 * one ended (reads that are not page-aligned), or at the page after it.
 * Reading the same place again is not a stream. The first access is not a
 * stream yet: the second one that continues it is (a program that reads
 * one block and stops costs no read-ahead).
 */
export function noteAccess(vm: Kernel, object: VmObject, offset: number, length: number): boolean {
  const ra = object.readAhead;
  const first = Math.floor(offset / vm.pageSize);
  const end = offset + Math.max(length, 1);
  ra.sequential = ra.nextPage !== -1 && (first === ra.nextPage || offset === ra.nextOffset);
  ra.nextPage = Math.floor((end - 1) / vm.pageSize) + 1;
  ra.nextOffset = end;
  if (!ra.sequential) ra.reset();
  return ra.sequential;
}

/** The window after `window` pages for a copy that wants `want`: Linux's get_init_ra_size and get_next_ra_size. */
export function nextWindow(window: number, want: number, max: number): number {
  if (window === 0) return Math.min(max, Math.max(MIN_WINDOW_PAGES, want * 2));
  return Math.min(max, window * 2);
}

/**
 * Whether a read fault on `pageIndex` starts the next window (after its own
 * request is out: readAheadAfterFault): on a sequential stream, when the
 * page is missing (a sequential miss) or is in a window requested ahead
 * that the reader caught up with (a busy read-ahead placeholder: Linux's
 * marker found locked). Not when it waits on another fault's request, a
 * lock or an error.
 */
export function readAheadAtFault(vm: Kernel, object: VmObject, pageIndex: number): boolean {
  if (!object.readAhead.sequential) return false;
  const d = vm.pages.lookup(object.id, pageIndex);
  return d === NIL || (vm.pages.flags[d] & (PG_BUSY | PG_PREFETCH)) === (PG_BUSY | PG_PREFETCH);
}

/**
 * A read fault of a sequential stream has asked for pages [pageIndex,
 * pageIndex + want): request the window ahead of them (or, if the stream
 * caught up with a window still in flight, the one after it).
 */
export function readAheadAfterFault(vm: Kernel, object: VmObject, pageIndex: number, want: number): void {
  advance(vm, object, pageIndex + want, want);
}

/**
 * The first demand access to a page brought in by read-ahead or with a
 * cluster (`flags` has PG_READAHEAD or PG_CLUSTERED): clear the flag, count
 * the read-ahead hit, and at the marker request the next window.
 */
export function firstTouch(vm: Kernel, object: VmObject, d: number, flags: number): void {
  const pages = vm.pages;
  pages.flags[d] = flags & ~(PG_READAHEAD | PG_CLUSTERED);
  if ((flags & PG_READAHEAD) === 0) return;
  vm.stats.readahead_hits++;
  object.stats.readahead_hits++;
  const ra = object.readAhead;
  const pageIndex = pages.pageIndex[d];
  if (ra.sequential && ra.marker !== NIL && pageIndex >= ra.marker) advance(vm, object, pageIndex + 1, 1);
}

/**
 * Request the next window, from the end of the last one or `from`,
 * whichever is further, without waiting for it. Nothing is requested when
 * the pager is not ready, the object has its requests' worth outstanding,
 * free frames are short, or placeholders run low (they are for demand
 * faults first).
 */
function advance(vm: Kernel, object: VmObject, from: number, want: number): void {
  const ra = object.readAhead;
  const pages = vm.pages;
  const window = nextWindow(ra.window, want, vm.maxClusterPages);
  let start = Math.max(ra.end, from);
  const end = start + window;
  // Pages an object's shadow holds are read ahead there (a delayed copy reads its source's).
  let target = holderOf(object, start);
  while (start < end && pages.lookup(target.object.id, target.pageIndex) !== NIL) target = holderOf(object, ++start);
  ra.window = window;
  ra.marker = NIL;
  if (start >= end) {
    ra.end = end;
    return;
  }
  const holder = target.object;
  if (!holder.hasPager() || !holder.pagerReady || vm.isShutDown || vm.allocPaused || holder.absentCount >= ABSENT_MAX) return;
  if (pages.freeFictitiousCount <= pages.fictitiousCount / 4) return;
  const count = requestPages(vm, holder, target.pageIndex, 0, end - start, VM_PROT_READ);
  if (count === 0) return;
  ra.marker = start;
  ra.end = start + count;
}

/** The object down `object`'s chain that holds page `pageIndex`, without asking a pager (heldBelow), and the index there. */
function holderOf(object: VmObject, pageIndex: number): { object: VmObject; pageIndex: number } {
  let o = object;
  let i = pageIndex;
  while (heldBelow(o, i)) {
    i += o.shadowOffset;
    o = o.shadow as VmObject;
  }
  return { object: o, pageIndex: i };
}
