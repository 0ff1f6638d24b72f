/**
 * Compressed traces, streamed: the first bytes say what the input is (gzip
 * 1f 8b, zstd 28 b5 2f fd), whatever the file is called and stdin too, and
 * the chunks come out decompressed one at a time (node:zlib for gzip,
 * fzstd's streaming Decompress for zstd), never the whole file at once.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

/** The input is not valid gzip or zstd (a read error of the input itself stays what it is). */
export class DecompressError extends Error {
  constructor(kind: Compression, cause: unknown) {
    super(`not valid ${kind}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DecompressError';
  }
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** What the first bytes of a stream say it is. */
export function compressionOf(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

function asBuffer(piece: Buffer | string | Uint8Array): Buffer {
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/** Chunks of `input` with the first (at least 4 bytes, unless the input is shorter) put back in front. */
async function* rejoined(head: Buffer, rest: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (let r = await rest.next(); r.done !== true; r = await rest.next()) yield asBuffer(r.value);
}

async function* zstdChunks(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const stream = new Decompress((data) => {
    out.push(asBuffer(data));
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      stream.push(chunk, final);
    } catch (err) {
      throw new DecompressError('zstd', err);
    }
  };
  for await (const chunk of input) {
    push(chunk, false);
    // Yield as it comes: a chunk's output is handed on before the next is read.
    while (out.length > 0) yield out.shift() ?? Buffer.alloc(0);
  }
  push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift() ?? Buffer.alloc(0);
}

/** `input` decompressed if its first bytes say gzip or zstd, else as it is. */
export async function* decompressed(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done === true) break;
    head = Buffer.concat([head, asBuffer(r.value)]);
  }
  const chunks = rejoined(head, it);
  const kind = compressionOf(head);
  if (kind === 'gzip') {
    const gunzip = createGunzip();
    const source = Readable.from(chunks);
    let readError: unknown;
    source.on('error', (err) => {
      readError = err;
      gunzip.destroy(err); // pipe() does not pass a read error on
    });
    try {
      for await (const piece of source.pipe(gunzip)) yield asBuffer(piece as Buffer);
    } catch (err) {
      throw err === readError ? err : new DecompressError('gzip', err);
    }
  } else if (kind === 'zstd') {
    yield* zstdChunks(chunks);
  } else {
    yield* chunks;
  }
}
