/**
 * vm_map's arguments past the object's range (Mach's cur_protection,
 * max_protection, inheritance, and machpager's growable windows), checked
 * and turned into what the address map enters.
 */
import { KernError, KERN_INVALID_ARGUMENT, KERN_PROTECTION_FAILURE } from '../ipc/kern-return.js';
import { checkInherit, VM_INHERIT_DEFAULT, type VmInherit } from './inherit.js';
import { VM_PROT_ALL, type VmProt } from './prot.js';

export interface VmMapOptions {
  /** Default VM_PROT_ALL. */
  protection?: VmProt;
  /** Default VM_PROT_ALL; vm_protect can never raise the protection above it. */
  maxProtection?: VmProt;
  /** Default VM_INHERIT_COPY. */
  inheritance?: VmInherit;
  /**
   * Map `initialSize` bytes now and let the region grow with the copies, up
   * to the size mapped (the filesystem's file windows, which follow their
   * file). Default: the whole size now.
   */
  initialSize?: number;
}

/** An entry's shape before it has an address and an object. */
export interface MapSpec {
  size: number;
  protection: VmProt;
  maxProtection: VmProt;
  inheritance: VmInherit;
  /** Present for a growable entry: the most it may grow to. */
  maxSize?: number;
}

/** The options (or a bare protection) of a vm_map of `size` bytes, checked. */
export function mapSpec(options: VmProt | VmMapOptions, size: number, pageSize: number): MapSpec {
  const opts = typeof options === 'number' ? { protection: options } : options;
  const protection = opts.protection ?? VM_PROT_ALL;
  const maxProtection = opts.maxProtection ?? VM_PROT_ALL;
  const inheritance = checkInherit(opts.inheritance ?? VM_INHERIT_DEFAULT);
  if ((protection & ~maxProtection & VM_PROT_ALL) !== 0)
    throw new KernError(KERN_PROTECTION_FAILURE, `protection ${protection} exceeds the maximum ${maxProtection}`);
  const initial = opts.initialSize;
  if (initial === undefined) return { size, protection, maxProtection, inheritance };
  if (!Number.isSafeInteger(initial) || initial < 0 || initial > size)
    throw new KernError(KERN_INVALID_ARGUMENT, `initial size ${initial} is not within the ${size} bytes mapped`);
  return { size: Math.max(pageSize, initial), protection, maxProtection, inheritance, maxSize: size };
}
