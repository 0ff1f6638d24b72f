/**
 * Block rows into a buffer: the one place that checks what SQLite gives back
 * for a range of a space's blocks, used both on the connection's own thread
 * (sqlite-connection.ts readBlocks) and in the reader worker
 * (sqlite-reader.ts), so the two can never check differently.
 *
 * The worker runs this function from its source text, so it must stand
 * alone: no imports, no module-level names, no closures; what it needs
 * (the query, the CRC function, the damaged mark) comes in as arguments.
 */

/** A range query over store_block in raw mode: rows of [block, crc, data], in block order. */
export interface BlockRowQuery {
  all(space: number, first: number, end: number): unknown[];
}

/** Why a block of the range cannot be handed out (the first such block). */
export interface BlockDamage {
  kind: 'checksum' | 'marked' | 'corrupt';
  block: number;
  detail: string;
}

/**
 * Fill `into` from the blocks of `space` starting at block `first`; missing
 * blocks (holes) read as zeros. Returns the first damaged block (its data is
 * not a whole block, it is marked damaged, or its CRC does not match), or
 * undefined when every block is good. SQLite's own errors are thrown.
 */
export function readBlockRows(
  query: BlockRowQuery,
  crc32: (data: Uint8Array) => number,
  damagedCrc: number,
  space: number,
  first: number,
  blockSize: number,
  into: Uint8Array,
): BlockDamage | undefined {
  into.fill(0);
  const rows = query.all(space, first, first + into.length / blockSize) as [number, number | null, unknown][];
  for (const [block, crc, data] of rows) {
    if (!(data instanceof Uint8Array) || data.length !== blockSize) {
      return { kind: 'corrupt', block, detail: `the stored value is not a ${blockSize}-byte block` };
    }
    if (crc === damagedCrc) return { kind: 'marked', block, detail: 'marked damaged by fsck' };
    if (crc !== null && crc32(data) !== crc) return { kind: 'checksum', block, detail: 'checksum mismatch' };
    into.set(data, (block - first) * blockSize);
  }
  return undefined;
}
