/** Small byte helpers shared by the classes that keep holes. */
const zeroBlocks = new Map<number, Buffer>();

/** A shared all-zero buffer of `length` bytes; never write into it. */
export function zeros(length: number): Buffer {
  let z = zeroBlocks.get(length);
  if (!z) {
    z = Buffer.alloc(length);
    zeroBlocks.set(length, z);
  }
  return z;
}

/** Whether every byte is zero (a memcmp against a zero block, not a byte loop). */
export function isAllZero(data: Buffer): boolean {
  return data.equals(zeros(data.length));
}
