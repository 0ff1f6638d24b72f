/**
 * zero:SIZE[/BLOCKSIZE] — /dev/zero as a store (libstore zero.c): reads
 * give zeros, writes are accepted and dropped, everything is a hole. Its
 * size is fixed (EOPNOTSUPP, as in libstore).
 */
import { BaseStore } from './base.js';
import { formatSizedName, sizedClass } from './sized-name.js';
import type { StoreClass } from './store-class.js';

export const ZERO_BLOCK_SIZE = 512;

export class ZeroStore extends BaseStore {
  constructor(options: { size: number; blockSize?: number; flags?: number }) {
    const blockSize = options.blockSize ?? ZERO_BLOCK_SIZE;
    super({
      className: 'zero',
      name: formatSizedName('zero', options.size, blockSize, ZERO_BLOCK_SIZE),
      blockSize,
      size: options.size,
      flags: options.flags ?? 0,
    });
  }

  protected override backendRead(_offset: number, into: Buffer): Promise<number> {
    into.fill(0);
    return Promise.resolve(into.length);
  }

  protected override backendWrite(_offset: number, data: Buffer): Promise<number> {
    return Promise.resolve(data.length);
  }

  protected override backendIsHole(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

export const zeroClass: StoreClass = sizedClass('zero', 'reads zeros, drops writes', ZERO_BLOCK_SIZE, ({ size, blockSize }, flags) => new ZeroStore({ size, blockSize, flags }));
