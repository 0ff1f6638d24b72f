/**
 * A mapping of a memory object: a window of [offset, offset + size) of the
 * object, held by one entry of its task's address map (address-map.ts), whose
 * protection it obeys (vm_protect changes it under the window's feet: a write
 * through a read-only region is KERN_PROTECTION_FAILURE). Addresses given
 * to its methods are relative to the window. Clients use it as a task uses
 * mapped memory: copying in and out goes through the page cache and the
 * pager, exactly as pager_memcpy does in the Hurd. A growable window's entry
 * grows as copies reach past its end (up to the window's size).
 */
import { KernError, KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE } from '../ipc/kern-return.js';
import { EFBIG, MAX_OFFSET } from './errno.js';
import type { AddressMap, MapEntry } from './address-map.js';
import type { FaultWait } from './fault-wait.js';
import type { Kernel } from './kernel.js';
import { copySync, memcpy, type MemcpyResult } from './memcpy.js';
import { noteAccess } from './readahead.js';
import type { VmObject } from './object.js';
import { releaseObject } from './object-lifecycle.js';
import { VM_PROT_READ, VM_PROT_WRITE, type VmProt } from './prot.js';
import { mincore } from './mincore.js';
import { needsPush, pushRange } from './shadow.js';
import { handOverToCopy, limitDelayedCopy, linkDelayedCopy, unlinkDelayedCopy } from './delayed-copy.js';
import { wirePages, unwirePages } from './wire.js';

export class VmWindow {
  private deallocated = false;
  private wired = false;

  constructor(
    readonly kernel: Kernel,
    /** The map of the task that mapped the window, and the window's entry in it. */
    readonly map: AddressMap,
    readonly entry: MapEntry,
    /** Bytes the window may span (a growable entry's maximum). */
    readonly size: number,
    /** Called once the entry is out of the map (the task's map may be forgotten). */
    private readonly onUnmapped: () => void,
  ) {}

  get object(): VmObject {
    return this.entry.object;
  }

  /** Offset of the window in the object. */
  get offset(): number {
    return this.entry.offset;
  }

  /** The current protection of the window's region (of its first piece, if vm_protect split it). */
  get protection(): VmProt {
    return this.entry.protection;
  }

  /** Where the window's region starts in its task's address space now (a growable one may move). */
  get address(): number {
    return this.entry.start;
  }

  /**
   * Copy while the pages are resident: no promise, no timer. Returns the
   * bytes copied; fewer than buffer.length means a fault is needed at
   * address + result (finish with completeCopy). READ copies out of the
   * object into `buffer`, WRITE copies `buffer` into the object.
   */
  copySync(address: number, buffer: Uint8Array, access: VmProt): number {
    if (buffer.length === 0) return 0;
    const offset = this.check(address, buffer.length, access);
    if (offset < 0) return 0;
    noteAccess(this.kernel, this.object, offset, buffer.length);
    return copySync(this.kernel, this.object, offset, buffer, access);
  }

  /** Finish a copy that copySync left at `done` bytes, faulting as needed. */
  /** `wait`, if given, says what the copy's fault waits for while it waits (fault-wait.ts). */
  completeCopy(address: number, buffer: Uint8Array, access: VmProt, done: number, wait?: FaultWait): Promise<MemcpyResult> {
    const offset = this.checked(address, buffer.length, access);
    if (offset instanceof Promise) return offset;
    if (offset < 0) return Promise.resolve({ bytes: 0, error: EFBIG });
    return memcpy(this.kernel, this.object, offset, buffer, access, done, wait);
  }

  /** pager_memcpy: copy all of `buffer` in or out; a pager error stops it with the bytes done. */
  memcpy(address: number, buffer: Uint8Array, access: VmProt): Promise<MemcpyResult> {
    if (buffer.length === 0) return Promise.resolve({ bytes: 0, error: 0 });
    const offset = this.checked(address, buffer.length, access);
    if (offset instanceof Promise) return offset;
    if (offset < 0) return Promise.resolve({ bytes: 0, error: EFBIG });
    noteAccess(this.kernel, this.object, offset, buffer.length);
    const done = copySync(this.kernel, this.object, offset, buffer, access);
    if (done === buffer.length) return Promise.resolve({ bytes: done, error: 0 });
    return memcpy(this.kernel, this.object, offset, buffer, access, done);
  }

  /** Read `length` bytes at `address`. */
  async read(address: number, length: number): Promise<{ data: Buffer; error: number }> {
    const data = Buffer.alloc(length);
    const { bytes, error } = await this.memcpy(address, data, VM_PROT_READ);
    return { data: data.subarray(0, bytes), error };
  }

  /** Write `data` at `address`. */
  write(address: number, data: Uint8Array): Promise<MemcpyResult> {
    return this.memcpy(address, data, VM_PROT_WRITE);
  }

  /**
   * Before the pager changes data under the kernel (a truncate): give the
   * object's delayed copies their own copies of the pages of
   * [address, address + size), as ext2fs's force_delayed_copies does by
   * touching them. Resolves to 0 or an errno.
   */
  forceDelayedCopies(address: number, size: number): Promise<number> {
    if (size <= 0 || this.object.copy === undefined) return Promise.resolve(0);
    const offset = this.offset + address;
    const first = Math.floor(offset / this.kernel.pageSize);
    const end = Math.ceil(Math.min(offset + size, this.offset + this.size) / this.kernel.pageSize);
    return pushRange(this.kernel, this.object, first, end);
  }

