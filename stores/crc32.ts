/**
 * CRC-32 (IEEE 802.3, zlib's) of page data. Node's own zlib.crc32 (native,
 * Node >= 20.15 / 22.2) when there is one; a table-driven version of the same
 * function otherwise, so a store written by one Node reads on another.
 */
import zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

const native = (zlib as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The portable version (exported for the test that checks it against Node's). */
export function crc32Portable(data: Uint8Array, value = 0): number {
  const t = crcTable();
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `data` as an unsigned 32-bit number. */
export function crc32(data: Uint8Array): number {
  return native ? native(data) : crc32Portable(data);
}

/**
 * The CRC recorded for a block fsck found damaged (no CRC-32 is negative):
 * reads of it give EIO until it is written again; its bytes stay as they were.
 */
export const DAMAGED_CRC = -1;
