/**
 * The resident page table (GNU Mach's vm_resident.c): a fixed number of
 * fictitious descriptors for pages without memory (busy+absent placeholders
 * while a request is out, holding pages during pageout), then one
 * descriptor per physical frame. Descriptors are structure-of-arrays in
 * typed arrays; page data lives in slabs of at most 1 GiB, reserved up
 * front and made resident by the operating system as frames are first used.
 * Nothing here allocates per page.
 *
 * Descriptor d < fictitiousCount is fictitious; d >= fictitiousCount is the
 * frame d - fictitiousCount. Frames come last so that the pool can grow
 * while running (resize): new frames are appended, nothing is renumbered. A
 * shrink retires frames: free ones at once, the rest as the pageout daemon
 * frees them (retireDebt). Retired frames keep their slab memory for a
 * later grow.
 *
 * Pages are found by (object id, page index) through an open-addressing
 * hash (Mach's vm_page_bucket table) and listed per object through an
 * intrusive list (the object's memq).
 */

export const PG_BUSY = 1 << 0; //        in transit; others wait on it
export const PG_WANTED = 1 << 1; //      someone waits on it
export const PG_ABSENT = 1 << 2; //      data requested (busy) or unavailable (not busy)
export const PG_ERROR = 1 << 3; //       the pager answered data_error (kept with ABSENT until a fault sees it)
export const PG_DIRTY = 1 << 4; //       must be written back
export const PG_PRECIOUS = 1 << 5; //    must be returned even when clean
export const PG_FICTITIOUS = 1 << 6; //  no memory behind it
export const PG_TABLED = 1 << 7; //      in an object (hash + memq)
export const PG_LAUNDRY = 1 << 8; //     frame holds data of a data_return in transit
export const PG_FREE = 1 << 9; //        on a free list
export const PG_HOLDING = 1 << 10; //    pageout holding page: page-ins of its offset wait
export const PG_PREFETCH = 1 << 11; //   placeholder nobody faulted on (read-ahead)
export const PG_RETIRED = 1 << 12; //    frame taken out of the pool by a shrink
export const PG_READAHEAD = 1 << 13; //  came in ahead of demand, not accessed since (readahead.ts)
export const PG_CLUSTERED = 1 << 14; //  came in with a demand cluster nobody waited on, not accessed since
export const PG_INITIAL = 1 << 15; //    pushed into a copy object: its first write-out is data_initialize

const NIL = -1;
const MAX_CHUNK_BYTES = 1 << 30;

/** An object as far as the page table cares: its id and the head of its memq. */
export interface MemqOwner {
  readonly id: number;
  memqHead: number;
}

export class ResidentTable {
  readonly fictitiousCount: number;
  readonly pageSize: number;
  /** Frame descriptors made so far, retired ones included. */
  private frameSlotCount: number;
  /** Frames still to retire as they are freed: a shrink free frames did not cover. */
  private debt = 0;
  private readonly retired: number[] = [];
  /** Called when the last frame a shrink asked for is retired. */
  onRetired: (() => void) | undefined;

  flags: Uint16Array;
  /** Accesses the manager denies (VM_PROT bits). */
  pageLock: Uint8Array;
  /** Accesses already asked for with data_unlock. */
  unlockRequest: Uint8Array;
  wireCount: Uint16Array;
  /** For PG_ERROR pages: the errno the pager gave. */
  errorCode: Uint8Array;
  objectId: Int32Array;
  pageIndex: Float64Array;
  private memqNext: Int32Array;
  private memqPrev: Int32Array;

  private readonly chunks: Buffer[] = [];
  /** Frames per slab: a power of two, so the hot path splits a frame number with a shift. */
  private readonly chunkShift: number;
  private readonly chunkMask: number;

  private buckets: Int32Array;
  private bucketMask: number;

  private freeFrames: Int32Array;
  private freeFrameTop = 0;
  private readonly freeFictitious: Int32Array;
  private freeFictitiousTop = 0;

  private readonly waiters = new Map<number, ((value: number) => void)[]>();
  /** Faults waiting for any fictitious descriptor to be released (kernel-wide, whichever object frees it). */
  private fictitiousWaiters: (() => void)[] = [];

