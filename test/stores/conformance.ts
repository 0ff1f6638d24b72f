/**
 * The one conformance suite every store class runs (ZenFS's tests/setup +
 * tests/fs): a setup says how to make a fresh store and what the class
 * supports; the suite checks the shared contract of stores/store.ts.
 */
import { describe, expect, it } from 'vitest';
import { openStore, STORE_ENFORCED, STORE_HARD_READONLY, STORE_READONLY, StoreError, type Store } from '../../stores/index.js';

export interface ConformanceSetup {
  /** The class under test (the store's className). */
  className: string;
  /** A fresh, writable store, at least 64 blocks, never written. */
  create(): Promise<Store>;
  /** Data survives close and openStore(name). */
  persistent: boolean;
  /** Written data reads back (false: zero). */
  keepsData: boolean;
  /** setSize works (else EOPNOTSUPP). */
  resizable: boolean;
  /** isHole on never-written ranges: 'exact' (true until written), 'always' (zero), 'never' (cannot tell). */
  holes: 'exact' | 'always' | 'never';
}

/** A deterministic pattern of `length` bytes, different per seed. */
export function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) buf.writeUInt32LE((Math.imul(seed + 1, 2654435761) + i * 7919) >>> 0, i);
  return buf;
}

/** A small seeded PRNG for random offsets. */
export function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<StoreError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
  return err as StoreError;
}

export function expectThrowCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
}

async function readAll(store: Store, offset = 0, length = store.size): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const n = await store.read(offset, buf);
  expect(n).toBe(length);
  return buf;
}

