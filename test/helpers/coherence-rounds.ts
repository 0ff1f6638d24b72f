/**
 * What the coherence tests do on two mounts of one store (test/mount/coherence*.test.ts):
 * read-after-write rounds both ways, two writers on alternate pages, names seen.
 * Each throws at the first mount that reads stale bytes or misses a name.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mulberry32 } from '../../stores/seeded-random.js';

/** Poll `check` until it holds, at most `ms` (the bound only ends a wait; no sleep decides the outcome). */
export async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    (err: unknown) => {
      if ((err as { code?: string }).code === 'ENOENT') return false;
      throw err;
    },
  );
}

/**
 * `rounds` writes of random offsets and sizes into `file` (the same file on
 * both mounts), alternating writer; right after each write returns, the
 * other mount reads the range and 100 bytes around it. Returns the read
 * latencies in ms (the read right after the write). The file's bytes end
 * equal on both mounts to the model.
 */
export async function readAfterWrite(mntA: string, mntB: string, file: string, rounds: number, seed: number): Promise<number[]> {
  const model = await readFile(path.join(mntA, file));
  const size = model.length;
  const fa = await open(path.join(mntA, file), 'r+');
  const fb = await open(path.join(mntB, file), 'r+');
  const random = mulberry32(seed);
  const latencies: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const [writer, reader] = round % 2 === 0 ? [fa, fb] : [fb, fa];
      const length = 1 + Math.floor(random() * 20000);
      const offset = Math.floor(random() * (size - length));
      const bytes = randomBytes(length);
      if ((await writer.write(bytes, 0, length, offset)).bytesWritten !== length) throw new Error(`round ${round}: a short write`);
      bytes.copy(model, offset);
      const from = Math.max(0, offset - 100);
      const to = Math.min(size, offset + length + 100);
      const got = Buffer.alloc(to - from);
      const started = performance.now();
      const { bytesRead } = await reader.read(got, 0, got.length, from);
      latencies.push(performance.now() - started);
      if (bytesRead !== got.length || !got.equals(model.subarray(from, to))) throw new Error(`round ${round}: ${round % 2 === 0 ? 'B' : 'A'} read stale bytes at ${from}..${to}`);
    }
  } finally {
    await fa.close();
    await fb.close();
  }
  for (const mnt of [mntA, mntB]) if (!(await readFile(path.join(mnt, file))).equals(model)) throw new Error(`${mnt}/${file} differs from the model at the end`);
  return latencies;
}

/** Two writers at once, A on even pages and B on odd pages of `file`, `writes` each; both mounts then read the model. */
export async function twoWriters(mntA: string, mntB: string, file: string, writes: number, pageSize = 4096): Promise<void> {
  const model = await readFile(path.join(mntA, file));
  const pages = Math.floor(model.length / pageSize);
  const fa = await open(path.join(mntA, file), 'r+');
  const fb = await open(path.join(mntB, file), 'r+');
  const write = async (handle: typeof fa, parity: number, seed: number): Promise<void> => {
    const random = mulberry32(seed);
    for (let i = 0; i < writes; i++) {
      const page = Math.floor(random() * (pages / 2)) * 2 + parity;
      const bytes = randomBytes(pageSize);
      await handle.write(bytes, 0, pageSize, page * pageSize);
      bytes.copy(model, page * pageSize);
    }
  };
  try {
    await Promise.all([write(fa, 0, 1), write(fb, 1, 2)]);
  } finally {
    await fa.close();
    await fb.close();
  }
  for (const mnt of [mntA, mntB]) if (!(await readFile(path.join(mnt, file))).equals(model)) throw new Error(`${mnt}/${file}: a writer's bytes were lost`);
}

/** create, rename and unlink on each mount in turn, each seen on the other (polled, bounded). */
export async function namesSeen(mntA: string, mntB: string): Promise<void> {
  for (const [here, there] of [
    [mntA, mntB],
    [mntB, mntA],
  ] as const) {
    await writeFile(path.join(here, 'n1'), 'hello');
    await until(() => exists(path.join(there, 'n1')));
    const text = await readFile(path.join(there, 'n1'), 'utf8');
    if (text !== 'hello') throw new Error(`${there}/n1 reads ${JSON.stringify(text)}`);
    await rename(path.join(here, 'n1'), path.join(here, 'n2'));
    await until(async () => !(await exists(path.join(there, 'n1'))) && (await exists(path.join(there, 'n2'))));
    if ((await readFile(path.join(there, 'n2'), 'utf8')) !== 'hello') throw new Error(`${there}/n2 lost its bytes`);
    await unlink(path.join(here, 'n2'));
    await until(async () => !(await exists(path.join(there, 'n2'))));
  }
}
