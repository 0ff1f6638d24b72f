/**
 * The cost of coherence: two daemons mount one postgres: store (--coherent)
 * on this machine, the server on a Unix socket of a throwaway cluster.
 * - read after write: A writes 4 KiB at a random page, B reads it right
 *   after A's write returned (one recall of A's dirty page, one store
 *   read); and the same read with B alone (no other mount) for the floor;
 * - two writers: A and B write 4 KiB pages of one file at once, A the even
 *   pages and B the odd ones (each write fault asks the other mount);
 *   beside one writer alone on the same file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMachpager } from './mount.js';
import { startPostgresCluster } from './postgres-cluster.js';
import { printTable, type BenchRow, type Print } from './table.js';

export interface CoherenceBenchOptions {
  print?: Print;
  quick?: boolean;
}

const PAGE = 4096;
const FILE_BYTES = 4 * 1024 * 1024;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function readAfterWrite(writer: FileHandle, reader: FileHandle, rounds: number): Promise<number[]> {
  const ms: number[] = [];
  const got = Buffer.alloc(PAGE);
  for (let i = 0; i < rounds; i++) {
    const page = Math.floor(Math.random() * (FILE_BYTES / PAGE));
    const bytes = randomBytes(PAGE);
    await writer.write(bytes, 0, PAGE, page * PAGE);
    const started = performance.now();
    await reader.read(got, 0, PAGE, page * PAGE);
    ms.push(performance.now() - started);
    if (!got.equals(bytes)) throw new Error(`bench: stale read at page ${page}`);
  }
  return ms.sort((x, y) => x - y);
}

async function writePages(handle: FileHandle, parity: number, writes: number): Promise<void> {
  const bytes = randomBytes(PAGE);
  for (let i = 0; i < writes; i++) {
    const page = Math.floor(Math.random() * (FILE_BYTES / PAGE / 2)) * 2 + parity;
    await handle.write(bytes, 0, PAGE, page * PAGE);
  }
}

export async function benchCoherence(options: CoherenceBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const rounds = options.quick ? 200 : 2000;
  const writes = options.quick ? 500 : 5000;
  const cluster = await startPostgresCluster('bench-coherence');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-bench-coherence-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    await cluster.createDatabase('shared');
    const store = cluster.uri('shared');
    const mnt = (name: string): string => path.join(dir, name);
    for (const name of ['a', 'b']) await mkdir(mnt(name));
    const mountOne = async (name: string): Promise<() => Promise<void>> => {
      const stop = await startMachpager(store, mnt(name), '1M', ['--coherent']);
      stops.push(stop);
      return stop;
    };
    const stopA = await mountOne('a');
    await writeFile(path.join(mnt('a'), 'f'), randomBytes(FILE_BYTES));
    // Floor: A alone reads back what it wrote (no other mount to ask).
    const fa = await open(path.join(mnt('a'), 'f'), 'r+');
    const alone = await readAfterWrite(fa, fa, rounds);
    const oneStarted = performance.now();
    await writePages(fa, 0, writes);
    const oneWriter = writes / ((performance.now() - oneStarted) / 1000);
    await mountOne('b');
    // B sees the file once its catalog has it (bounded).
    const deadline = Date.now() + 10_000;
    let fb: FileHandle | undefined;
    while (!fb) {
      fb = await open(path.join(mnt('b'), 'f'), 'r+').catch(async (err: unknown) => {
        if ((err as { code?: string }).code !== 'ENOENT' || Date.now() > deadline) throw err;
        await sleep(20);
        return undefined;
      });
    }
    const across = await readAfterWrite(fa, fb, rounds);
    const twoStarted = performance.now();
    await Promise.all([writePages(fa, 0, writes), writePages(fb, 1, writes)]);
    const twoWriters = (2 * writes) / ((performance.now() - twoStarted) / 1000);
    await fa.close();
    await fb.close();
    await stopA();
    const rows: BenchRow[] = [
      { name: 'read on A right after a write on A (alone)', value: percentile(alone, 0.5), unit: 'ms p50', detail: `p90 ${percentile(alone, 0.9).toFixed(2)} ms, ${rounds} rounds` },
      { name: 'read on B right after a write on A', value: percentile(across, 0.5), unit: 'ms p50', detail: `p90 ${percentile(across, 0.9).toFixed(2)} ms: a recall of A's dirty page and a store read` },
      { name: 'one writer, 4 KiB pages at random', value: oneWriter, unit: 'writes/s', detail: `${writes} writes, A alone` },
      { name: 'two writers on alternate pages of one file', value: twoWriters, unit: 'writes/s', detail: `both mounts together, ${writes} writes each` },
    ];
    printTable('coherence: two mounts of one postgres: store (Unix socket, 1 MiB caches, 4 MiB file)', rows, print);
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop();
    await cluster.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