  constructor(frameCount: number, fictitiousCount: number, pageSize: number) {
    this.fictitiousCount = fictitiousCount;
    this.pageSize = pageSize;
    this.frameSlotCount = 0;
    this.flags = new Uint16Array(fictitiousCount);
    this.pageLock = new Uint8Array(fictitiousCount);
    this.unlockRequest = new Uint8Array(fictitiousCount);
    this.wireCount = new Uint16Array(fictitiousCount);
    this.errorCode = new Uint8Array(fictitiousCount);
    this.objectId = new Int32Array(fictitiousCount).fill(NIL);
    this.pageIndex = new Float64Array(fictitiousCount);
    this.memqNext = new Int32Array(fictitiousCount).fill(NIL);
    this.memqPrev = new Int32Array(fictitiousCount).fill(NIL);
    this.chunkShift = Math.log2(Math.max(1, MAX_CHUNK_BYTES / pageSize));
    this.chunkMask = (1 << this.chunkShift) - 1;
    this.buckets = new Int32Array(16).fill(NIL);
    this.bucketMask = 15;
    this.freeFrames = new Int32Array(0);

    this.freeFictitious = new Int32Array(fictitiousCount);
    for (let d = fictitiousCount - 1; d >= 0; d--) {
      this.flags[d] = PG_FICTITIOUS | PG_FREE;
      this.freeFictitious[this.freeFictitiousTop++] = d;
    }
    this.addFrames(frameCount);
  }

  // ------------------------------------------------------------ frames

  get freeFrameCount(): number {
    return this.freeFrameTop;
  }

  get freeFictitiousCount(): number {
    return this.freeFictitiousTop;
  }

  /** Frame descriptors made so far (policy slots are numbered below this). */
  get frameSlots(): number {
    return this.frameSlotCount;
  }

  /** Frames in the pool: not retired, and not owed to a shrink. */
  get frameCount(): number {
    return this.frameSlotCount - this.retired.length - this.debt;
  }

  /** Frames a shrink still waits for (they are in use; each is retired when freed). */
  get retireDebt(): number {
    return this.debt;
  }

  /**
   * Grow or shrink the pool to `frames`. Growing takes back retired frames,
   * then appends new ones; shrinking retires free frames at once and owes
   * the rest, retired as they are freed.
   */
  resize(frames: number): void {
    let change = frames - this.frameCount;
    if (change > 0) {
      const cancelled = Math.min(change, this.debt);
      this.debt -= cancelled;
      change -= cancelled;
      while (change > 0 && this.retired.length > 0) {
        this.pushFreeFrame(this.retired.pop() as number);
        change--;
      }
      if (change > 0) this.addFrames(change);
    } else {
      for (; change < 0 && this.freeFrameTop > 0; change++) this.retire(this.freeFrames[--this.freeFrameTop]);
      this.debt -= change;
    }
    if (this.debt === 0) this.onRetired?.();
  }

  /** Take a free frame (vm_page_grab); -1 if none. Its data is whatever was there. */
  allocFrame(): number {
    if (this.freeFrameTop === 0) return NIL;
    const d = this.freeFrames[--this.freeFrameTop];
    this.flags[d] = 0;
    return d;
  }

  /** Take a fictitious descriptor (vm_page_grab_fictitious); -1 if none. */
  allocFictitious(): number {
    if (this.freeFictitiousTop === 0) return NIL;
    const d = this.freeFictitious[--this.freeFictitiousTop];
    this.flags[d] = PG_FICTITIOUS;
    return d;
  }

  /**
   * Wait until a fictitious descriptor is released, by any object: a fault
   * that found none free (GNU Mach would allocate more; our pool is fixed).
   */
  waitForFictitious(): Promise<void> {
    return new Promise((resolve) => this.fictitiousWaiters.push(resolve));
  }

  get fictitiousWaiterCount(): number {
    return this.fictitiousWaiters.length;
  }

  /** Give a descriptor back. It must not be tabled. Waiters on it are woken (vm_page_free). */
  release(d: number): void {
    if (this.flags[d] & PG_WANTED) this.wakeup(d, 0);
    this.pageLock[d] = 0;
    this.unlockRequest[d] = 0;
    this.wireCount[d] = 0;
    this.errorCode[d] = 0;
    this.objectId[d] = NIL;
    if (d < this.fictitiousCount) {
      this.flags[d] = PG_FICTITIOUS | PG_FREE;
      this.freeFictitious[this.freeFictitiousTop++] = d;
      if (this.fictitiousWaiters.length > 0) this.wakeFictitiousWaiters();
    } else if (this.debt > 0) {
      this.retire(d);
      if (--this.debt === 0) this.onRetired?.();
    } else {
      this.pushFreeFrame(d);
    }
  }

  wakeFictitiousWaiters(): void {
    const waiters = this.fictitiousWaiters;
    this.fictitiousWaiters = [];
    for (const wake of waiters) wake();
  }

