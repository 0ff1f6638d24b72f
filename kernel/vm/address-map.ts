/**
 * A task's address map (Mach's vm_map): the sorted, non-overlapping entries
 * [start, start + size) of a task's address space, each mapping a window of
 * a memory object with a protection, a maximum protection and an
 * inheritance. The space runs from one page up to 2^64, as a 64-bit
 * task's: entries start and end on page boundaries, and multiples of a page
 * are exact numbers that far (an offset inside a window stays below 2^53).
 *
 * vm_protect / vm_inherit on part of an entry split it first, as GNU
 * Mach's vm_map_clip_start / vm_map_clip_end do: the pieces map the same
 * object at their own offsets and belong to one mapping (the window vm_map
 * made), whose user sees a protection per piece; neighbouring pieces that
 * end up alike join again (vm_map_simplify). Unlike GNU Mach, the pieces
 * share the mapping's one object reference. A growable entry (the
 * filesystem's file windows, which follow the file) grows at its last piece
 * in place when the space after it is free, and moves whole to a free range
 * when it is not, as mremap(MREMAP_MAYMOVE) does: its users address it
 * relative to its start, so a move is invisible to them.
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
  /** Its mapping grows (up to maxSize) as accesses reach past its end. */
  readonly growable: boolean;
  /** The most the entry's mapping may span from its first piece's start: its size for a fixed entry. */
  readonly maxSize: number;
  /** The pieces of the vm_map this entry belongs to, lowest first (one until a clip splits it). */
  readonly mapping: MapEntry[];
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
      mapping: [],
    };
    entry.mapping.push(entry);
    this.list.splice(this.indexAfter(start), 0, entry);
    return entry;
  }

  /** vm_map_delete of a mapping: the entry and every piece a clip split from it. */
  remove(entry: MapEntry): void {
    for (const piece of entry.mapping) {
      const i = this.list.indexOf(piece);
      if (i >= 0) this.list.splice(i, 1);
    }
  }

  /** Bytes the mapping of `entry` spans now, from its first piece's start (its pieces are contiguous). */
  spanOf(entry: MapEntry): number {
    const pieces = entry.mapping;
    const last = pieces[pieces.length - 1];
    return last.start + last.size - pieces[0].start;
  }

  /**
   * The protection every piece of `entry`'s mapping that covers bytes
   * [at, at + length) from the mapping's start allows (all of them when it
   * is one piece).
   */
  protectionOver(entry: MapEntry, at: number, length: number): VmProt {
    const pieces = entry.mapping;
    if (pieces.length === 1) return pieces[0].protection;
    const start = pieces[0].start + at;
    const end = start + Math.max(1, length);
    let prot = VM_PROT_ALL;
    for (const piece of pieces) if (piece.start < end && start < piece.start + piece.size) prot &= piece.protection;
    return prot;
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
   * Make a growable entry's mapping span at least `size` bytes from its
   * start (page-rounded, at most its maxSize): its last piece grows in place
   * if the range after it is free, else the whole mapping moves.
   */
  grow(entry: MapEntry, size: number): void {
    if (!entry.growable) throw new KernError(KERN_INVALID_ARGUMENT, `the entry at ${entry.start} is not growable`);
    const pieces = entry.mapping;
    const head = pieces[0];
    const last = pieces[pieces.length - 1];
    const want = Math.min(this.round(size), head.maxSize);
    const span = this.spanOf(head);
    if (want <= span) return;
    const i = this.list.indexOf(last);
    if (i < 0) throw new KernError(KERN_INVALID_ADDRESS, 'the entry is not in this map');
    const next = this.list[i + 1];
    const limit = next ? next.start : this.maxAddress;
    if (head.start + want <= limit) {
      last.size += want - span;
      return;
    }
    const first = this.list.indexOf(head);
    this.list.splice(first, pieces.length);
    let to: number;
    try {
      to = this.findSpace(want);
    } catch (err) {
      this.list.splice(first, 0, ...pieces);
      throw err;
    }
    const shift = to - head.start;
    for (const piece of pieces) piece.start += shift;
    last.size += want - span;
    this.list.splice(this.indexAfter(to), 0, ...pieces);
  }

  /**
   * The entries that make up [start, start + size) exactly, after clipping
   * the ones it cuts at its ends (vm_map_clip_start / vm_map_clip_end). The
   * range must be mapped with no hole (KERN_INVALID_ADDRESS, nothing changed).
   */
  clippedEntries(address: number, size: number): MapEntry[] {
    if (!Number.isInteger(address) || !Number.isInteger(size) || size <= 0 || address < 0) throw new KernError(KERN_INVALID_ARGUMENT, `bad range ${address}+${size}`);
    // Page-rounded outwards, as vm_protect's trunc_page / round_page.
    const start = address - (address % this.pageSize);
    const end = this.round(address + size);
    for (let at = start, i = this.indexAfter(start) - 1; at < end; i++) {
      const entry = i >= 0 ? this.list[i] : undefined;
      if (!entry || entry.start > at || entry.start + entry.size <= at) throw new KernError(KERN_INVALID_ADDRESS, `${at} is not mapped`);
      at = entry.start + entry.size;
    }
    this.clip(start);
    this.clip(end);
    const out: MapEntry[] = [];
    for (let i = this.indexAfter(start) - 1; i < this.list.length && this.list[i].start < end; i++) out.push(this.list[i]);
    return out;
  }

  /**
   * vm_protect: set the protection, or with setMaximum the maximum (which
   * lowers the protection with it), of [start, start + size), splitting
   * entries it cuts. Raising the protection past an entry's maximum is
   * KERN_PROTECTION_FAILURE and changes nothing.
   */
  protect(start: number, size: number, setMaximum: boolean, protection: VmProt): void {
    const prot = protection & VM_PROT_ALL;
    const entries = this.clippedEntries(start, size);
    const over = setMaximum ? undefined : entries.find((e) => (prot & ~e.maxProtection) !== 0);
    if (over) {
      this.simplify(start, size); // the clips join again: nothing changed
      throw new KernError(KERN_PROTECTION_FAILURE, `protection ${prot} exceeds the maximum ${over.maxProtection} of the region at ${over.start}`);
    }
    for (const entry of entries) {
      if (setMaximum) {
        entry.maxProtection = prot;
        entry.protection &= prot;
      } else {
        entry.protection = prot;
      }
    }
    this.simplify(start, size);
  }

  /** vm_inherit of [start, start + size), splitting entries it cuts. */
  inherit(start: number, size: number, inheritance: VmInherit): void {
    const value = checkInherit(inheritance);
    for (const entry of this.clippedEntries(start, size)) entry.inheritance = value;
    this.simplify(start, size);
  }

  /** Split the entry that holds `address` inside it in two at `address` (the right piece is new). */
  private clip(address: number): void {
    const entry = this.lookup(address);
    if (!entry || entry.start === address) return;
    const cut = address - entry.start;
    const right: MapEntry = { ...entry, start: address, size: entry.size - cut, offset: entry.offset + cut };
    entry.size = cut;
    this.list.splice(this.list.indexOf(entry) + 1, 0, right);
    entry.mapping.splice(entry.mapping.indexOf(entry) + 1, 0, right);
  }

  /**
   * vm_map_simplify around [start, start + size): neighbouring pieces of one
   * mapping with the same protection, maximum and inheritance join again.
   */
  private simplify(start: number, size: number): void {
    const end = this.round(start + size);
    let i = Math.max(0, this.indexAfter(start) - 2);
    while (i + 1 < this.list.length && this.list[i].start <= end) {
      const a = this.list[i];
      const b = this.list[i + 1];
      const alike =
        a.mapping === b.mapping &&
        a.start + a.size === b.start &&
        a.protection === b.protection &&
        a.maxProtection === b.maxProtection &&
        a.inheritance === b.inheritance;
      if (!alike) {
        i++;
        continue;
      }
      a.size += b.size;
      this.list.splice(i + 1, 1);
      a.mapping.splice(a.mapping.indexOf(b), 1);
    }
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
