/**
 * The NAME of the classes that are only a size, memory and zero:
 * "SIZE[/BLOCKSIZE]" (like libstore nbd's "HOST:PORT[/BLOCKSIZE]"). The block
 * size is written only when it is not the class default, so that the name
 * alone reopens an equivalent store.
 */
import { StoreError, type OpenOptions, type Store } from './store.js';
import type { StoreClass } from './store-class.js';
import { checkBlockSize, checkStoreSize, formatSize, parseSize, unboundedSize } from './size.js';

export interface SizedName {
  size: number;
  blockSize: number;
}

/** An empty SIZE means options.size, else "unbounded" (2^53 rounded down to the block size). */
export function parseSizedName(rest: string, options: OpenOptions, defaultBlockSize: number): SizedName {
  const [sizeText = '', blockText, extra] = rest.split('/');
  if (extra !== undefined) throw new StoreError('EINVAL', `bad size '${rest}' (SIZE[/BLOCKSIZE])`);
  let blockSize = checkBlockSize(options.blockSize ?? defaultBlockSize);
  if (blockText !== undefined) {
    const named = checkBlockSize(parseSize(blockText, 'block size'));
    if (options.blockSize !== undefined && options.blockSize !== named) {
      throw new StoreError('EINVAL', `block size ${named} in the name and ${options.blockSize} in the options differ`);
    }
    blockSize = named;
  }
  const size = sizeText === '' ? (options.size ?? unboundedSize(blockSize)) : parseSize(sizeText);
  return { size: checkStoreSize(size, blockSize), blockSize };
}

export function formatSizedName(className: string, size: number, blockSize: number, defaultBlockSize: number): string {
  const bs = blockSize === defaultBlockSize ? '' : `/${formatSize(blockSize)}`;
  return `${className}:${formatSize(size)}${bs}`;
}

/** The class of a store that is only a size (memory, zero): its NAME is SIZE[/BLOCKSIZE]. */
export function sizedClass(name: string, summary: string, defaultBlockSize: number, make: (sized: SizedName, flags: number | undefined) => Store): StoreClass {
  return {
    name,
    syntax: `${name}:SIZE[/BLOCKSIZE]`,
    summary,
    options: ['flags', 'size', 'blockSize'],
    open(rest, options) {
      return Promise.resolve(make(parseSizedName(rest, options, defaultBlockSize), options.flags));
    },
  };
}