export function conformance(setup: ConformanceSetup): void {
  const zeroed = (n: number) => Buffer.alloc(n);

  /** Run `body` on a fresh store and close it afterwards (unless the body did). */
  async function withStore(body: (s: Store, bs: number) => Promise<void>): Promise<void> {
    const s = await setup.create();
    try {
      await body(s, s.blockSize);
    } finally {
      await s.close().catch(() => undefined);
    }
  }

  describe(`${setup.className} store conformance`, () => {
    it('has the class, a typed name, a power-of-two block size and a whole number of blocks', () =>
      withStore(async (s, bs) => {
        expect(s.className).toBe(setup.className);
        expect(s.name.startsWith(`${setup.className}:`)).toBe(true);
        expect(bs & (bs - 1)).toBe(0);
        expect(s.size % bs).toBe(0);
        expect(s.size / bs).toBeGreaterThanOrEqual(64);
        expect(s.flags & STORE_READONLY).toBe(0);
        await Promise.resolve();
      }));

    it('reads back what it wrote: aligned, multi-block and at random offsets', () =>
      withStore(async (s, bs) => {
        const model = Buffer.alloc(s.size);
        const put = async (offset: number, data: Buffer) => {
          expect(await s.write(offset, data)).toBe(data.length);
          data.copy(model, offset);
        };
        await put(0, pattern(bs, 1));
        await put(3 * bs, pattern(5 * bs, 2));
        await put(s.size - bs, pattern(bs, 3));
        const rand = prng(42);
        for (let i = 0; i < 30; i++) {
          const blocks = 1 + rand(4);
          const at = rand(s.size / bs - blocks) * bs;
          await put(at, pattern(blocks * bs, 100 + i));
        }
        // Concurrent writes to different blocks all land.
        await Promise.all([8, 12, 16, 20].map((b, i) => s.write(b * bs, pattern(bs, 200 + i))));
        [8, 12, 16, 20].forEach((b, i) => pattern(bs, 200 + i).copy(model, b * bs));
        const expected = setup.keepsData ? model : zeroed(s.size);
        expect((await readAll(s)).equals(expected)).toBe(true);
        expect((await readAll(s, 3 * bs, 5 * bs)).equals(expected.subarray(3 * bs, 8 * bs))).toBe(true);
        // A later write replaces an earlier one.
        await s.write(3 * bs, pattern(bs, 9));
        expect((await readAll(s, 3 * bs, bs)).equals(setup.keepsData ? pattern(bs, 9) : zeroed(bs))).toBe(true);
      }));

    it('reads holes as zeros and reports them', () =>
      withStore(async (s, bs) => {
        expect((await readAll(s, 10 * bs, 4 * bs)).equals(zeroed(4 * bs))).toBe(true);
        const hole = await s.isHole(10 * bs, 4 * bs);
        expect(hole).toBe(setup.holes !== 'never');
        await s.write(12 * bs, pattern(bs, 5));
        expect(await s.isHole(12 * bs, bs)).toBe(setup.holes === 'always');
        expect(await s.isHole(10 * bs, 4 * bs)).toBe(setup.holes === 'always');
        if (setup.holes === 'exact') {
          expect(await s.isHole(10 * bs, 2 * bs)).toBe(true);
          expect(await s.isHole(13 * bs, bs)).toBe(true);
        }
        // Nothing was ever written past the end.
        expect(await s.isHole(s.size, bs)).toBe(true);
      }));

    it('grows with zeros and shrinks discarding data (or says it cannot)', () =>
      withStore(async (s, bs) => {
        const size = s.size;
        await s.write(size - 2 * bs, pattern(2 * bs, 7));
        if (!setup.resizable) {
          await expectCode(s.setSize(size - bs), 'EOPNOTSUPP');
          expect(s.size).toBe(size);
          return;
        }
        await s.setSize(size - bs);
        expect(s.size).toBe(size - bs);
        const tail = Buffer.alloc(2 * bs);
        expect(await s.read(size - 2 * bs, tail)).toBe(bs);
        expect(tail.subarray(0, bs).equals(pattern(2 * bs, 7).subarray(0, bs))).toBe(true);
        await s.setSize(size + 4 * bs);
        expect(s.size).toBe(size + 4 * bs);
        // The discarded block and the new ones read as zeros.
        expect((await readAll(s, size - bs, 5 * bs)).equals(zeroed(5 * bs))).toBe(true);
        await s.write(size + 3 * bs, pattern(bs, 8));
        expect((await readAll(s, size + 3 * bs, bs)).equals(pattern(bs, 8))).toBe(true);
        await s.setSize(0);
        expect(s.size).toBe(0);
        expect(await s.read(0, Buffer.alloc(bs))).toBe(0);
        await s.setSize(size);
        expect((await readAll(s)).equals(zeroed(size))).toBe(true);
        await expectCode(s.setSize(bs + 1), 'EINVAL');
        await expectCode(s.setSize(2 ** 54), 'EFBIG');
      }));

    it('READONLY gives EROFS until cleared; backend flags are EINVAL', () =>
      withStore(async (s, bs) => {
        s.setFlags(STORE_READONLY);
        expect(s.flags & STORE_READONLY).toBe(STORE_READONLY);
        await expectCode(s.write(0, pattern(bs, 1)), 'EROFS');
        await expectCode(s.setSize(s.size), 'EROFS');
        expect(await s.read(0, Buffer.alloc(bs))).toBe(bs);
        s.clearFlags(STORE_READONLY);
        expect(s.flags & STORE_READONLY).toBe(0);
        expect(await s.write(0, pattern(bs, 1))).toBe(bs);
        const before = s.flags;
        expectThrowCode(() => s.setFlags(STORE_HARD_READONLY), 'EINVAL');
        expectThrowCode(() => s.setFlags(STORE_ENFORCED | STORE_READONLY), 'EINVAL');
        expectThrowCode(() => s.clearFlags(STORE_ENFORCED), 'EINVAL');
        expectThrowCode(() => s.setFlags(0x4000), 'EINVAL');
        expect(s.flags).toBe(before);
      }));

    it('HARD_READONLY keeps READONLY set and cannot be cleared', () =>
      withStore(async (s, bs) => {
        await s.write(0, pattern(bs, 4));
        await s.sync();
        const ro = await openStore(s.name, { flags: STORE_HARD_READONLY });
        try {
          expect(ro.flags & (STORE_HARD_READONLY | STORE_READONLY)).toBe(STORE_HARD_READONLY | STORE_READONLY);
          ro.clearFlags(STORE_READONLY);
          expect(ro.flags & STORE_READONLY).toBe(STORE_READONLY);
          expectThrowCode(() => ro.clearFlags(STORE_HARD_READONLY), 'EINVAL');
          await expectCode(ro.write(0, pattern(bs, 5)), 'EROFS');
          if (setup.persistent) expect((await readAll(ro, 0, bs)).equals(pattern(bs, 4))).toBe(true);
        } finally {
          await ro.close();
        }
        expect((await readAll(s, 0, bs)).equals(setup.keepsData ? pattern(bs, 4) : zeroed(bs))).toBe(true);
      }));

    it('rejects offsets and lengths that are not whole blocks (EINVAL)', () =>
      withStore(async (s, bs) => {
        await expectCode(s.read(bs / 2, Buffer.alloc(bs)), 'EINVAL');
        await expectCode(s.read(0, Buffer.alloc(bs + 1)), 'EINVAL');
        await expectCode(s.write(bs + 1, pattern(bs, 1)), 'EINVAL');
        await expectCode(s.write(0, Buffer.alloc(bs - 1)), 'EINVAL');
        await expectCode(s.read(-bs, Buffer.alloc(bs)), 'EINVAL');
        await expectCode(s.read(0.5, Buffer.alloc(bs)), 'EINVAL');
        await expectCode(s.isHole(1, bs), 'EINVAL');
        expect(s.stats().errors).toBe(7);
      }));

    it('clips reads at the end and refuses writes past it (EIO)', () =>
      withStore(async (s, bs) => {
        const buf = Buffer.alloc(4 * bs, 0xaa);
        expect(await s.read(s.size - bs, buf)).toBe(bs);
        expect(buf.subarray(0, bs).equals(zeroed(bs))).toBe(true);
        expect(buf.subarray(bs).every((b) => b === 0xaa)).toBe(true);
        expect(await s.read(s.size, buf)).toBe(0);
        expect(await s.read(s.size + 100 * bs, buf)).toBe(0);
        await expectCode(s.write(s.size - bs, pattern(2 * bs, 1)), 'EIO');
        await expectCode(s.write(s.size, pattern(bs, 1)), 'EIO');
        expect((await readAll(s, s.size - bs, bs)).equals(zeroed(bs))).toBe(true);
        expect(await s.read(0, Buffer.alloc(0))).toBe(0);
        expect(await s.write(0, Buffer.alloc(0))).toBe(0);
      }));

    it('rejects offsets past 2^53 (EFBIG)', () =>
      withStore(async (s, bs) => {
        await expectCode(s.read(2 ** 53 + 2 * bs, Buffer.alloc(bs)), 'EFBIG');
        await expectCode(s.read(2 ** 53 - bs, Buffer.alloc(2 * bs)), 'EFBIG');
        await expectCode(s.write(2 ** 60, pattern(bs, 1)), 'EFBIG');
        await expectCode(s.isHole(2 ** 54, bs), 'EFBIG');
        await expectCode(s.read(Infinity, Buffer.alloc(bs)), 'EFBIG');
        // 2^53 itself is exact: a clipped read there reads nothing.
        expect(await s.read(2 ** 53, Buffer.alloc(0))).toBe(0);
      }));

    it('syncs, counts its I/O, and is EBADF after close (which waits for I/O in flight)', async () => {
      const s = await setup.create();
      const bs = s.blockSize;
      await s.write(0, pattern(2 * bs, 1));
      await s.read(0, Buffer.alloc(2 * bs));
      await s.sync();
      expect(s.stats()).toEqual({ reads: 1, writes: 1, bytes_read: 2 * bs, bytes_written: 2 * bs, syncs: 1, errors: 0 });
      const pending = s.write(4 * bs, pattern(bs, 2));
      await s.close();
      expect(await pending).toBe(bs);
      await expectCode(s.read(0, Buffer.alloc(bs)), 'EBADF');
      await expectCode(s.write(0, pattern(bs, 1)), 'EBADF');
      await expectCode(s.sync(), 'EBADF');
      await expectCode(s.setSize(0), 'EBADF');
      await expectCode(s.isHole(0, bs), 'EBADF');
      expectThrowCode(() => s.setFlags(STORE_READONLY), 'EBADF');
      await expectCode(s.close(), 'EBADF');
    });

    it('reopens by its typed name as an equivalent store', async () => {
      const s = await setup.create();
      const bs = s.blockSize;
      await s.write(5 * bs, pattern(3 * bs, 11));
      await s.sync();
      const { name, className, blockSize, size, flags } = s;
      await s.close();
      const again = await openStore(name);
      try {
        const seen = { name: again.name, className: again.className, blockSize: again.blockSize, size: again.size, flags: again.flags };
        expect(seen).toEqual({ name, className, blockSize, size, flags });
        const data = await readAll(again, 5 * bs, 3 * bs);
        // Persistent classes keep the data; the others come back empty.
        expect(data.equals(setup.persistent && setup.keepsData ? pattern(3 * bs, 11) : zeroed(3 * bs))).toBe(true);
      } finally {
        await again.close();
      }
    });

    if (setup.persistent) {
      it('keeps data across close and reopen, also without sync', async () => {
        const s = await setup.create();
        const bs = s.blockSize;
        await s.write(0, pattern(bs, 21));
        await s.write(7 * bs, pattern(9 * bs, 22));
        await s.close();
        const again = await openStore(s.name);
        try {
          expect((await readAll(again, 0, bs)).equals(pattern(bs, 21))).toBe(true);
          expect((await readAll(again, 7 * bs, 9 * bs)).equals(pattern(9 * bs, 22))).toBe(true);
          expect((await readAll(again, bs, 6 * bs)).equals(zeroed(6 * bs))).toBe(true);
        } finally {
          await again.close();
        }
      });
    }
  });
}
