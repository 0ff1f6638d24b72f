/**
 * libpager's pagemap: a small integer of state per page. Files can be huge
 * and sparse (offsets up to 2^53), so the map is chunked: a Uint16Array per
 * 4096 pages, made when a page in it first gets state. Bits as in
 * libpager/priv.h.
 */
import { EDQUOT, EIO, ENOSPC } from '../../kernel/index.js';
import type { PagerErrno } from './errors.js';

export const PM_HELD = 0x400; //      its write failed: the pager holds the data and retries (write-behind.ts)
export const PM_WRITEWAIT = 0x200; // wake waiters when the write is done
export const PM_INIT = 0x100; //      data written at least once
export const PM_INCORE = 0x80; //     the kernel may have a copy
export const PM_PAGINGOUT = 0x40; //  a write is in progress (queued or running)
export const PM_PAGEINWAIT = 0x20; // a request came during the write: supply the data when it is done
export const PM_INVALID = 0x10; //    a write failed: the stored data is wrong
const PM_ERROR_SHIFT = 2; //          bits 2-3: the last error given to the kernel for this page
const PM_NEXTERROR_MASK = 0x3; //     bits 0-1: error for the next request asking for write access

/** Error slots hold 0 (none), 1 ENOSPC, 2 EIO, 3 EDQUOT. */
const codes: readonly number[] = [0, ENOSPC, EIO, EDQUOT];

function encode(errno: number): number {
  const i = codes.indexOf(errno);
  return i > 0 ? i : 2;
}

/** What outlives a terminate (keepOnlyErrors). */
const PM_KEEP = PM_HELD | PM_INVALID | (0x3 << PM_ERROR_SHIFT) | PM_NEXTERROR_MASK;

const CHUNK_SHIFT = 12;
const CHUNK = 1 << CHUNK_SHIFT;

export class Pagemap {
  private readonly chunks = new Map<number, Uint16Array>();
  /** Some page may have a bit of PM_KEEP (false: a terminate forgets the whole map without a scan). */
  private keeps = false;

  get(page: number): number {
    const chunk = this.chunks.get(Math.floor(page / CHUNK));
    return chunk ? chunk[page % CHUNK] : 0;
  }

  set(page: number, value: number): void {
    const key = Math.floor(page / CHUNK);
    let chunk = this.chunks.get(key);
    if (!chunk) {
      if (value === 0) return;
      chunk = new Uint16Array(CHUNK);
      this.chunks.set(key, chunk);
    }
    chunk[page % CHUNK] = value;
    if (value & PM_KEEP) this.keeps = true;
  }

  /** Set bits. */
  add(page: number, bits: number): void {
    this.set(page, this.get(page) | bits);
  }

  /** Clear bits. */
  clear(page: number, bits: number): void {
    const value = this.get(page);
    if (value & bits) this.set(page, value & ~bits);
  }

  has(page: number, bits: number): boolean {
    return (this.get(page) & bits) !== 0;
  }

  error(page: number): number {
    return codes[(this.get(page) >> PM_ERROR_SHIFT) & 0x3];
  }

  setError(page: number, errno: number): void {
    const value = this.get(page) & ~(0x3 << PM_ERROR_SHIFT);
    this.set(page, errno === 0 ? value : value | (encode(errno) << PM_ERROR_SHIFT));
  }

  nextError(page: number): PagerErrno | 0 {
    return codes[this.get(page) & PM_NEXTERROR_MASK] as PagerErrno | 0;
  }

  setNextError(page: number, errno: number): void {
    const value = this.get(page) & ~PM_NEXTERROR_MASK;
    this.set(page, errno === 0 ? value : value | encode(errno));
  }

  /** Clear `bits` on every page that has any state (whole-object flush). */
  clearAll(bits: number, first = 0, end = Infinity): void {
    for (const [key, chunk] of this.chunks) {
      const base = key * CHUNK;
      if (base + CHUNK <= first || base >= end) continue;
      for (let i = 0; i < CHUNK; i++) {
        const page = base + i;
        if (page >= first && page < end && chunk[i] & bits) chunk[i] = chunk[i] & ~bits;
      }
    }
  }

  /**
   * Forget everything but what must outlive a terminate: the errors a page
   * gave, whether its stored data is invalid, and whether the pager holds
   * its data for a retry (libpager frees the whole map at terminate and
   * loses them; here an error lasts until the page is read successfully,
   * and held data until it is written).
   */
  keepOnlyErrors(): void {
    if (!this.keeps) {
      this.chunks.clear();
      return;
    }
    for (const [key, chunk] of this.chunks) {
      let any = false;
      for (let i = 0; i < CHUNK; i++) {
        chunk[i] = chunk[i] & PM_KEEP;
        if (chunk[i]) any = true;
      }
      if (!any) this.chunks.delete(key);
    }
    this.keeps = this.chunks.size > 0;
  }

  /** Chunks allocated (each 8 KiB): the map's memory. */
  get chunkCount(): number {
    return this.chunks.size;
  }
}