  private pushFreeFrame(d: number): void {
    this.flags[d] = PG_FREE;
    this.freeFrames[this.freeFrameTop++] = d;
  }

  private retire(d: number): void {
    this.flags[d] = PG_RETIRED;
    this.retired.push(d);
  }

  /** Append `count` frames: longer descriptor arrays, slab memory, a bigger hash if needed. */
  private addFrames(count: number): void {
    const F = this.fictitiousCount;
    const oldTotal = F + this.frameSlotCount;
    const total = oldTotal + count;
    const grow = <T extends Uint8Array | Uint16Array | Int32Array | Float64Array>(old: T, make: (n: number) => T, fill?: number): T => {
      const next = make(total);
      next.set(old);
      if (fill !== undefined) next.fill(fill, oldTotal);
      return next;
    };
    this.flags = grow(this.flags, (n) => new Uint16Array(n));
    this.pageLock = grow(this.pageLock, (n) => new Uint8Array(n));
    this.unlockRequest = grow(this.unlockRequest, (n) => new Uint8Array(n));
    this.wireCount = grow(this.wireCount, (n) => new Uint16Array(n));
    this.errorCode = grow(this.errorCode, (n) => new Uint8Array(n));
    this.objectId = grow(this.objectId, (n) => new Int32Array(n), NIL);
    this.pageIndex = grow(this.pageIndex, (n) => new Float64Array(n));
    this.memqNext = grow(this.memqNext, (n) => new Int32Array(n), NIL);
    this.memqPrev = grow(this.memqPrev, (n) => new Int32Array(n), NIL);
    this.freeFrames = grow(this.freeFrames, (n) => new Int32Array(n - F));
    this.addSlabs(this.frameSlotCount, this.frameSlotCount + count);
    this.frameSlotCount += count;
    if (total * 2 > this.buckets.length) this.rehash(total * 2);
    for (let d = total - 1; d >= oldTotal; d--) this.pushFreeFrame(d);
  }

  /**
   * Slab memory for frames [first, end). A partial last slab is replaced by
   * a bigger one (its data copied). Zeroed memory from the operating system,
   * not touched here: a frame costs resident memory from its first use, so a
   * large cache costs what it holds, not its size, from the start (the first
   * use of each frame pays one page fault in the operating system, once).
   */
  private addSlabs(first: number, end: number): void {
    const perChunk = this.chunkMask + 1;
    for (let frame = first; frame < end; ) {
      const c = frame >>> this.chunkShift;
      const size = Math.min(perChunk, end - c * perChunk) * this.pageSize;
      const slab = Buffer.alloc(size);
      const old = this.chunks[c] as Buffer | undefined;
      if (old) old.copy(slab);
      this.chunks[c] = slab;
      frame = (c + 1) * perChunk;
    }
  }

  private rehash(atLeast: number): void {
    let size = 16;
    while (size < atLeast) size *= 2;
    this.buckets = new Int32Array(size).fill(NIL);
    this.bucketMask = size - 1;
    const total = this.fictitiousCount + this.frameSlotCount;
    for (let d = 0; d < total; d++) {
      if ((this.flags[d] & PG_TABLED) === 0) continue;
      let b = this.bucketOf(this.objectId[d], this.pageIndex[d]);
      while (this.buckets[b] !== NIL) b = (b + 1) & this.bucketMask;
      this.buckets[b] = d;
    }
  }

  isFictitious(d: number): boolean {
    return d < this.fictitiousCount;
  }

  /** The chunk holding frame d's data. */
  chunkOf(d: number): Buffer {
    return this.chunks[(d - this.fictitiousCount) >>> this.chunkShift];
  }

  /** Byte offset of frame d's data inside chunkOf(d). */
  chunkOffset(d: number): number {
    return ((d - this.fictitiousCount) & this.chunkMask) * this.pageSize;
  }

  /** Frame d's data as a view (no copy). */
  frameData(d: number): Buffer {
    const start = this.chunkOffset(d);
    return this.chunkOf(d).subarray(start, start + this.pageSize);
  }

  // ------------------------------------------------------------ lookup (vm_page_lookup)

