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
});
