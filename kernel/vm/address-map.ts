/**
 * A task's address map (Mach's vm_map): the sorted, non-overlapping entries
 * [start, start + size) of a task's address space, each mapping a window of
 * a memory object with a protection, a maximum protection and an
 * inheritance. The space runs from one page up to 2^64, as a 64-bit
 * task's: entries start and end on page boundaries, and multiples of a page
 * are exact numbers that far (an offset inside a window stays below 2^53).
 *
 * Differences from GNU Mach, said once: an entry is one mapping as vm_map
 * made it, and vm_protect / vm_inherit change whole entries (no clipping:
 * a range that cuts an entry is KERN_INVALID_ARGUMENT). A growable entry
 * (the filesystem's file windows, which follow the file) grows in place
 * when the space after it is free, and moves to a free range when it is not,
 * as mremap(MREMAP_MAYMOVE) does: its users address it relative to its
 * start, so a move is invisible to them.
 */
import { KernError, KERN_INVALID_ADDRESS, KERN_INVALID_ARGUMENT, KERN_NO_SPACE, KERN_PROTECTION_FAILURE } from '../ipc/kern-return.js';
import { checkInherit, type VmInherit } from './inherit.js';
import type { VmObject } from './object.js';
import { VM_PROT_ALL, type VmProt } from './prot.js';

export interface MapEntry {
  start: number;
  size: number;
  protection: VmProt;
  maxProtection: VmProt;
  inheritance: VmInherit;
  readonly object: VmObject;
  /** Offset in the object of the entry's first byte. */
  readonly offset: number;
  /** Grows (up to maxSize) as accesses reach past its end. */
  readonly growable: boolean;
  /** The most the entry may span: its size for a fixed entry. */
  readonly maxSize: number;
}

export interface EntrySpec {
  size: number;
  object: VmObject;
  offset: number;
  protection: VmProt;
  maxProtection: VmProt;
  inheritance: VmInherit;
  /** Grow up to this many bytes (a growable entry); default: size (fixed). */
  maxSize?: number;
  /** Map at this address (vm_map with anywhere false); default: the first free range. */
  address?: number;
}

export class AddressMap {
  private readonly list: MapEntry[] = [];

  constructor(
    readonly pageSize: number,
    /** The lowest address: page 0 stays unmapped, as in a task. */
    readonly minAddress = pageSize,
    readonly maxAddress = 2 ** 64,
  ) {}

