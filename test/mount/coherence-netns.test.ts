/**
 * Two mounts of one postgres: store on "two machines": each daemon in a
 * network namespace of its own, the database in a third, listening on TCP
 * on its veth addresses (test/helpers/netns.ts), so the pagers' messages
 * and the pages really cross interfaces. The same checks as on one
 * machine: read-after-write both ways through small caches, two writers,
 * names, and kill -9 of one while the other writes.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresCluster, type PostgresCluster } from '../../bench/postgres-cluster.js';
import { exists, namesSeen, readAfterWrite, twoWriters, until } from '../helpers/coherence-rounds.js';
import { mountsDir } from '../helpers/mount-dir.js';
import { machpagerJson, mount, type Mounted } from '../helpers/mounted.js';
import { makeNetwork, type TestNetwork } from '../helpers/netns.js';

let net: TestNetwork | undefined;
let cluster: PostgresCluster | undefined;

beforeAll(async () => {
  net = await makeNetwork();
  cluster = await startPostgresCluster('pgnet', { netns: net.db, addresses: [net.dbFromA, net.dbFromB], clients: '10.231.0.0/16' });
  await cluster.createDatabase('shared');
}, 120_000);

afterAll(async () => {
  try {
    await cluster?.destroy();
  } finally {
    await net?.destroy();
  }
}, 120_000);

// Registered after the network's hooks: its mounts stop before the server and the network go.
const dir = mountsDir('pgnet');

const FILE_BYTES = 1024 * 1024;

describe('two mounts of one postgres: store, each in its own network namespace, the server in a third', () => {
  let a: Mounted;
  let b: Mounted;
  const mntA = (): string => path.join(dir(), 'a');
  const mntB = (): string => path.join(dir(), 'b');
  const mountA = (): Promise<Mounted> => {
    const n = net as TestNetwork;
    return mount({ store: `postgres://postgres@${n.dbFromA}/shared`, mnt: mntA(), cacheSize: '256K', args: ['--coherent'], wrap: n.exec(n.a) });
  };
  const mountB = (): Promise<Mounted> => {
    const n = net as TestNetwork;
    return mount({ store: `postgres://postgres@${n.dbFromB}/shared`, mnt: mntB(), cacheSize: '256K', args: ['--coherent'], wrap: n.exec(n.b) });
  };

  beforeAll(async () => {
    a = await mountA();
    b = await mountB();
    await writeFile(path.join(mntA(), 'f'), randomBytes(FILE_BYTES));
    await until(() => exists(path.join(mntB(), 'f')));
  }, 120_000);

  it('A cannot reach B: they meet only through the server', async () => {
    const n = net as TestNetwork;
    const { execFile } = await import('node:child_process');
    const [cmd, ...prefix] = n.exec(n.a);
    // A TCP connection from A's namespace to B's address fails (no route); to the server's it is the database.
    const connect = (host: string): Promise<string> =>
      new Promise((resolve) =>
        execFile(cmd ?? 'nsenter', [...prefix, process.execPath, '-e', `require('net').connect(5432, '${host}').on('connect', () => { console.log('up'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`], (_err, stdout) => resolve(stdout.trim())),
      );
    expect(await connect('10.231.2.1')).toMatch(/ENETUNREACH|EHOSTUNREACH/);
    expect(await connect(n.dbFromA)).toBe('up');
  });

  it('read() on one mount right after write() returned on the other sees the new bytes (300 rounds, both ways)', async () => {
    const latencies = await readAfterWrite(mntA(), mntB(), 'f', 300, 61);
    latencies.sort((x, y) => x - y);
    console.log(`read right after a write on the other mount, over veth: p50 ${latencies[150]?.toFixed(2)} ms, p90 ${latencies[270]?.toFixed(2)} ms`);
    const figures = await machpagerJson<{ coherence?: { peers: number; pages_recalled: number } }>(['stats', '--json', mntB()]);
    expect(figures.coherence?.peers).toBe(1);
    expect(figures.coherence?.pages_recalled).toBeGreaterThan(0);
  }, 240_000);

  it("two writers on different pages of one file keep each other's bytes", async () => {
    await twoWriters(mntA(), mntB(), 'f', 150);
  }, 240_000);

  it('create, rename and unlink on one mount are seen on the other', async () => {
    await namesSeen(mntA(), mntB());
  }, 60_000);

  it('kill -9 of one daemon while the other writes: the survivor serves on, and keeps what it acknowledged', async () => {
    const fb = await open(path.join(mntB(), 'f'), 'r+');
    const model = await readFile(path.join(mntB(), 'f'));
    await readFile(path.join(mntA(), 'f'));
    try {
      for (let i = 0; i < 100; i++) {
        if (i === 30) await a.kill9();
        const bytes = randomBytes(1 + ((i * 4099) % 9000));
        const offset = (i * 10007) % (FILE_BYTES - bytes.length);
        await fb.write(bytes, 0, bytes.length, offset);
        bytes.copy(model, offset);
      }
      await fb.sync();
    } finally {
      await fb.close();
    }
    expect((await readFile(path.join(mntB(), 'f'))).equals(model)).toBe(true);
    a = await mountA();
    expect((await readFile(path.join(mntA(), 'f'))).equals(model)).toBe(true);
    expect(b.running).toBe(true);
  }, 120_000);
});
