/**
 * Out-of-line memory for message data (Mach's vm_allocate / vm_deallocate
 * of the buffers that page data travels in). A receiver that is done with
 * the data it got gives it back with deallocate(); the next message of that
 * size reuses it instead of fresh memory, whose first touch costs a page
 * fault per 4 KiB in the operating system. Buffers are pooled by exact size,
 * up to a bound; deallocating is optional (the garbage collector frees what
 * is not given back), but a buffer must not be used after it.
 *
 * The kernel may watch a buffer it sent (watch()): it is told when the
 * receiver gives it back, or, for a receiver that never does, when the
 * garbage collector takes it (as Mach frees a dead task's memory). That is
 * how returned pages count as laundry until their pager has written them.
 */
export class OolMemory {
  private readonly pools = new Map<number, Buffer[]>();
  private pooledBytes = 0;
  private readonly watches = new WeakMap<Buffer, Watch>();
  private readonly collected = new FinalizationRegistry<Watch>((watch) => watch.fire());

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
    const watch = this.watches.get(buffer);
    if (watch) {
      this.watches.delete(buffer);
      this.collected.unregister(watch);
      watch.fire();
    }
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

  /**
   * Call `onGiveBack` once, when `buffer` is deallocated or collected.
   * `onGiveBack` must not hold `buffer` (nor anything that does), or the
   * collector never takes it.
   */
  watch(buffer: Buffer, onGiveBack: () => void): void {
    const watch = new Watch(onGiveBack);
    this.watches.set(buffer, watch);
    this.collected.register(buffer, watch, watch);
  }

  get bytesPooled(): number {
    return this.pooledBytes;
  }
}

class Watch {
  private fired = false;

  constructor(private readonly onGiveBack: () => void) {}

  fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.onGiveBack();
  }
}
