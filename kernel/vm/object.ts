/**
 * Memory objects as the kernel sees them (struct vm_object): the pager's
 * port, the control and name ports the kernel made for it, the attributes
 * the pager set, reference and page counts, and its resident pages (memq).
 */
import { MACH_PORT_NULL, type PortName } from '../ipc/message.js';
import { MEMORY_OBJECT_COPY_DELAY, type CopyStrategy } from './prot.js';
import { ReadAheadState } from './readahead.js';
import type { MemqOwner } from './resident.js';

export type ObjectState =
  /** init sent, waiting for ready / change_attributes (faults block). */
  | 'initializing'
  | 'ready'
  /** Being terminated: a new map waits until terminate is queued. */
  | 'terminating'
  /** Terminated, destroyed, or its pager died. */
  | 'dead';

export interface ObjectStatistics {
  faults: number;
  hits: number;
  pageins: number;
  pageouts: number;
  zero_fills: number;
  evictions: number;
  /** Pages brought in ahead of demand (PG_READAHEAD). */
  readahead_pages: number;
  /** Of those, pages a demand access used later. */
  readahead_hits: number;
  /** Of those, pages freed before any access. */
  readahead_unused: number;
}

export class VmObject implements MemqOwner {
  memqHead = -1;
  state: ObjectState = 'initializing';
  /** Mappings and other users (vm_object.ref_count). */
  refCount = 0;
  residentCount = 0;
  dirtyCount = 0;
  /**
   * Every dirty page's index lies in [dirtyFirst, dirtyEnd) (empty while
   * dirtyCount is 0): a sync looks there only, not at every resident page,
   * so an fsync after a small write costs what was written, not the cache.
   */
  dirtyFirst = Infinity;
  dirtyEnd = 0;
  /** Some page was ever supplied precious (a sync returning ALL must then look at clean pages too). */
  preciousSupplied = false;
  /** Busy+absent placeholders: requests outstanding (absent_count). */
  absentCount = 0;
  /** Pageouts in progress that keep the object from terminating (paging_in_progress). */
  pagingInProgress = 0;
  /** Pages returned to this object's external pager and not yet written by it (in transit or being written). */
  laundry = 0;
  /** pager_ready: set by ready / change_attributes; faults wait for it. */
  pagerReady = false;
  /** can_persist (may_cache). */
  canPersist = false;
  copyStrategy: CopyStrategy = MEMORY_OBJECT_COPY_DELAY;
  /** Data is discarded at termination (COPY_TEMPORARY, or an internal object). */
  temporary = false;
  /** On the cached list: no references, pages kept. */
  cached = false;
  /** The pager died or destroyed the object: faults on absent pages fail. */
  pagerGone = false;
  /** Sequential-access detection and the read-ahead window. */
  readonly readAhead = new ReadAheadState();
  /**
   * The backing object (vm_object.shadow): pages this object does not hold
   * are looked up there, at page index + shadowOffset. The object holds a
   * reference on it.
   */
  shadow: VmObject | undefined = undefined;
  shadowOffset = 0;
  /** The newest delayed copy of this object (vm_object.copy): writes push the old page into it first. Not a reference. */
  copy: VmObject | undefined = undefined;
  /** Pages of this object a copy keeps (pushes past them are not needed): a private copy's window size. */
  sizePages = Infinity;
  /**
   * For an internal object with a shadow: the pages it holds data for
   * itself, resident or with the default pager (GNU Mach's existence map).
   * A page not in it is read from the shadow.
   */
  readonly existence = new Set<number>();
  /**
   * The existence set of an external object is complete (a delayed copy
   * linked with delayed-copy.ts): a page not in it is read from the shadow
   * without asking the object's pager. Internal objects' always is.
   */
  existenceKnown = false;

  readonly stats: ObjectStatistics = {
    faults: 0,
    hits: 0,
    pageins: 0,
    pageouts: 0,
    zero_fills: 0,
    evictions: 0,
    readahead_pages: 0,
    readahead_hits: 0,
    readahead_unused: 0,
  };

  /** Resolved when pager_ready becomes true (or the object dies). */
  readyWaiters: (() => void)[] = [];
  /** When the longest-waiting fault in readyWaiters began to wait (the pager timeout's clock). */
  readyWaitSince = 0;
  /** Resolved when absent_count drops below the throttle. */
  absentWaiters: (() => void)[] = [];
  /** Resolved when paging_in_progress reaches zero. */
  pagingWaiters: (() => void)[] = [];
  /** Resolved when terminate has been queued (for maps waiting on a terminating object). */
  terminatedWaiters: (() => void)[] = [];

  constructor(
    readonly id: number,
    /** The memory object port (the kernel holds a send right). */
    readonly pager: PortName,
    /** Control port (pager_request): the kernel holds the receive right. */
    readonly control: PortName,
    /** Name port: the kernel holds the receive right. */
    readonly name: PortName,
    /** Created by the kernel and served by the default pager. */
    readonly internal: boolean,
  ) {
    if (internal) this.temporary = true;
  }

  get alive(): boolean {
    return this.state === 'initializing' || this.state === 'ready';
  }

  /** The key policies use to recognise this page again (object id and page index). */
  pageKey(pageIndex: number): number {
    return this.id * 4294967296 + (pageIndex % 4294967296);
  }

  hasPager(): boolean {
    return this.pager !== MACH_PORT_NULL && !this.pagerGone;
  }
}

export function wakeAll(waiters: (() => void)[]): void {
  for (const wake of waiters.splice(0)) wake();
}

/** Page `pageIndex` of `object` became dirty: widen the object's dirty range over it. */
export function noteDirty(object: VmObject, pageIndex: number): void {
  if (pageIndex < object.dirtyFirst) object.dirtyFirst = pageIndex;
  if (pageIndex >= object.dirtyEnd) object.dirtyEnd = pageIndex + 1;
}

/** The object's last dirty page went clean (or away): its dirty range is empty again. */
export function noDirtyLeft(object: VmObject): void {
  object.dirtyFirst = Infinity;
  object.dirtyEnd = 0;
}