  /**
   * Make `copy`'s object a delayed copy of the first `size` bytes of this
   * window's object (delayed-copy.ts: it shares every page it does not hold
   * in the cache, and this object pushes a page into it before changing it).
   * `held`: the page indexes `copy`'s pager holds itself. False, and nothing
   * changed, when the link is refused (either object already in one, or this
   * object has pages in the laundry).
   */
  delayedCopyTo(copy: VmWindow, size: number, held: Iterable<number>): boolean {
    return linkDelayedCopy(this.kernel, copy.object, this.object, Math.ceil(size / this.kernel.pageSize), held);
  }

  /** Cut this window's object's delayed copy off it (its data is going): the copy reads from its own pager again. */
  cutDelayedCopy(): void {
    const copy = this.object.copy;
    if (copy !== undefined && copy.shadow === this.object && !copy.internal) unlinkDelayedCopy(this.kernel, copy);
  }

  /**
   * Before this object's pager changes [address, address + size) under the
   * kernel (a truncate): its delayed copy (linked by delayedCopyTo) holds
   * those pages itself from now on, and asks its own pager for them.
   */
  handOverToCopy(address: number, size: number): void {
    const copy = this.object.copy;
    if (copy === undefined || copy.internal || size <= 0) return;
    const first = Math.floor((this.offset + address) / this.kernel.pageSize);
    handOverToCopy(this.kernel, this.object, first, Math.ceil((this.offset + address + size) / this.kernel.pageSize));
  }

  /** Page indexes of [address, address + size) that a write would push into this object's delayed copy first. */
  pagesToPush(address: number, size: number): number[] {
    const copy = this.object.copy;
    if (copy === undefined || size <= 0) return [];
    const ps = this.kernel.pageSize;
    const out: number[] = [];
    for (let i = Math.floor((this.offset + address) / ps); i < Math.ceil((this.offset + address + size) / ps); i++) if (needsPush(this.object, i)) out.push(i);
    return out;
  }

  /** This window's object, a delayed copy, keeps only its first `size` bytes of its source (it was truncated). */
  limitCopy(size: number): void {
    limitDelayedCopy(this.kernel, this.object, Math.ceil(size / this.kernel.pageSize));
  }

  /** vm_wire: fault in every page of the window and keep it resident until unwire. */
  async wire(): Promise<number> {
    if (this.wired) return 0;
    const error = await wirePages(this.kernel, this.object, this.offset, this.size, this.protection & VM_PROT_READ);
    if (error === 0) this.wired = true;
    return error;
  }

  unwire(): void {
    if (!this.wired) return;
    this.wired = false;
    unwirePages(this.kernel, this.object, this.offset, this.size);
  }

  /**
   * vm_wire of [address, address + size) only (vmtouch -l): fault the pages
   * in and keep them resident until unwireRange of the same range. Wires
   * count: each wireRange needs its unwireRange. 0, or the pager's errno
   * (nothing stays wired then).
   */
  wireRange(address: number, size: number): Promise<number> {
    const offset = this.checked(address, size, VM_PROT_READ);
    if (offset instanceof Promise) return offset;
    if (offset < 0) return Promise.resolve(EFBIG);
    return wirePages(this.kernel, this.object, offset, size, VM_PROT_READ);
  }

  /** Undo one wireRange of the same range. */
  unwireRange(address: number, size: number): void {
    if (this.deallocated) return;
    const offset = this.check(address, size, VM_PROT_READ);
    if (offset >= 0) unwirePages(this.kernel, this.object, offset, size);
  }

  /** mincore: one byte per page of [address, address + size), MINCORE_* bits (mincore.ts). Faults nothing in. */
  mincore(address: number, size: number): Uint8Array {
    const offset = this.check(address, size, VM_PROT_READ);
    if (offset < 0) throw new KernError(KERN_INVALID_ADDRESS, `${address}+${size} past 2^53`);
    return mincore(this.kernel, this.object, offset, size);
  }

  /** vm_deallocate: drop the mapping and with it this reference to the object. */
  deallocate(): void {
    if (this.deallocated) return;
    this.unwire();
    this.deallocated = true;
    this.map.remove(this.entry);
    this.onUnmapped();
    releaseObject(this.kernel, this.object);
  }

  get isDeallocated(): boolean {
    return this.deallocated;
  }

  /** check() for promise-returning methods: a bad address or access rejects instead of throwing. */
  private checked(address: number, length: number, access: VmProt): number | Promise<never> {
    try {
      return this.check(address, length, access);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The object offset of `address`, or -1 past 2^53 (EFBIG). Throws on a bad address or access. */
  private check(address: number, length: number, access: VmProt): number {
    if (this.deallocated) throw new KernError(KERN_INVALID_ADDRESS, 'window deallocated');
    const offset = this.offset + address;
    if (offset + length > MAX_OFFSET) return -1;
    if (!Number.isSafeInteger(address) || address < 0 || address + length > this.size)
      throw new KernError(KERN_INVALID_ADDRESS, `${address}+${length} outside a window of ${this.size} bytes`);
    if (this.entry.growable && address + length > this.map.spanOf(this.entry)) this.map.grow(this.entry, address + length);
    // Each piece vm_protect split the region into has its own protection.
    const protection = this.map.protectionOver(this.entry, address, length);
    if ((access & ~protection & (VM_PROT_READ | VM_PROT_WRITE)) !== 0)
      throw new KernError(KERN_PROTECTION_FAILURE, `access ${access} on a region with protection ${protection}`);
    return offset;
  }
}
