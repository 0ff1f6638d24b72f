/**
 * Sizes in typed names and options: "512", "4K", "64M", "1G", "1T", "1P"
 * (powers of 1024, case-insensitive, an optional trailing "B" or "iB").
 */
import { MAX_STORE_SIZE, StoreError } from './store.js';

const SUFFIXES = ['', 'K', 'M', 'G', 'T', 'P'] as const;

/** Parse a size; EINVAL if it is not one, EFBIG past 2^53. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^(\d+)([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new StoreError('EINVAL', `bad ${what} '${text}' (a number with an optional K, M, G, T or P suffix)`);
  const power = SUFFIXES.indexOf((m[2] ?? '').toUpperCase() as (typeof SUFFIXES)[number]);
  const value = Number(m[1]) * 1024 ** power;
  if (value > MAX_STORE_SIZE) throw new StoreError('EFBIG', `${what} '${text}' is past 2^53 bytes`);
  return value;
}

/** The shortest exact spelling of a size: 1048576 → "1M", 1536 → "1536". */
export function formatSize(bytes: number): string {
  for (let power = SUFFIXES.length - 1; power > 0; power--) {
    const unit = 1024 ** power;
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${SUFFIXES[power]}`;
  }
  return String(bytes);
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= MAX_STORE_SIZE && 2 ** Math.round(Math.log2(n)) === n;
}

export function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

export function roundDown(n: number, multiple: number): number {
  return Math.floor(n / multiple) * multiple;
}

/** A block size from an option or a name: a power of two up to 1 GiB. */
export function checkBlockSize(blockSize: number, what = 'block size'): number {
  if (!isPowerOfTwo(blockSize) || blockSize > 2 ** 30) {
    throw new StoreError('EINVAL', `${what} ${blockSize} is not a power of two between 1 and 1G`);
  }
  return blockSize;
}

/** A store size: a whole number of blocks, at most 2^53. */
export function checkStoreSize(size: number, blockSize: number, what = 'size'): number {
  if (size > MAX_STORE_SIZE) throw new StoreError('EFBIG', `${what} ${size} is past 2^53 bytes`);
  if (!Number.isInteger(size) || size < 0 || size % blockSize !== 0) {
    throw new StoreError('EINVAL', `${what} ${size} is not a multiple of the block size ${blockSize}`);
  }
  return size;
}

/** The largest size that is a whole number of blocks: what "unbounded" stores report. */
export function unboundedSize(blockSize: number): number {
  return roundDown(MAX_STORE_SIZE, blockSize);
}