  private bucketOf(objectId: number, pageIndex: number): number {
    const lo = pageIndex >>> 0;
    const hi = (pageIndex / 4294967296) >>> 0;
    let h = Math.imul(objectId ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1) ^ Math.imul(lo, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h & this.bucketMask;
  }

  /** The descriptor of (object, page index), or -1. */
  lookup(objectId: number, pageIndex: number): number {
    const buckets = this.buckets;
    const mask = this.bucketMask;
    for (let b = this.bucketOf(objectId, pageIndex); ; b = (b + 1) & mask) {
      const d = buckets[b];
      if (d === NIL) return NIL;
      if (this.pageIndex[d] === pageIndex && this.objectId[d] === objectId) return d;
    }
  }

  /** vm_page_insert: put d at (object, page index). Nothing may be there. */
  insert(d: number, owner: MemqOwner, pageIndex: number): void {
    this.objectId[d] = owner.id;
    this.pageIndex[d] = pageIndex;
    this.flags[d] = (this.flags[d] & ~PG_FREE) | PG_TABLED;
    const mask = this.bucketMask;
    let b = this.bucketOf(owner.id, pageIndex);
    while (this.buckets[b] !== NIL) b = (b + 1) & mask;
    this.buckets[b] = d;
    // memq: push at the head
    this.memqPrev[d] = NIL;
    this.memqNext[d] = owner.memqHead;
    if (owner.memqHead !== NIL) this.memqPrev[owner.memqHead] = d;
    owner.memqHead = d;
  }

  /** vm_page_remove: take d out of its object (hash and memq). Its flags keep all but TABLED. */
  remove(d: number, owner: MemqOwner): void {
    this.unhash(d);
    const next = this.memqNext[d];
    const prev = this.memqPrev[d];
    if (prev !== NIL) this.memqNext[prev] = next;
    else owner.memqHead = next;
    if (next !== NIL) this.memqPrev[next] = prev;
    this.memqNext[d] = NIL;
    this.memqPrev[d] = NIL;
    this.flags[d] = this.flags[d] & ~PG_TABLED;
  }

  /** Put `replacement` where `d` is (same object and index), taking `d` out. */
  replace(d: number, replacement: number, owner: MemqOwner): void {
    const pageIndex = this.pageIndex[d];
    this.remove(d, owner);
    this.insert(replacement, owner, pageIndex);
  }

  private unhash(d: number): void {
    const buckets = this.buckets;
    const mask = this.bucketMask;
    let b = this.bucketOf(this.objectId[d], this.pageIndex[d]);
    while (buckets[b] !== d) {
      if (buckets[b] === NIL) throw new Error(`resident table: descriptor ${d} not hashed`);
      b = (b + 1) & mask;
    }
    // Backward-shift deletion keeps linear probing chains intact without tombstones.
    let hole = b;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const e = buckets[j];
      if (e === NIL) break;
      const home = this.bucketOf(this.objectId[e], this.pageIndex[e]);
      const distHole = (hole - home) & mask;
      const distJ = (j - home) & mask;
      if (distHole < distJ) {
        buckets[hole] = e;
        hole = j;
      }
    }
    buckets[hole] = NIL;
  }

  /** The descriptors of an object (memq order, newest first). */
  *memq(owner: MemqOwner): IterableIterator<number> {
    for (let d = owner.memqHead; d !== NIL; ) {
      const next = this.memqNext[d];
      yield d;
      d = next;
    }
  }

  /** Descriptors of `owner` with page index in [first, end), in index order. */
  range(owner: MemqOwner, first: number, end: number, residentCount: number): number[] {
    const out: number[] = [];
    if (end - first <= residentCount * 2) {
      for (let i = first; i < end; i++) {
        const d = this.lookup(owner.id, i);
        if (d !== NIL) out.push(d);
      }
      return out;
    }
    for (const d of this.memq(owner)) {
      const i = this.pageIndex[d];
      if (i >= first && i < end) out.push(d);
    }
    return out.sort((a, b) => this.pageIndex[a] - this.pageIndex[b]);
  }

  // ------------------------------------------------------------ waiting (PAGE_ASSERT_WAIT / PAGE_WAKEUP)

  /** Sleep until d is woken. Resolves with the wake-up value (0, or an errno from data_error). */
  wait(d: number): Promise<number> {
    this.flags[d] = this.flags[d] | PG_WANTED;
    return new Promise<number>((resolve) => {
      const list = this.waiters.get(d);
      if (list) list.push(resolve);
      else this.waiters.set(d, [resolve]);
    });
  }

  /** Wake everyone waiting on d (PAGE_WAKEUP_DONE clears WANTED). */
  wakeup(d: number, value: number): void {
    this.flags[d] = this.flags[d] & ~PG_WANTED;
    const list = this.waiters.get(d);
    if (!list) return;
    this.waiters.delete(d);
    for (const resolve of list) resolve(value);
  }

  waiterCount(d: number): number {
    return this.waiters.get(d)?.length ?? 0;
  }
}
