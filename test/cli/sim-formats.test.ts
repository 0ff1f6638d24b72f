/**
 * `sim --format oracleGeneral | csv`, compressed input and `--by-bytes`:
 * the test writes one seeded trace in each layout (libCacheSim's 24-byte
 * records, csv with a header and another delimiter, each also gzip and
 * zstd compressed) and every one gives the counts of the text form, for
 * every policy it asks for; records and lines cut across chunks are put
 * back together; byte caches worked out by hand.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimCell } from '../../daemon/cli/sim/plan.js';
import { readRequests, TEXT_FORMAT } from '../../daemon/cli/sim/trace-file.js';
import { foldU64, ORACLE_RECORD_BYTES } from '../../daemon/cli/sim/trace-formats.js';
import { seededRandom, take, zipfStream } from '../../bench/synthetic-traces.js';
import { runInProcess, tempDir } from './harness.js';

const run = promisify(execFile);
let tmp = '';

beforeEach(async () => {
  tmp = await tempDir('sim-formats');
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function sim(...args: string[]): ReturnType<typeof runInProcess> {
  return runInProcess(['sim', ...args], { cwd: tmp });
}

/** The cells without their speed (which differs run to run). */
function counts(stdout: string): Omit<SimCell, 'requests_per_second'>[] {
  return (JSON.parse(stdout) as SimCell[]).map(({ requests_per_second: _speed, ...rest }) => rest);
}

/** 20,000 seeded Zipf requests with sizes (a size per object, as a trace has it). */
function seededRequests(): { ids: Float64Array; sizes: Uint32Array } {
  const ids = take(zipfStream({ seed: 3, pages: 4000, alpha: 0.9 }), 20_000);
  const random = seededRandom(5);
  const sizeOf = new Map<number, number>();
  const sizes = new Uint32Array(ids.length);
  ids.forEach((id, i) => {
    let s = sizeOf.get(id);
    if (s === undefined) sizeOf.set(id, (s = 1 + Math.floor(random() * 100_000)));
    sizes[i] = s;
  });
  return { ids, sizes };
}

function oracleGeneral(ids: Float64Array, sizes: Uint32Array): Buffer {
  const buf = Buffer.alloc(ids.length * ORACLE_RECORD_BYTES);
  ids.forEach((id, i) => {
    const at = i * ORACLE_RECORD_BYTES;
    buf.writeUInt32LE(i + 1, at);
    buf.writeUInt32LE(id % 4294967296, at + 4);
    buf.writeUInt32LE(Math.floor(id / 4294967296), at + 8);
    buf.writeUInt32LE(sizes[i], at + 12);
    buf.writeBigInt64LE(-1n, at + 16);
  });
  return buf;
}

const POLICIES = 'lru,fifo,clock,arc,s3fifo,lirs';
const CURVE = ['--mrc', '--mrc-points', '8', '--policy', POLICIES, '--json'];

