/**
 * The frame pool as a picture (the web view's grid): each frame of the pool
 * in order, its state and the object whose page it holds. The state is the
 * first of these that applies:
 *
 * - busy: I/O in progress (a page-in or unlock outstanding), laundry in
 *   transit to a pager, or a frame taken and not yet in an object;
 * - wired: held resident (vm_wire), out of the policy's reach;
 * - dirty: modified and not yet returned to its pager;
 * - inactive / active: the policy's own split (ReplacementPolicy.isInactive:
 *   Mach's queues, ARC's T1/T2, 2Q's A1in/Am, ...), as the counts are;
 * - free: on the free list.
 *
 * Frames a shrink has retired are not part of the pool and are left out.
 * Read once per snapshot, O(frames), off the fault path.
 */
import type { PortName } from '../ipc/message.js';
import type { Kernel } from './kernel.js';
import { PG_BUSY, PG_DIRTY, PG_FREE, PG_LAUNDRY, PG_RETIRED, PG_TABLED } from './resident.js';

export const FRAME_FREE = 0;
export const FRAME_ACTIVE = 1;
export const FRAME_INACTIVE = 2;
export const FRAME_DIRTY = 3;
export const FRAME_BUSY = 4;
export const FRAME_WIRED = 5;

/** The state names, indexed by the FRAME_* numbers. */
export const FRAME_STATES = ['free', 'active', 'inactive', 'dirty', 'busy', 'wired'] as const;
export type FrameState = (typeof FRAME_STATES)[number];

export interface FrameMapObject {
  readonly id: number;
  /** The object's control port: how a pager (and the daemon) knows it. */
  readonly control: PortName;
  /** Served by the default pager (anonymous memory), not by a file's pager. */
  readonly internal: boolean;
}

export interface FrameMap {
  /** FRAME_* per frame of the pool, in frame order. */
  readonly states: Uint8Array;
  /** The id of the object whose page each frame holds; -1 for none. */
  readonly objects: Int32Array;
  /** The objects named in `objects`. */
  readonly owners: ReadonlyMap<number, FrameMapObject>;
}

export function frameMap(vm: Kernel): FrameMap {
  const pages = vm.pages;
  const first = pages.fictitiousCount;
  const end = first + pages.frameSlots;
  const states = new Uint8Array(end - first);
  const objects = new Int32Array(end - first);
  const owners = new Map<number, FrameMapObject>();
  let n = 0;
  for (let d = first; d < end; d++) {
    const flags = pages.flags[d];
    if ((flags & PG_RETIRED) !== 0) continue;
    const id = (flags & PG_TABLED) !== 0 ? pages.objectId[d] : -1;
    states[n] = stateOf(vm, d, flags);
    objects[n] = id;
    if (id >= 0 && !owners.has(id)) {
      const object = vm.objects.get(id);
      if (object) owners.set(id, { id, control: object.control, internal: object.internal });
    }
    n++;
  }
  return { states: states.subarray(0, n), objects: objects.subarray(0, n), owners };
}

function stateOf(vm: Kernel, d: number, flags: number): number {
  if ((flags & PG_FREE) !== 0) return FRAME_FREE;
  if ((flags & (PG_BUSY | PG_LAUNDRY)) !== 0 || (flags & PG_TABLED) === 0) return FRAME_BUSY;
  if (vm.pages.wireCount[d] > 0) return FRAME_WIRED;
  if ((flags & PG_DIRTY) !== 0) return FRAME_DIRTY;
  return vm.policy.isInactive(d - vm.pages.fictitiousCount) ? FRAME_INACTIVE : FRAME_ACTIVE;
}