  get entries(): readonly MapEntry[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** vm_map_enter: a new entry at `address`, or at the first free range that holds it. */
  insert(spec: EntrySpec): MapEntry {
    const size = this.round(spec.size);
    if (size <= 0 || size > this.maxAddress - this.minAddress) throw new KernError(KERN_INVALID_ARGUMENT, `cannot map ${spec.size} bytes`);
    if ((spec.protection & ~spec.maxProtection & VM_PROT_ALL) !== 0)
      throw new KernError(KERN_PROTECTION_FAILURE, `protection ${spec.protection} exceeds the maximum ${spec.maxProtection}`);
    const maxSize = Math.max(size, spec.maxSize ?? size);
    let start: number;
    if (spec.address !== undefined) {
      start = spec.address;
      if (!Number.isInteger(start) || start % this.pageSize !== 0 || start < this.minAddress || start + size > this.maxAddress)
        throw new KernError(KERN_INVALID_ADDRESS, `cannot map at ${start}`);
      if (!this.isFree(start, size)) throw new KernError(KERN_NO_SPACE, `${start}+${size} overlaps a mapping`);
    } else {
      start = this.findSpace(size);
    }
    const entry: MapEntry = {
      start,
      size,
      protection: spec.protection,
      maxProtection: spec.maxProtection,
      inheritance: spec.inheritance,
      object: spec.object,
      offset: spec.offset,
      growable: spec.maxSize !== undefined,
      maxSize,
    };
    this.list.splice(this.indexAfter(start), 0, entry);
    return entry;
  }

  /** vm_map_delete of one entry. */
  remove(entry: MapEntry): void {
    const i = this.list.indexOf(entry);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** vm_map_lookup_entry: the entry that holds `address`. */
  lookup(address: number): MapEntry | undefined {
    const i = this.indexAfter(address) - 1;
    const entry = i >= 0 ? this.list[i] : undefined;
    return entry && address < entry.start + entry.size ? entry : undefined;
  }

  /** vm_region's choice: the entry that holds `address`, or else the first one after it. */
  regionFrom(address: number): MapEntry | undefined {
    return this.lookup(address) ?? this.list[this.indexAfter(address)];
  }

  /**
   * Make a growable entry span at least `size` bytes (page-rounded, at most
   * its maxSize): in place if the range after it is free, else moved.
   */
  grow(entry: MapEntry, size: number): void {
    if (!entry.growable) throw new KernError(KERN_INVALID_ARGUMENT, `the entry at ${entry.start} is not growable`);
    const want = Math.min(this.round(size), entry.maxSize);
    if (want <= entry.size) return;
    const i = this.list.indexOf(entry);
    if (i < 0) throw new KernError(KERN_INVALID_ADDRESS, 'the entry is not in this map');
    const next = this.list[i + 1];
    const limit = next ? next.start : this.maxAddress;
    if (entry.start + want <= limit) {
      entry.size = want;
      return;
    }
    this.list.splice(i, 1);
    try {
      entry.start = this.findSpace(want);
    } catch (err) {
      this.list.splice(i, 0, entry);
      throw err;
    }
    entry.size = want;
    this.list.splice(this.indexAfter(entry.start), 0, entry);
  }

  /**
   * The entries that make up [start, start + size) exactly: it must begin
   * at an entry's start, end at an entry's end and have no hole.
   */
  wholeEntries(start: number, size: number): MapEntry[] {
    if (!Number.isInteger(start) || !Number.isInteger(size) || size <= 0) throw new KernError(KERN_INVALID_ARGUMENT, `bad range ${start}+${size}`);
    const end = start + size;
    const out: MapEntry[] = [];
    let at = start;
    for (let i = this.indexAfter(start) - 1; at < end; i++) {
      const entry = i >= 0 ? this.list[i] : undefined;
      if (!entry || entry.start > at || entry.start + entry.size <= at) throw new KernError(KERN_INVALID_ADDRESS, `${at} is not mapped`);
      if (entry.start !== at || entry.start + entry.size > end)
        throw new KernError(KERN_INVALID_ARGUMENT, `${start}+${size} cuts the entry at ${entry.start}+${entry.size} (whole entries only)`);
      out.push(entry);
      at = entry.start + entry.size;
    }
    return out;
  }

  /**
   * vm_protect over whole entries: set the protection, or with setMaximum
   * the maximum (which lowers the protection with it). Raising the
   * protection past an entry's maximum is KERN_PROTECTION_FAILURE and
   * changes nothing.
   */
  protect(start: number, size: number, setMaximum: boolean, protection: VmProt): void {
    const entries = this.wholeEntries(start, size);
    const prot = protection & VM_PROT_ALL;
    if (!setMaximum) {
      const over = entries.find((e) => (prot & ~e.maxProtection) !== 0);
      if (over) throw new KernError(KERN_PROTECTION_FAILURE, `protection ${prot} exceeds the maximum ${over.maxProtection} of the region at ${over.start}`);
    }
    for (const entry of entries) {
      if (setMaximum) {
        entry.maxProtection = prot;
        entry.protection &= prot;
      } else {
        entry.protection = prot;
      }
    }
  }

  /** vm_inherit over whole entries. */
  inherit(start: number, size: number, inheritance: VmInherit): void {
    const value = checkInherit(inheritance);
    for (const entry of this.wholeEntries(start, size)) entry.inheritance = value;
  }

  private round(size: number): number {
    return Math.ceil(size / this.pageSize) * this.pageSize;
  }

  /** The first free range of `size` bytes (first fit), or KERN_NO_SPACE. */
  private findSpace(size: number): number {
    let at = this.minAddress;
    for (const entry of this.list) {
      if (entry.start - at >= size) return at;
      at = Math.max(at, entry.start + entry.size);
    }
    if (this.maxAddress - at >= size) return at;
    throw new KernError(KERN_NO_SPACE, `no free range of ${size} bytes`);
  }

  private isFree(start: number, size: number): boolean {
    const i = this.indexAfter(start);
    const before = this.list[i - 1];
    const after = this.list[i];
    return (!before || before.start + before.size <= start) && (!after || start + size <= after.start);
  }

  /** The index of the first entry starting after `address`. */
  private indexAfter(address: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid].start <= address) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
