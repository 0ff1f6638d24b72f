/**
 * <mach/vm_inherit.h>: what a child task gets of a region when its parent
 * forks (task_create with inherit_memory). There is no fork in machpager;
 * the value is kept per entry, set by vm_map and vm_inherit, and shown by
 * vm_region, as Mach keeps it.
 */
import { KernError, KERN_INVALID_ARGUMENT } from '../ipc/kern-return.js';

export const VM_INHERIT_SHARE = 0;
export const VM_INHERIT_COPY = 1;
export const VM_INHERIT_NONE = 2;
/** What vm_map gives when not told (Mach's VM_INHERIT_DEFAULT). */
export const VM_INHERIT_DEFAULT = VM_INHERIT_COPY;
export type VmInherit = 0 | 1 | 2;

export function isVmInherit(value: number): value is VmInherit {
  return value === VM_INHERIT_SHARE || value === VM_INHERIT_COPY || value === VM_INHERIT_NONE;
}

/** The value as a checked VmInherit, or KERN_INVALID_ARGUMENT. */
export function checkInherit(value: number): VmInherit {
  if (!isVmInherit(value)) throw new KernError(KERN_INVALID_ARGUMENT, `inheritance ${value} is not SHARE (0), COPY (1) or NONE (2)`);
  return value;
}

/** As region_scan prints it: share, copy or none. */
export function inheritString(value: VmInherit): 'share' | 'copy' | 'none' {
  return value === VM_INHERIT_SHARE ? 'share' : value === VM_INHERIT_COPY ? 'copy' : 'none';
}
