/** xorshift32: the same "random" numbers (unsigned 32-bit) on every run of a bench. */
export function xorshift32(seed = 0x2545f491): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
