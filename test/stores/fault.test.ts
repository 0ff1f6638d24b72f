/** The fault-injecting wrapper: errors at offsets and at rates, latency, toggles, counters. */
import { describe, expect, it, vi } from 'vitest';
import { FaultStore, MemoryStore, openStore, parseFaultSpec, STORE_READONLY } from '../../stores/index.js';
import { expectCode, pattern } from './conformance.js';

const fresh = () => new FaultStore(new MemoryStore({ size: 64 * 1024, blockSize: 4096 }));

/** The injector's latency sleeps: held for the test that looks at them, real for the others. */
const sleeps = vi.hoisted(() => ({ hold: false, taken: [] as { ms: number; wake: () => void }[] }));
vi.mock('node:timers/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:timers/promises')>();
  return {
    ...real,
    setTimeout: (ms?: number, value?: unknown, options?: Parameters<typeof real.setTimeout>[2]): Promise<unknown> =>
      sleeps.hold ? new Promise<void>((wake) => sleeps.taken.push({ ms: ms ?? 1, wake })) : real.setTimeout(ms, value, options),
  };
});

/** One turn of the event loop: every promise that can settle has. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function childPage(child: MemoryStore): Promise<Buffer> {
  const page = Buffer.alloc(4096);
  await child.read(0, page);
  return page;
}

describe('fault store', () => {
  it('injects any errno at chosen byte ranges, for reads, writes or syncs', async () => {
    const s = fresh();
    try {
      const rule = s.addRule({ op: 'read', code: 'EIO', offset: 8192, length: 4096 });
      const buf = Buffer.alloc(4096);
      expect(await s.read(4096, buf)).toBe(4096);
      const err = await expectCode(s.read(8192, buf), 'EIO');
      expect(err.errno).toBe(5);
      await expectCode(s.read(4096, Buffer.alloc(8192)), 'EIO');
      expect(await s.write(8192, pattern(4096, 1))).toBe(4096);
      s.addRule({ op: 'write', code: 'EDQUOT', offset: 32768 });
      expect((await expectCode(s.write(60 * 1024, pattern(4096, 2)), 'EDQUOT')).errno).toBe(122);
      s.addRule({ op: 'sync', code: 'ENOSPC' });
      expect((await expectCode(s.sync(), 'ENOSPC')).errno).toBe(28);
      // Toggles, flipped at run time.
      rule.enabled = false;
      expect(await s.read(8192, buf)).toBe(4096);
      expect(buf.equals(pattern(4096, 1))).toBe(true);
      s.enabled = false;
      await s.sync();
      expect(await s.write(60 * 1024, pattern(4096, 2))).toBe(4096);
      s.enabled = true;
      expect(s.faultStats()).toMatchObject({
        reads: 4,
        writes: 3,
        syncs: 2,
        injected: 4,
        injected_reads: 2,
        injected_writes: 1,
        injected_syncs: 1,
        injected_allocates: 0,
      });
      expect(rule.injected).toBe(2);
      expect(s.stats()).toMatchObject({ reads: 2, writes: 2, errors: 4 });
      s.clearRules();
      await s.sync();
    } finally {
      await s.close();
    }
  });

  it('injects at a rate from a seeded PRNG, the same faults for the same seed', async () => {
    const run = async (seed: number) => {
      const s = fresh();
      s.reseed(seed);
      s.addRule({ op: 'rw', code: 'EIO', rate: 0.25 });
      const outcomes: boolean[] = [];
      const buf = Buffer.alloc(4096);
      for (let i = 0; i < 400; i++) {
        outcomes.push(await s.read((i % 16) * 4096, buf).then(() => true, () => false));
      }
      await s.close();
      return outcomes;
    };
    const a = await run(7);
    const failures = a.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(60);
    expect(failures).toBeLessThan(140);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('disarms a rule after COUNT faults', async () => {
    const s = fresh();
    s.addRule({ op: 'write', code: 'ENOSPC', count: 2 });
    await expectCode(s.write(0, pattern(4096, 1)), 'ENOSPC');
    await expectCode(s.write(0, pattern(4096, 1)), 'ENOSPC');
    expect(await s.write(0, pattern(4096, 1))).toBe(4096);
    await s.close();
  });

  it('waits its latency before every operation, and only then lets it reach the child', async () => {
    const child = new MemoryStore({ size: 64 * 1024, blockSize: 4096 });
    const s = new FaultStore(child);
    s.latencyMs = 20;
    sleeps.hold = true;
    try {
      const data = pattern(4096, 1);
      const write = s.write(0, data);
      await turn();
      expect(sleeps.taken.map((t) => t.ms)).toEqual([20]);
      expect(await childPage(child)).toEqual(Buffer.alloc(4096)); // not written yet
      sleeps.taken.shift()?.wake();
      expect(await write).toBe(4096);
      expect(await childPage(child)).toEqual(data);

      const into = Buffer.alloc(4096);
      const read = s.read(0, into);
      await turn();
      expect(sleeps.taken.map((t) => t.ms)).toEqual([20]);
      expect(into).toEqual(Buffer.alloc(4096)); // not read yet
      sleeps.taken.shift()?.wake();
      expect(await read).toBe(4096);
      expect(into).toEqual(data);

      // Without latency nothing waits.
      s.latencyMs = 0;
      expect(await s.read(0, into)).toBe(4096);
      expect(sleeps.taken).toEqual([]);
    } finally {
      sleeps.hold = false;
      for (const t of sleeps.taken.splice(0)) t.wake();
    }
    await s.close();
  });

  it('has a typed name that carries its rules and reopens an equivalent wrapper', async () => {
    const name = 'fault:read@4K+4K=EIO,write%0.5*3=ENOSPC,sync=EDQUOT,seed=7,latency=1:memory:64K/4K';
    const s = await openStore(name);
    expect(s.name).toBe(name);
    await expectCode(s.read(4096, Buffer.alloc(4096)), 'EIO');
    await expectCode(s.sync(), 'EDQUOT');
    const f = s as FaultStore;
    f.addRule({ op: 'rw', code: 'EAGAIN', offset: 0 });
    expect(s.name).toBe(name.replace(',seed=7', ',rw@0+=EAGAIN,seed=7'));
    await s.close();
    expect(parseFaultSpec('')).toEqual({ rules: [] });
    for (const bad of ['read=NOTANERRNO', 'peek=EIO', 'read%2=EIO', 'read@x+1=EIO']) expect(() => parseFaultSpec(bad)).toThrow();
    await expectCode(openStore('fault:read=EIO'), 'EINVAL');
  });
});

describe('allocate', () => {
  it('checks the range, honours read-only stores, and can be made to fail by the fault store', async () => {
    const s = new FaultStore(new MemoryStore({ size: 1 << 20, blockSize: 4096 }));
    try {
      await s.allocate(0, 4096);
      await expect(s.allocate(1 << 20, 4096)).rejects.toMatchObject({ code: 'ENOSPC' });
      const rule = s.addRule({ op: 'allocate', offset: 8192, length: 4096, code: 'EDQUOT' });
      await expect(s.allocate(8192, 4096)).rejects.toMatchObject({ code: 'EDQUOT' });
      await s.allocate(4096, 4096);
      expect(rule.injected).toBe(1);
      expect(s.faultStats().injected_allocates).toBe(1);
      expect(parseFaultSpec('allocate@4K+4K=ENOSPC').rules?.[0]).toMatchObject({ op: 'allocate', offset: 4096, length: 4096 });
      s.setFlags(STORE_READONLY);
      await expect(s.allocate(0, 4096)).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      await s.close();
    }
  });
});
