/**
 * memory:SIZE[/BLOCKSIZE] — a store in RAM, sparse: a Map of the blocks
 * that hold data. A block never written, or last written with zeros, is a
 * hole: it reads as zeros and costs nothing.
 */
import { BaseStore } from './base.js';
import { isAllZero } from './bytes.js';
import { formatSizedName, sizedClass } from './sized-name.js';
import type { StoreClass } from './store-class.js';

export const MEMORY_BLOCK_SIZE = 512;

export interface MemoryStoreOptions {
  size: number;
  blockSize?: number;
  flags?: number;
}

export class MemoryStore extends BaseStore {
  private readonly blocks = new Map<number, Buffer>();

  constructor(options: MemoryStoreOptions) {
    const blockSize = options.blockSize ?? MEMORY_BLOCK_SIZE;
    super({
      className: 'memory',
      name: formatSizedName('memory', options.size, blockSize, MEMORY_BLOCK_SIZE),
      blockSize,
      size: options.size,
      flags: options.flags ?? 0,
    });
  }

  /** Blocks that hold data (not holes). */
  get blocksInUse(): number {
    return this.blocks.size;
  }

  protected override backendRead(offset: number, into: Buffer): Promise<number> {
    const bs = this.blockSize;
    for (let pos = 0; pos < into.length; pos += bs) {
      const block = this.blocks.get((offset + pos) / bs);
      if (block) block.copy(into, pos);
      else into.fill(0, pos, pos + bs);
    }
    return Promise.resolve(into.length);
  }

  protected override backendWrite(offset: number, data: Buffer): Promise<number> {
    const bs = this.blockSize;
    for (let pos = 0; pos < data.length; pos += bs) {
      const index = (offset + pos) / bs;
      const chunk = data.subarray(pos, pos + bs);
      if (isAllZero(chunk)) {
        this.blocks.delete(index);
        continue;
      }
      let block = this.blocks.get(index);
      if (!block) {
        block = Buffer.allocUnsafe(bs);
        this.blocks.set(index, block);
      }
      chunk.copy(block);
    }
    return Promise.resolve(data.length);
  }

  protected override backendSetSize(size: number): Promise<void> {
    const end = size / this.blockSize;
    for (const index of this.blocks.keys()) if (index >= end) this.blocks.delete(index);
    this.typedName = formatSizedName('memory', size, this.blockSize, MEMORY_BLOCK_SIZE);
    return Promise.resolve();
  }

  protected override backendIsHole(offset: number, length: number): Promise<boolean> {
    const first = offset / this.blockSize;
    const end = first + length / this.blockSize;
    // Walk whichever is shorter: the range or the blocks in use.
    if (end - first <= this.blocks.size) {
      for (let i = first; i < end; i++) if (this.blocks.has(i)) return Promise.resolve(false);
    } else {
      for (const index of this.blocks.keys()) if (index >= first && index < end) return Promise.resolve(false);
    }
    return Promise.resolve(true);
  }

  protected override backendClose(): Promise<void> {
    this.blocks.clear();
    return Promise.resolve();
  }
}

export const memoryClass: StoreClass = sizedClass('memory', 'in RAM, sparse; lost on close', MEMORY_BLOCK_SIZE, ({ size, blockSize }, flags) => new MemoryStore({ size, blockSize, flags }));
