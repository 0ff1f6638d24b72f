/** <mach/vm_prot.h>, <mach/memory_object.h>: the protocol's constant values. */

export const VM_PROT_NONE = 0;
export const VM_PROT_READ = 1;
export const VM_PROT_WRITE = 2;
export const VM_PROT_EXECUTE = 4;
export const VM_PROT_ALL = 7;
/** lock_request only: leave page_lock as it is. */
export const VM_PROT_NO_CHANGE = 8;
export type VmProt = number;

export const MEMORY_OBJECT_COPY_NONE = 0;
export const MEMORY_OBJECT_COPY_CALL = 1;
export const MEMORY_OBJECT_COPY_DELAY = 2;
export const MEMORY_OBJECT_COPY_TEMPORARY = 3;
export type CopyStrategy = 0 | 1 | 2 | 3;

export const MEMORY_OBJECT_RETURN_NONE = 0;
export const MEMORY_OBJECT_RETURN_DIRTY = 1;
export const MEMORY_OBJECT_RETURN_ALL = 2;
export type ReturnPolicy = 0 | 1 | 2;

export function isCopyStrategy(value: number): value is CopyStrategy {
  return value === 0 || value === 1 || value === 2 || value === 3;
}

export function isReturnPolicy(value: number): value is ReturnPolicy {
  return value === 0 || value === 1 || value === 2;
}

export function protString(prot: VmProt): string {
  if (prot === VM_PROT_NO_CHANGE) return 'NO_CHANGE';
  return (
    (prot & VM_PROT_READ ? 'r' : '-') + (prot & VM_PROT_WRITE ? 'w' : '-') + (prot & VM_PROT_EXECUTE ? 'x' : '-')
  );
}
