/**
 * Out-of-line memory for message data (Mach's vm_allocate / vm_deallocate
 * of the buffers that page data travels in). A receiver that is done with
 * the data it got gives it back with deallocate(); the next message of that
 * size reuses it instead of fresh memory, whose first touch costs a page
 * fault per 4 KiB in the operating system. Buffers are pooled by exact size,
 * up to a bound; deallocating is optional (the garbage collector frees what
 * is not given back), but a buffer must not be used after it.
 */
export class OolMemory {
  private readonly pools = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  constructor(
    /** The most bytes kept for reuse. */
    readonly limit = 32 * 1024 * 1024,
  ) {}

  /** A buffer of `length` bytes (contents undefined). */
  allocate(length: number): Buffer {
    const pool = this.pools.get(length);
    const reused = pool?.pop();
    if (reused) {
      this.pooledBytes -= length;
      return reused;
    }
    return Buffer.allocUnsafeSlow(length);
  }

  /**
   * vm_deallocate: `buffer` (a whole buffer from allocate, not a view into
   * one) will not be used again. Views and foreign buffers are left to the
   * garbage collector.
   */
  deallocate(buffer: Buffer): void {
    const length = buffer.length;
    if (length === 0 || buffer.byteOffset !== 0 || buffer.buffer.byteLength !== length) return;
    if (this.pooledBytes + length > this.limit) return;
    let pool = this.pools.get(length);
    if (!pool) {
      pool = [];
      this.pools.set(length, pool);
    }
    pool.push(buffer);
    this.pooledBytes += length;
  }

  get bytesPooled(): number {
    return this.pooledBytes;
  }
}
