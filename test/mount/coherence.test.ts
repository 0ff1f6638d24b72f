/**
 * Two daemons mounting one postgres: store (--coherent), one throwaway
 * cluster: a write() that returned on one mount is read by the other at
 * once, in both directions, through caches smaller than the file; two
 * writers on different pages of one file keep each other's bytes; names
 * made, renamed and removed on one are seen on the other; a daemon killed
 * while the other writes leaves the survivor serving, with nothing lost
 * that it acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { machpagerJson, mount, type Mounted } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';
import { exists, namesSeen, readAfterWrite, twoWriters, until } from '../helpers/coherence-rounds.js';
import { mulberry32 } from '../../stores/seeded-random.js';

const cluster = usePostgresCluster('pgcoh');
const dir = mountsDir('pgcoh');

const FILE_BYTES = 1024 * 1024;

interface CoherenceFigures {
  coherence?: { recalls_sent: number; invalidations_sent: number; pages_recalled: number; invalidations_received: number; names_received: number; acks_abandoned: number };
}

describe('two mounts of one postgres: store', () => {
  let store: string;
  let a: Mounted;
  let b: Mounted;
  const mntA = (): string => path.join(dir(), 'a');
  const mntB = (): string => path.join(dir(), 'b');
  const mountOne = (mnt: string): Promise<Mounted> => mount({ store, mnt, cacheSize: '256K', args: ['--coherent'] });

  beforeAll(async () => {
    await cluster().createDatabase('shared');
    store = cluster().uri('shared');
    a = await mountOne(mntA());
    b = await mountOne(mntB());
  }, 120_000);

  it('a file made on A is seen on B with its size and bytes', async () => {
    const data = randomBytes(FILE_BYTES);
    await writeFile(path.join(mntA(), 'f'), data);
    await until(async () => (await exists(path.join(mntB(), 'f'))) && (await stat(path.join(mntB(), 'f'))).size === FILE_BYTES).catch(async (err: unknown) => {
      const { readdir } = await import('node:fs/promises');
      const rows = await cluster().sql('shared', "SELECT tbl, key FROM catalog_row WHERE tbl <> ''");
      throw new Error(`${String(err)}; A: ${JSON.stringify(await readdir(mntA()))} B: ${JSON.stringify(await readdir(mntB()))} rows ${JSON.stringify(rows.rows)} A's log:\n${a.log}\nB's log:\n${b.log}`);
    });
    expect((await readFile(path.join(mntB(), 'f'))).equals(data)).toBe(true);
  });

  it('read() on one mount right after write() returned on the other sees the new bytes (1000 rounds, both ways)', async () => {
    await readAfterWrite(mntA(), mntB(), 'f', 1000, 16);
    const figures = await machpagerJson<CoherenceFigures>(['stats', '--json', mntA()]);
    expect(figures.coherence?.invalidations_sent).toBeGreaterThan(0);
    expect(figures.coherence?.pages_recalled).toBeGreaterThan(0);
  }, 240_000);

  it('a file grown on one mount is read to its new end on the other right after the write returned', async () => {
    const fa = await open(path.join(mntA(), 'g'), 'a+');
    await until(() => exists(path.join(mntB(), 'g')));
    const fb = await open(path.join(mntB(), 'g'), 'a+');
    const model: Buffer[] = [];
    let size = 0;
    try {
      for (let round = 0; round < 60; round++) {
        const [writer, reader] = round % 2 === 0 ? [fa, fb] : [fb, fa];
        const bytes = randomBytes(1 + ((round * 7919) % 30000));
        await writer.write(bytes, 0, bytes.length, size);
        model.push(bytes);
        size += bytes.length;
        const got = Buffer.alloc(bytes.length + 10);
        const { bytesRead } = await reader.read(got, 0, got.length, size - bytes.length);
        expect(bytesRead, `round ${round}`).toBe(bytes.length);
        expect(got.subarray(0, bytesRead).equals(bytes), `round ${round}`).toBe(true);
      }
    } finally {
      await fa.close();
      await fb.close();
    }
    expect((await readFile(path.join(mntB(), 'g'))).equals(Buffer.concat(model))).toBe(true);
  }, 120_000);

  it("two writers on different pages of one file keep each other's bytes", async () => {
    await twoWriters(mntA(), mntB(), 'f', 200);
  }, 240_000);

  it('create, rename and unlink on one mount are seen on the other', async () => {
    await namesSeen(mntA(), mntB());
  }, 60_000);

  it('kill -9 of one daemon while the other writes: the survivor serves on, and keeps what it acknowledged', async () => {
    const fb = await open(path.join(mntB(), 'f'), 'r+');
    const model = await readFile(path.join(mntB(), 'f'));
    // A holds pages of the file (it reads them all) when it dies, and some it wrote and fsynced.
    await readFile(path.join(mntA(), 'f'));
    const fa = await open(path.join(mntA(), 'f'), 'r+');
    const synced = randomBytes(30000);
    await fa.write(synced, 0, synced.length, 12345);
    await fa.sync();
    synced.copy(model, 12345);
    const random = { next: mulberry32(9) };
    let killed = false;
    try {
      for (let i = 0; i < 200; i++) {
        if (i === 50) {
          // A also has dirty pages of its own (written, not fsynced: they may go with it).
          await fa.write(randomBytes(4096), 0, 4096, FILE_BYTES - 4096);
          await a.kill9();
          killed = true;
          // Its descriptor is on a dead mount now: closing it may fail only that way.
          await fa.close().catch((err: unknown) => expect((err as { code?: string }).code).toBe('ENOTCONN'));
        }
        const length = 1 + Math.floor(random.next() * 10000);
        // Not A's last page: what A wrote there unsynced may or may not have reached the store.
        const offset = Math.floor(random.next() * (FILE_BYTES - 4096 - length));
        const bytes = randomBytes(length);
        await fb.write(bytes, 0, length, offset);
        bytes.copy(model, offset);
      }
      await fb.sync();
    } finally {
      await fb.close();
    }
    expect(killed).toBe(true);
    const kept = FILE_BYTES - 4096;
    expect((await readFile(path.join(mntB(), 'f'))).subarray(0, kept).equals(model.subarray(0, kept))).toBe(true);
    // A new mount in A's place (the stale one cleaned) reads what B acknowledged and what A fsynced.
    a = await mountOne(mntA());
    expect((await readFile(path.join(mntA(), 'f'))).subarray(0, kept).equals(model.subarray(0, kept))).toBe(true);
    const figures = await machpagerJson<CoherenceFigures>(['stats', '--json', mntB()]);
    expect(figures.coherence?.acks_abandoned).toBeGreaterThan(0);
  }, 120_000);
});