describe('sim --format: the same counts as the text form', () => {
  it('oracleGeneral, csv (header, ; delimiter, columns in another order), each plain, .gz and .zst', async () => {
    const { ids, sizes } = seededRequests();
    await writeFile(path.join(tmp, 'trace.txt'), Array.from(ids, (id) => `${id}\n`).join(''));
    await writeFile(path.join(tmp, 'trace.bin'), oracleGeneral(ids, sizes));
    await writeFile(path.join(tmp, 'trace.csv'), `size;timestamp;obj_id\n${Array.from(ids, (id, i) => `${sizes[i]};${i + 1};${id}\n`).join('')}`);
    for (const name of ['trace.bin', 'trace.csv']) {
      await writeFile(path.join(tmp, `${name}.gz`), gzipSync(await readFile(path.join(tmp, name))));
      await run('zstd', ['-q', '-f', name, '-o', `${name}.zst`], { cwd: tmp });
    }
    const text = await sim('trace.txt', ...CURVE);
    expect(text.code).toBe(0);
    const want = counts(text.stdout);
    expect(want.length).toBeGreaterThan(6 * 5);
    for (const name of ['trace.bin', 'trace.bin.gz', 'trace.bin.zst']) {
      const r = await sim(name, '--format', 'oracleGeneral', ...CURVE);
      expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(counts(r.stdout)).toEqual(want);
    }
    for (const name of ['trace.csv', 'trace.csv.gz', 'trace.csv.zst']) {
      const r = await sim(name, '--format', 'csv', '--csv-columns', 'time=2,id=3,size=1', '--csv-header', '--csv-delimiter', ';', ...CURVE);
      expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(counts(r.stdout)).toEqual(want);
    }
    // The text form compressed too.
    await writeFile(path.join(tmp, 'trace.txt.gz'), gzipSync(Array.from(ids, (id) => `${id}\n`).join('')));
    expect(counts((await sim('trace.txt.gz', ...CURVE)).stdout)).toEqual(want);
  });

  it('records and csv lines cut anywhere between chunks are put back together', async () => {
    const ids = new Float64Array([7, 2 ** 40 + 3, 7, 12, 2 ** 52 + 1]);
    const sizes = new Uint32Array([10, 20, 10, 30, 40]);
    const bin = oracleGeneral(ids, sizes);
    const seen: [number, number][] = [];
    function bytes(buf: Buffer, step: number): Readable {
      const pieces: Buffer[] = [];
      for (let at = 0; at < buf.length; at += step) pieces.push(buf.subarray(at, at + step));
      return Readable.from(pieces);
    }
    await readRequests(bytes(bin, 7), { kind: 'oracleGeneral' }, { add: (id, size) => seen.push([id, size]) });
    expect(seen).toEqual(Array.from(ids, (id, i) => [id, sizes[i]]));
    seen.length = 0;
    const csv = Buffer.from('a,b\r\n1,7\r\n2,12\r\n3,key-x\r\n');
    await readRequests(bytes(csv, 3), { kind: 'csv', csv: { columns: { id: 2, time: 1 }, delimiter: ',', header: true } }, { add: (id, size) => seen.push([id, size]) });
    expect(seen.map(([id]) => id).slice(0, 2)).toEqual([7, 12]);
    expect(seen).toHaveLength(3);
    seen.length = 0;
    await readRequests(bytes(Buffer.from('1\n2\n'), 1), TEXT_FORMAT, { add: (id, size) => seen.push([id, size]) });
    expect(seen).toEqual([[1, 1], [2, 1]]);
  });

  it('a u64 id at or above 2^53 is folded into 53 bits; below it stays itself', () => {
    expect(foldU64(5, 0x1fffff)).toBe(0x1fffff * 4294967296 + 5);
    expect(Number.isSafeInteger(foldU64(5, 0xffffffff))).toBe(true);
    expect(foldU64(5, 0xffffffff)).not.toBe(foldU64(5, 0xfffffffe));
  });

  it('errors: a cut record, a csv line without its id column, csv options without --format csv, corrupt gzip (65 or 2)', async () => {
    await writeFile(path.join(tmp, 'cut.bin'), Buffer.alloc(30));
    const cut = await sim('cut.bin', '--format', 'oracleGeneral');
    expect(cut.code).toBe(65);
    expect(cut.stderr).toContain('record 2 is cut short: 6 of 24 bytes');
    await writeFile(path.join(tmp, 'short.csv'), '1,2\n3\n');
    const short = await sim('short.csv', '--format', 'csv', '--csv-columns', 'id=2');
    expect(short.code).toBe(65);
    expect(short.stderr).toContain('line 2: no id in column 2');
    expect((await sim('short.csv', '--csv-header')).code).toBe(2);
    expect((await sim('short.csv', '--format', 'csv')).code).toBe(2);
    await writeFile(path.join(tmp, 'bad.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const bad = await sim('bad.gz');
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('not valid gzip');
  });
});

describe('sim --by-bytes', () => {
  it('LRU in bytes, by hand: objects a(100) b(4000) c(50) a b', async () => {
    // a: distance+size: a's second request needs 4000 + 50 + 100 = 4150 bytes; b's: 50 + 100 + 4000 = 4150.
    await writeFile(path.join(tmp, 'b.csv'), 'a,100\nb,4000\nc,50\na,100\nb,4000\n');
    const r = await sim('b.csv', '--format', 'csv', '--csv-columns', 'id=1,size=2', '--by-bytes', '--cache', '4149,4150,1K', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { cache_bytes: number; misses: number }[];
    expect(list.map((c) => [c.cache_bytes, c.misses])).toEqual([
      [4149, 5],
      [4150, 3],
      [1024, 5],
    ]);
  });

  it('with sizes all 1 it is LRU in pages; other policies are refused (2)', async () => {
    const { ids } = seededRequests();
    await writeFile(path.join(tmp, 'ones.csv'), Array.from(ids, (id) => `${id},1\n`).join(''));
    const bytes = await sim('ones.csv', '--format', 'csv', '--csv-columns', 'id=1,size=2', '--by-bytes', '--mrc', '--json');
    const pages = await sim('ones.csv', '--format', 'csv', '--csv-columns', 'id=1,size=2', '--policy', 'lru', '--mrc', '--json');
    expect((JSON.parse(bytes.stdout) as { misses: number }[]).map((c) => c.misses)).toEqual(counts(pages.stdout).map((c) => c.misses));
    expect((await sim('ones.csv', '--format', 'csv', '--csv-columns', 'id=1', '--by-bytes', '--policy', 'arc')).code).toBe(2);
  });
});
