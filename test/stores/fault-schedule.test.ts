/** The fault injector's schedules: NTH, globs, keyed seeded rates, latency distributions, freeze and thaw, file-system operations. */
import { describe, expect, it } from 'vitest';
import { FaultInjector, FaultStore, MemoryStore, parseFaultSpec } from '../../stores/index.js';
import { parseLatency, sampleLatency } from '../../stores/fault-latency.js';
import { globMatcher } from '../../stores/path-glob.js';
import { mulberry32 } from '../../stores/seeded-random.js';
import { expectCode, pattern } from './conformance.js';

const child = (): MemoryStore => new MemoryStore({ size: 64 * 1024, blockSize: 4096 });

async function outcomes(store: FaultStore, offsets: readonly number[]): Promise<boolean[]> {
  const buf = Buffer.alloc(4096);
  const out: boolean[] = [];
  for (const at of offsets) out.push(await store.read(at, buf).then(() => true, () => false));
  return out;
}

describe('fault schedules', () => {
  it('#NTH fails the NTH matching operation only; with *COUNT that many from there', async () => {
    const injector = new FaultInjector(parseFaultSpec('write#3=EIO'));
    const s = new FaultStore(child(), injector);
    try {
      const results: string[] = [];
      for (let i = 0; i < 6; i++) results.push(await s.write(0, pattern(4096, i)).then(() => 'ok', (e: { code?: string }) => e.code ?? '?'));
      expect(results).toEqual(['ok', 'ok', 'EIO', 'ok', 'ok', 'ok']);
      injector.replace(parseFaultSpec('read#2*2=EDQUOT'));
      expect(await outcomes(s, [0, 0, 0, 0, 0])).toEqual([true, false, false, true, true]);
      expect(injector.spec).toBe('read#2*2=EDQUOT');
    } finally {
      await s.close();
    }
  });

  it('a glob picks files by name or by path', () => {
    expect(globMatcher('*.wal')('/db/x.wal')).toBe(true);
    expect(globMatcher('*.wal')('/db/x.wal.old')).toBe(false);
    expect(globMatcher('/db/*')('/db/x')).toBe(true);
    expect(globMatcher('/db/*')('/db/a/x')).toBe(false);
    expect(globMatcher('/db/**')('/db/a/x')).toBe(true);
    expect(globMatcher('f[0-3]')('/f2')).toBe(true);
    expect(globMatcher('f[!0-3]')('/f2')).toBe(false);
    expect(globMatcher('a?c')('/abc')).toBe(true);
  });

  it('a rule with a glob fails only the stores of matching files', async () => {
    const injector = new FaultInjector(parseFaultSpec('read(*.wal)=EIO'));
    const wal = new FaultStore(child(), injector, 0, () => '/db/x.wal');
    const db = new FaultStore(child(), injector, 0, () => '/db/x.db');
    try {
      await expectCode(wal.read(0, Buffer.alloc(4096)), 'EIO');
      expect(await db.read(0, Buffer.alloc(4096))).toBe(4096);
      expect(injector.spec).toBe('read(*.wal)=EIO');
    } finally {
      await wal.close();
      await db.close();
    }
  });

  it('a rate draws per (file, offset, occurrence) from the seed: the same faults in any order, other faults for another seed', async () => {
    const offsets = Array.from({ length: 64 }, (_, i) => i * 4096 * 0 + (i % 16) * 4096);
    const run = async (seed: number, order: readonly number[]): Promise<Map<string, boolean>> => {
      const injector = new FaultInjector(parseFaultSpec(`read%0.3=EIO,seed=${seed}`));
      const s = new FaultStore(child(), injector);
      const seen = new Map<number, number>();
      const out = new Map<string, boolean>();
      const results = await outcomes(s, order);
      order.forEach((at, i) => {
        const n = (seen.get(at) ?? 0) + 1;
        seen.set(at, n);
        out.set(`${at}#${n}`, results[i] ?? false);
      });
      await s.close();
      return out;
    };
    const reversed = [...offsets].reverse();
    for (const seed of [1, 2, 3]) {
      const a = await run(seed, offsets);
      expect(await run(seed, offsets)).toEqual(a);
      // Reversed, each (offset, occurrence) meets the same draw.
      expect(await run(seed, reversed)).toEqual(a);
      const failed = [...a.values()].filter((ok) => !ok).length;
      expect(failed).toBeGreaterThan(5);
      expect(failed).toBeLessThan(40);
    }
    expect(await run(1, offsets)).not.toEqual(await run(2, offsets));
  });

  it('latency distributions parse, round-trip, and draw the same delays for the same seed', () => {
    for (const text of ['5', 'uniform/2/10', 'exp/5', 'normal/5/2']) {
      const spec = `latency=${text},seed=4`;
      expect(new FaultInjector(parseFaultSpec(spec)).spec).toBe(`seed=4,latency=${text}`);
    }
    expect(() => parseLatency('uniform/10/2')).toThrow(/maximum is below/);
    expect(() => parseFaultSpec('latency=gauss/1')).toThrow(/fault latency/);
    const draws = (text: string, seed: number): number[] => {
      const r = mulberry32(seed);
      return Array.from({ length: 2000 }, () => sampleLatency(parseLatency(text), r));
    };
    const u = draws('uniform/2/10', 1);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...u)).toBeLessThan(10);
    const e = draws('exp/5', 1);
    const mean = e.reduce((a, b) => a + b, 0) / e.length;
    expect(mean).toBeGreaterThan(4.5);
    expect(mean).toBeLessThan(5.5);
    const n = draws('normal/5/2', 1);
    expect(Math.min(...n)).toBeGreaterThanOrEqual(0);
    expect(draws('normal/5/2', 1)).toEqual(n);
    expect(draws('normal/5/2', 2)).not.toEqual(n);
  });

  it('freeze holds every store operation until thaw, then they all complete, nothing lost', async () => {
    const injector = new FaultInjector();
    const s = new FaultStore(child(), injector);
    try {
      injector.freeze();
      expect(injector.frozen).toBe(true);
      let done = 0;
      const writes = [0, 1, 2].map((i) => s.write(i * 4096, pattern(4096, i + 1)).then(() => done++));
      // The writes reach the gate within a few turns of the loop.
      for (let i = 0; i < 100 && injector.stats().frozen_waiting < 3; i++) await new Promise((r) => setImmediate(r));
      expect(injector.stats().frozen_waiting).toBe(3);
      expect(done).toBe(0);
      injector.thaw();
      await Promise.all(writes);
      expect(injector.stats()).toMatchObject({ frozen_waiting: 0, frozen_operations: 3 });
      const back = Buffer.alloc(4096);
      await s.read(8192, back);
      expect(back.equals(pattern(4096, 3))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('file-system operations: a rule answers its code for matching paths; ranges are refused; --off stops every rule', () => {
    const injector = new FaultInjector(parseFaultSpec('rename(*.tmp)=EIO,create#2=ENOSPC,fsync(/db/**)=EDQUOT'));
    expect(injector.hasOperationRules).toBe(true);
    expect(injector.operationFault('rename', '/a.tmp')).toBe('EIO');
    expect(injector.operationFault('rename', '/a.txt')).toBeUndefined();
    expect([1, 2, 3].map(() => injector.operationFault('create', '/x'))).toEqual([undefined, 'ENOSPC', undefined]);
    expect(injector.operationFault('fsync', '/db/a/b')).toBe('EDQUOT');
    expect(injector.stats().injected_operations).toBe(3);
    injector.enabled = false;
    expect(injector.operationFault('rename', '/a.tmp')).toBeUndefined();
    expect(() => parseFaultSpec('rename@0+4K=EIO')).toThrow(/no byte range/);
    expect(() => parseFaultSpec('frobnicate=EIO')).toThrow(/bad fault rule/);
    expect(new FaultInjector(parseFaultSpec('read=EIO')).hasOperationRules).toBe(false);
  });
});
