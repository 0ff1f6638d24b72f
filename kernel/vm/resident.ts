/**
 * The resident page table (GNU Mach's vm_resident.c): one descriptor per
 * physical frame, plus a fixed number of fictitious descriptors for pages
 * without memory (busy+absent placeholders while a request is out, and
 * holding pages during pageout). Descriptors are structure-of-arrays in
 * typed arrays; page data lives in one preallocated slab (split in chunks
 * only past 1 GiB). Nothing here allocates per page.
 *
 * Descriptor d < frameCount is the frame d; d >= frameCount is fictitious.
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

/** Stand-in for Mach's page lists: what a descriptor is doing right now. */
const NIL = -1;
const MAX_CHUNK_BYTES = 1 << 30;

/** An object as far as the page table cares: its id and the head of its memq. */
export interface MemqOwner {
  readonly id: number;
  memqHead: number;
}

export class ResidentTable {
  readonly frameCount: number;
  readonly fictitiousCount: number;
  readonly pageSize: number;

  readonly flags: Uint16Array;
  /** Accesses the manager denies (VM_PROT bits). */
  readonly pageLock: Uint8Array;
  /** Accesses already asked for with data_unlock. */
  readonly unlockRequest: Uint8Array;
  readonly wireCount: Uint16Array;
  /** For PG_ERROR pages: the errno the pager gave. */
  readonly errorCode: Uint8Array;
  readonly objectId: Int32Array;
  readonly pageIndex: Float64Array;
  private readonly memqNext: Int32Array;
  private readonly memqPrev: Int32Array;

  private readonly chunks: Buffer[];
  private readonly chunkShift: number;
  private readonly chunkMask: number;

  private readonly buckets: Int32Array;
  private readonly bucketMask: number;

  private readonly freeFrames: Int32Array;
  private freeFrameTop = 0;
  private readonly freeFictitious: Int32Array;
  private freeFictitiousTop = 0;

  private readonly waiters = new Map<number, ((value: number) => void)[]>();

  constructor(frameCount: number, fictitiousCount: number, pageSize: number) {
    this.frameCount = frameCount;
    this.fictitiousCount = fictitiousCount;
    this.pageSize = pageSize;
    const total = frameCount + fictitiousCount;
    this.flags = new Uint16Array(total);
    this.pageLock = new Uint8Array(total);
    this.unlockRequest = new Uint8Array(total);
    this.wireCount = new Uint16Array(total);
    this.errorCode = new Uint8Array(total);
    this.objectId = new Int32Array(total).fill(NIL);
    this.pageIndex = new Float64Array(total);
    this.memqNext = new Int32Array(total).fill(NIL);
    this.memqPrev = new Int32Array(total).fill(NIL);

    // Frames per chunk: a power of two, so the hot path splits a frame number with a shift.
    let chunkFrames = 1;
    while (chunkFrames * 2 <= frameCount && chunkFrames * 2 * pageSize <= MAX_CHUNK_BYTES) chunkFrames *= 2;
    if (chunkFrames < frameCount && chunkFrames * 2 * pageSize <= MAX_CHUNK_BYTES) chunkFrames *= 2;
    this.chunkShift = Math.log2(chunkFrames);
    this.chunkMask = chunkFrames - 1;
    this.chunks = [];
    for (let first = 0; first < frameCount; first += chunkFrames) {
      // Touched now, not on first use: the pool is real memory from the start, and first uses
      // of frames later (copies under pressure) do not pay the operating system's page faults.
      this.chunks.push(Buffer.allocUnsafeSlow(Math.min(chunkFrames, frameCount - first) * pageSize).fill(0));
    }

    let buckets = 16;
    while (buckets < total * 2) buckets *= 2;
    this.buckets = new Int32Array(buckets).fill(NIL);
    this.bucketMask = buckets - 1;

    this.freeFrames = new Int32Array(frameCount);
    for (let d = frameCount - 1; d >= 0; d--) this.pushFreeFrame(d);
    this.freeFictitious = new Int32Array(fictitiousCount);
    for (let d = total - 1; d >= frameCount; d--) {
      this.flags[d] = PG_FICTITIOUS | PG_FREE;
      this.freeFictitious[this.freeFictitiousTop++] = d;
    }
  }

  // ------------------------------------------------------------ frames

  get freeFrameCount(): number {
    return this.freeFrameTop;
  }

  get freeFictitiousCount(): number {
    return this.freeFictitiousTop;
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

  /** Give a descriptor back. It must not be tabled. Waiters on it are woken (vm_page_free). */
  release(d: number): void {
    if ((this.flags[d]) & PG_WANTED) this.wakeup(d, 0);
    this.pageLock[d] = 0;
    this.unlockRequest[d] = 0;
    this.wireCount[d] = 0;
    this.errorCode[d] = 0;
    this.objectId[d] = NIL;
    if (d < this.frameCount) this.pushFreeFrame(d);
    else {
      this.flags[d] = PG_FICTITIOUS | PG_FREE;
      this.freeFictitious[this.freeFictitiousTop++] = d;
    }
  }

  private pushFreeFrame(d: number): void {
    this.flags[d] = PG_FREE;
    this.freeFrames[this.freeFrameTop++] = d;
  }

  isFictitious(d: number): boolean {
    return d >= this.frameCount;
  }

  /** The chunk holding frame d's data. */
  chunkOf(d: number): Buffer {
    return this.chunks[d >>> this.chunkShift];
  }

  /** Byte offset of frame d's data inside chunkOf(d). */
  chunkOffset(d: number): number {
    return (d & this.chunkMask) * this.pageSize;
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
    this.flags[d] = ((this.flags[d]) & ~PG_FREE) | PG_TABLED;
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
    this.flags[d] = (this.flags[d]) & ~PG_TABLED;
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
    return out.sort((a, b) => (this.pageIndex[a]) - (this.pageIndex[b]));
  }

  // ------------------------------------------------------------ waiting (PAGE_ASSERT_WAIT / PAGE_WAKEUP)

  /** Sleep until d is woken. Resolves with the wake-up value (0, or an errno from data_error). */
  wait(d: number): Promise<number> {
    this.flags[d] = (this.flags[d]) | PG_WANTED;
    return new Promise<number>((resolve) => {
      const list = this.waiters.get(d);
      if (list) list.push(resolve);
      else this.waiters.set(d, [resolve]);
    });
  }

  /** Wake everyone waiting on d (PAGE_WAKEUP_DONE clears WANTED). */
  wakeup(d: number, value: number): void {
    this.flags[d] = (this.flags[d]) & ~PG_WANTED;
    const list = this.waiters.get(d);
    if (!list) return;
    this.waiters.delete(d);
    for (const resolve of list) resolve(value);
  }

  waiterCount(d: number): number {
    return this.waiters.get(d)?.length ?? 0;
  }
}
