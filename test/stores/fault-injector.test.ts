/** One FaultInjector shared by several fault stores (what a mount does): rules, counts and the PRNG are the injector's. */
import { describe, expect, it } from 'vitest';
import { FaultInjector, FaultStore, formatFaultRule, MemoryStore, parseFaultSpec } from '../../stores/index.js';
import { expectCode, pattern } from './conformance.js';

const child = (): MemoryStore => new MemoryStore({ size: 64 * 1024, blockSize: 4096 });

describe('FaultInjector', () => {
  it('is shared: a count disarms the rule for every store, and the counters are summed', async () => {
    const injector = new FaultInjector(parseFaultSpec('write*2=ENOSPC'));
    const a = new FaultStore(child(), injector);
    const b = new FaultStore(child(), injector);
    try {
      await expectCode(a.write(0, pattern(4096, 1)), 'ENOSPC');
      await expectCode(b.write(0, pattern(4096, 2)), 'ENOSPC');
      expect(await a.write(0, pattern(4096, 3))).toBe(4096);
      expect(await b.write(4096, pattern(4096, 4))).toBe(4096);
      expect(injector.stats()).toMatchObject({ writes: 4, injected: 2, injected_writes: 2 });
      expect(a.faultStats()).toEqual(b.faultStats());
      expect(injector.listRules()[0]?.injected).toBe(2);
      // Offsets are each store's own.
      injector.replace(parseFaultSpec('read@4K+4K=EIO'));
      await expectCode(b.read(4096, Buffer.alloc(4096)), 'EIO');
      expect(await a.read(0, Buffer.alloc(4096))).toBe(4096);
      expect(a.name).toBe('fault:read@4K+4K=EIO:memory:64K/4K');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('replace sets rules, seed and latency at once, back to their defaults when not given; a bad SPEC changes nothing', () => {
    const injector = new FaultInjector(parseFaultSpec('read=EIO,seed=7,latency=3'));
    expect(injector.spec).toBe('read=EIO,seed=7,latency=3');
    injector.replace(parseFaultSpec('write@1M+64K%0.25*3=EROFS'));
    expect(injector.spec).toBe('write@1M+64K%0.25*3=EROFS');
    expect({ seed: injector.seed, latency: injector.latencyMs }).toEqual({ seed: 1, latency: 0 });
    expect(() => injector.replace({ rules: [{ op: 'read', code: 'EIO' }, { op: 'read', code: 'ENOPE' as 'EIO' }] })).toThrow(/not an errno name/);
    expect(() => injector.replace({ latencyMs: -1 })).toThrow(/fault latency/);
    expect(injector.spec).toBe('write@1M+64K%0.25*3=EROFS');
    injector.replace({});
    expect(injector.spec).toBe('');
    expect(formatFaultRule({ op: 'rw', code: 'EIO', offset: 4096 })).toBe('rw@4K+=EIO');
  });

  it('OP-latency slows one kind of operation only (a disk that writes slowly), and round-trips as SPEC', async () => {
    const injector = new FaultInjector(parseFaultSpec('write-latency=40,sync-latency=5'));
    expect(injector.spec).toBe('write-latency=40,sync-latency=5');
    expect(() => parseFaultSpec('write-latency=-1')).toThrow(/bad fault rule/);
    const store = new FaultStore(child(), injector);
    try {
      const t = performance.now();
      await store.write(0, pattern(4096, 1));
      // A timer waits at least its time (less one for rounding).
      expect(performance.now() - t).toBeGreaterThanOrEqual(39);
      expect(injector.opLatencyMs).toEqual({ write: 40, sync: 5 });
      expect(injector.latencyMs).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('tells every fault (op, file, range, code, rule) to onFault and keeps the last ones', async () => {
    const injector = new FaultInjector(parseFaultSpec('write(*.db)@4K+4K=ENOSPC,rename(*.wal)=EIO'));
    const told: string[] = [];
    injector.onFault = (e) => told.push(`${e.op} ${e.path} ${e.offset}+${e.length} ${e.code} ${e.rule}`);
    const a = new FaultStore(child(), injector, 0, () => '/d/x.db');
    try {
      expect(await a.write(0, pattern(4096, 1))).toBe(4096);
      await expectCode(a.write(4096, pattern(4096, 2)), 'ENOSPC');
      expect(injector.operationFault('rename', '/a.wal')).toBe('EIO');
      expect(injector.operationFault('rename', '/a.txt')).toBeUndefined();
      expect(told).toEqual(['write /d/x.db 4096+4096 ENOSPC write(*.db)@4K+4K=ENOSPC', 'rename /a.wal 0+0 EIO rename(*.wal)=EIO']);
      expect(injector.recentFaults().map((e) => e.op)).toEqual(['write', 'rename']);
      for (let i = 0; i < 150; i++) injector.operationFault('rename', `/${i}.wal`);
      expect(injector.recentFaults()).toHaveLength(100);
      expect(injector.recentFaults().at(-1)?.path).toBe('/149.wal');
    } finally {
      await a.close();
    }
  });

  it("draws are keyed by the file's path, not the store's name: the same file on another store meets the same faults", async () => {
    const failures = async (pages: number): Promise<string> => {
      const injector = new FaultInjector(parseFaultSpec('write%0.5=EIO,seed=9'));
      const store = new FaultStore(new MemoryStore({ size: pages * 4096, blockSize: 4096 }), injector, 0, () => '/same/file');
      let out = '';
      try {
        for (let i = 0; i < 64; i++) out += await store.write(i * 4096, pattern(4096, i)).then(() => '1', () => '0');
      } finally {
        await store.close();
      }
      return out;
    };
    const first = await failures(64);
    expect(first).toMatch(/0/);
    expect(first).toMatch(/1/);
    expect(await failures(128)).toBe(first);
  });
});
