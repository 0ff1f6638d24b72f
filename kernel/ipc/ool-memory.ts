/**
 * Out-of-line memory for message data (Mach's vm_allocate / vm_deallocate
 * of the buffers that page data travels in). A receiver that is done with
 * the data it got gives it back with deallocate(); a later message reuses it
 * instead of fresh memory, whose first touch costs a page fault per 4 KiB in
 * the operating system, and which, left to the collector, piles up as
 * garbage the size of everything written before V8 gets to it (measured:
 * 257 MB of fresh buffers for a 256 MiB write when the pool matched sizes
 * exactly, most data_returns being of sizes seen rarely). So memory comes in
 * size classes (powers of two): a buffer is a view of the first `length`
 * bytes of a block of its class, and any block of the class serves the next
 * message of any length in it. Blocks are pooled up to a bound;
 * deallocating is optional (the garbage collector frees what is not given
 * back), but a buffer must not be used after it.
 *
 * The kernel may watch a buffer it sent (watch()): it is told when the
 * receiver gives it back, or, for a receiver that never does, when the
 * garbage collector takes it (as Mach frees a dead task's memory). That is
 * how returned pages count as laundry until their pager has written them.
 */
export class OolMemory {
  /** Free blocks by class size. */
  private readonly pools = new Map<number, Buffer[]>();
  private pooledBytes = 0;
  /** The buffer handed out on each block that is out: only that very buffer gives the block back. */
  private readonly out = new WeakMap<ArrayBufferLike, Handed>();
  private readonly watches = new WeakMap<Buffer, Watch>();
  private readonly collected = new FinalizationRegistry<Watch>((watch) => watch.fire());

  constructor(
    /** The most bytes kept for reuse. */
    readonly limit = 32 * 1024 * 1024,
  ) {}

  /** A buffer of `length` bytes (contents undefined). */
  allocate(length: number): Buffer {
    if (length === 0) return Buffer.alloc(0);
    const size = classSize(length);
    const block = this.pools.get(size)?.pop();
    if (block) this.pooledBytes -= size;
    const whole = block ?? Buffer.allocUnsafeSlow(size);
    const buffer = length === size ? whole : whole.subarray(0, length);
    this.out.set(whole.buffer, { buffer, whole });
    return buffer;
  }

  /**
   * vm_deallocate: `buffer` (a buffer from allocate as it was given, not a
   * view into one) will not be used again. Views, foreign buffers and a
   * second deallocate of the same buffer are left to the garbage collector.
   */
  deallocate(buffer: Buffer): void {
    const watch = this.watches.get(buffer);
    if (watch) {
      this.watches.delete(buffer);
      this.collected.unregister(watch);
      watch.fire();
    }
    const handed = this.out.get(buffer.buffer);
    if (handed?.buffer !== buffer) return;
    this.out.delete(buffer.buffer);
    const size = handed.whole.length;
    if (this.pooledBytes + size > this.limit) return;
    let pool = this.pools.get(size);
    if (!pool) {
      pool = [];
      this.pools.set(size, pool);
    }
    pool.push(handed.whole);
    this.pooledBytes += size;
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

interface Handed {
  /** What allocate returned. */
  readonly buffer: Buffer;
  /** The whole block. */
  readonly whole: Buffer;
}

/** The power of two at or above `length`: the size of the block that holds it. */
function classSize(length: number): number {
  return length <= 4096 ? 4096 : 2 ** Math.ceil(Math.log2(length));
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
