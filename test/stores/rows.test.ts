/**
 * Checklist rows 56-60 (reference section 7): libstore's rdwr.c, flags.c,
 * typed.c and classes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConcatStore,
  FaultStore,
  FileStore,
  MemoryStore,
  openStore,
  parseTypedName,
  RemapStore,
  registerStoreClass,
  storeClasses,
  STORE_ENFORCED,
  STORE_HARD_READONLY,
  STORE_READONLY,
  StoreError,
  type Store,
} from '../../stores/index.js';
import { expectCode, expectThrowCode, pattern } from './conformance.js';
import { tempDir } from './tmp.js';

const dir = tempDir('rows');

async function withStore<T extends Store, R>(store: T | Promise<T>, body: (s: T) => R | Promise<R>): Promise<R> {
  const s = await store;
  try {
    return await body(s);
  } finally {
    await s.close();
  }
}

describe('row 56: store alignment', () => {
  it('row 56: lengths that are not whole blocks are EINVAL, a write past the end EIO, a read past it is clipped', async () => {
    const names = ['memory:64K', 'zero:64K', `file:${join(dir, 'r56')}`, 'concat:memory:,32K,32K/4K', 'remap:0+64:memory:64K'];
    for (const name of names) {
      await withStore(openStore(name, name.startsWith('file:') ? { create: true, size: 64 * 1024 } : {}), async (s) => {
        const bs = s.blockSize;
        await expectCode(s.read(0, Buffer.alloc(bs + bs / 2)), 'EINVAL');
        await expectCode(s.write(0, Buffer.alloc(bs / 2)), 'EINVAL');
        await expectCode(s.write(bs / 2, Buffer.alloc(bs)), 'EINVAL');
        await expectCode(s.write(s.size - bs, Buffer.alloc(2 * bs)), 'EIO');
        const buf = Buffer.alloc(3 * bs);
        expect(await s.read(s.size - bs, buf), name).toBe(bs);
        expect(await s.read(s.size + bs, buf), name).toBe(0);
        // A clipped read is still whole blocks: the store size is.
        expect(s.size % bs).toBe(0);
      });
    }
  });
});

describe('row 57: store holes and runs', () => {
  // Child of 16 blocks of 512; runs: blocks 0-1, a hole of 2, blocks 2-3, then 8-15.
  const name = 'remap:0+2,-1+2,2+2,8+:memory:8K';

  it('row 57: a read into a hole is EIO; a read across runs gives a short read, not an error', async () => {
    await withStore(openStore(name), async (s) => {
      expect(s.size).toBe(14 * 512);
      await s.write(0, pattern(1024, 1));
      await expectCode(s.read(2 * 512, Buffer.alloc(512)), 'EIO');
      await expectCode(s.read(3 * 512, Buffer.alloc(2 * 512)), 'EIO');
      const buf = Buffer.alloc(4 * 512);
      expect(await s.read(0, buf)).toBe(1024);
      expect(buf.subarray(0, 1024).equals(pattern(1024, 1))).toBe(true);
      // Across runs with no hole between them: whole.
      expect(await s.read(4 * 512, Buffer.alloc(6 * 512))).toBe(6 * 512);
      // Writes: the same rules.
      await expectCode(s.write(2 * 512, pattern(512, 2)), 'EIO');
      expect(await s.write(512, pattern(3 * 512, 3))).toBe(512);
      // A hole is not a hole in isHole's sense: it does not read as zeros.
      expect(await s.isHole(2 * 512, 512)).toBe(false);
      expect(await s.isHole(6 * 512, 512)).toBe(true);
    });
  });

  it('row 57: runs map to the chosen child blocks', async () => {
    const child = new MemoryStore({ size: 8192 });
    await withStore(new RemapStore(child, [{ start: 8, length: 2 }, { start: 1, length: 1 }]), async (s) => {
      await s.write(0, pattern(3 * 512, 4));
      const raw = Buffer.alloc(8192);
      await child.read(0, raw);
      expect(raw.subarray(8 * 512, 10 * 512).equals(pattern(3 * 512, 4).subarray(0, 1024))).toBe(true);
      expect(raw.subarray(512, 1024).equals(pattern(3 * 512, 4).subarray(1024))).toBe(true);
      expect(s.name).toBe('remap:8+2,1+1:memory:8K');
    });
  });

  it('row 57: a child error in the first segment is the error; in a later one, a short count', async () => {
    const a = new FaultStore(new MemoryStore({ size: 4096 }));
    const b = new FaultStore(new MemoryStore({ size: 4096 }));
    await withStore(new ConcatStore([a, b]), async (s) => {
      b.addRule({ op: 'rw', code: 'ENOSPC' });
      expect(await s.write(2048, pattern(4096, 5))).toBe(2048);
      expect(await s.read(0, Buffer.alloc(8192))).toBe(4096);
      await expectCode(s.read(4096, Buffer.alloc(512)), 'ENOSPC');
      b.clearRules();
      a.addRule({ op: 'read', code: 'EIO' });
      await expectCode(s.read(3584, Buffer.alloc(1024)), 'EIO');
    });
  });
});

describe('row 58: store flags', () => {
  it('row 58: READONLY gives EROFS; backend flags change only through the class; HARD_READONLY cannot be cleared', async () => {
    const path = join(dir, 'r58');
    await withStore(FileStore.open({ path, create: true, size: 4096 }), async (rw) => {
      expect(rw.flags & STORE_ENFORCED).toBe(STORE_ENFORCED);
      expect(rw.flags & STORE_HARD_READONLY).toBe(0);
      rw.setFlags(STORE_READONLY);
      await expectCode(rw.write(0, pattern(512, 1)), 'EROFS');
      rw.clearFlags(STORE_READONLY);
      await rw.write(0, pattern(512, 1));
      expectThrowCode(() => rw.clearFlags(STORE_ENFORCED), 'EINVAL');
      expectThrowCode(() => rw.setFlags(STORE_HARD_READONLY), 'EINVAL');
      expect(rw.flags & STORE_ENFORCED).toBe(STORE_ENFORCED);
    });
    // Opened for reading only: the descriptor can never write, so HARD_READONLY.
    await withStore(openStore(`file:${path}`, { flags: STORE_HARD_READONLY }), async (ro) => {
      expect(ro.flags & (STORE_READONLY | STORE_HARD_READONLY)).toBe(STORE_READONLY | STORE_HARD_READONLY);
      ro.clearFlags(STORE_READONLY);
      expect(ro.flags & STORE_READONLY).toBe(STORE_READONLY);
      expectThrowCode(() => ro.clearFlags(STORE_HARD_READONLY), 'EINVAL');
      await expectCode(ro.write(0, pattern(512, 2)), 'EROFS');
      const buf = Buffer.alloc(512);
      await ro.read(0, buf);
      expect(buf.equals(pattern(512, 1))).toBe(true);
    });
    // A composite is as read-only as its children.
    await withStore(openStore(`concat:,file:${path},memory:4K`, { flags: STORE_HARD_READONLY }), async (c) => {
      expect(c.flags & STORE_HARD_READONLY).toBe(STORE_HARD_READONLY);
      await expectCode(c.write(4096, pattern(512, 3)), 'EROFS');
    });
    await expectCode(openStore('memory:4K', { flags: STORE_ENFORCED }), 'EINVAL');
  });
});

describe('row 59: typed names', () => {
  it('row 59: "TYPE:NAME", ":FILE" and a bare name resolve as in libstore; an unknown "TYPE:" is EINVAL', async () => {
    expect(parseTypedName('memory:1M')).toMatchObject({ storeClass: { name: 'memory' }, rest: '1M' });
    expect(parseTypedName(':/tmp/x')).toMatchObject({ storeClass: { name: 'file' }, rest: '/tmp/x' });
    expect(parseTypedName('/tmp/a:b')).toMatchObject({ storeClass: { name: 'file' }, rest: '/tmp/a:b' });
    expect(parseTypedName('zero')).toMatchObject({ storeClass: { name: 'zero' }, rest: '' });
    expect(parseTypedName('data.img')).toMatchObject({ storeClass: { name: 'file' }, rest: 'data.img' });
    expect(parseTypedName('interleave:4K:,zero:8K')).toMatchObject({ storeClass: { name: 'ileave' } });
    expect(parseTypedName('copy:sqlite:/a.db#3')).toMatchObject({ storeClass: { name: 'copy' }, rest: 'sqlite:/a.db#3' });
    const err = await expectCode(openStore('bogus:x'), 'EINVAL');
    expect(err.message).toMatch(/unknown store class 'bogus'.*known: file, sqlite, postgres, memory, zero, concat, ileave, remap, copy, fault/);
    expect(err.errno).toBe(22);
    expectThrowCode(() => parseTypedName(''), 'EINVAL');
    expectThrowCode(() => registerStoreClass({ ...storeClasses()[0], aliases: [] }), 'EEXIST');

    // Opening: a bare class name, a ':' file, a bare path, a missing file.
    await withStore(openStore('zero'), (z) => {
      expect(z.className).toBe('zero');
      expect(z.size).toBe(2 ** 53);
    });
    const file = join(dir, 'r59');
    writeFileSync(file, pattern(1024, 1));
    for (const name of [`:${file}`, file, `file:${file}`]) {
      await withStore(openStore(name), (s) => {
        expect(s.className).toBe('file');
        expect(s.name).toBe(`file:${file}`);
      });
    }
    await expectCode(openStore(join(dir, 'missing')), 'ENOENT');
    await expectCode(openStore('memory:12Q'), 'EINVAL');
    await expectCode(openStore('memory:9P'), 'EFBIG');
  });

  it('row 59: child lists take a separator and an optional common TYPE:, and names nest', async () => {
    await withStore(openStore('concat:memory:,1M,2M/4K'), (s) => {
      expect(s.size).toBe(3 << 20);
      expect(s.blockSize).toBe(4096);
      expect(s.name).toBe('concat:,memory:1M,memory:2M/4K');
    });
    await withStore(openStore('concat:;memory:1K;zero:1K;'), (s) => expect(s.size).toBe(2048));
    await withStore(openStore('copy:remap:0+2:concat:|memory:1K|memory:1K'), (s) => {
      expect(s.name).toBe('copy:remap:0+2:concat:,memory:1K,memory:1K');
      expect(s.size).toBe(1024);
    });
    await withStore(openStore('ileave:1K:,memory:4K,memory:4K'), (s) => {
      expect(s.name).toBe('ileave:1K:,memory:4K,memory:4K');
      expect(s.size).toBe(8192);
    });
    const bad = ['concat:', 'concat:memory1K', 'concat:,', 'concat:,memory:1K,,memory:1K'];
    bad.push('ileave:,memory:4K', 'remap:memory:4K', 'remap:x:memory:4K');
    for (const name of bad) await expectCode(openStore(name), 'EINVAL');
    // Children that do not fit together.
    await expectCode(openStore('ileave:4K:,memory:8K,memory:16K'), 'EINVAL');
    await expectCode(openStore('ileave:1K:,memory:8K/4K,memory:8K/4K'), 'EINVAL');
    await expectCode(openStore('concat:,memory:1536,memory:4K/4K'), 'EINVAL');
    await expectCode(openStore('remap:0+20:memory:4K'), 'EINVAL');
  });
});

describe('row 60: store classes', () => {
  it('row 60: zero reads zeros and drops writes; memory keeps them sparse', async () => {
    await withStore(openStore('zero:1M'), async (z) => {
      await z.write(0, pattern(4096, 1));
      const buf = Buffer.alloc(4096, 1);
      await z.read(0, buf);
      expect(buf.equals(Buffer.alloc(4096))).toBe(true);
      await expectCode(z.setSize(4096), 'EOPNOTSUPP');
    });
    await withStore(new MemoryStore({ size: 2 ** 40 }), async (m) => {
      await m.write(2 ** 39, pattern(1024, 2));
      await m.write(0, Buffer.alloc(1024));
      expect(m.blocksInUse).toBe(2);
    });
  });

  it('row 60: file does positioned I/O on the file itself', async () => {
    const path = join(dir, 'r60-file');
    writeFileSync(path, pattern(1000, 1));
    await withStore(openStore(`file:${path}`), async (s) => {
      // 1000 bytes: two blocks, the tail of the second reads as zeros.
      expect(s.size).toBe(1024);
      const buf = Buffer.alloc(1024, 0xff);
      await s.read(0, buf);
      expect(buf.subarray(0, 1000).equals(pattern(1000, 1))).toBe(true);
      expect(buf.subarray(1000).equals(Buffer.alloc(24))).toBe(true);
      await s.write(512, pattern(512, 2));
      await s.sync();
    });
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(1024);
    expect(bytes.subarray(512).equals(pattern(512, 2))).toBe(true);
  });

  it('row 60: copy reads through to its child, never changes it, and loses changes on close', async () => {
    const path = join(dir, 'r60-copy');
    writeFileSync(path, pattern(8192, 3));
    await withStore(openStore(`copy:file:${path}`), async (c) => {
      expect(c.flags & STORE_READONLY).toBe(0);
      expect(c.size).toBe(8192);
      await c.write(1024, pattern(512, 4));
      await c.write(2048, Buffer.alloc(512));
      const buf = Buffer.alloc(8192);
      await c.read(0, buf);
      const expected = pattern(8192, 3);
      pattern(512, 4).copy(expected, 1024);
      expected.fill(0, 2048, 2560);
      expect(buf.equals(expected)).toBe(true);
      // A shrink hides the child past the end for good.
      await c.setSize(4096);
      await c.setSize(8192);
      await c.read(0, buf);
      expect(buf.subarray(4096).equals(Buffer.alloc(4096))).toBe(true);
      expect(buf.subarray(0, 1024).equals(pattern(8192, 3).subarray(0, 1024))).toBe(true);
      expect(await c.isHole(4096, 4096)).toBe(true);
      expect(await c.isHole(2048, 512)).toBe(true);
      expect(await c.isHole(1024, 512)).toBe(false);
    });
    expect(readFileSync(path).equals(pattern(8192, 3))).toBe(true);
    await withStore(openStore(`copy:file:${path}`), async (c) => {
      const buf = Buffer.alloc(8192);
      await c.read(0, buf);
      expect(buf.equals(pattern(8192, 3))).toBe(true);
    });
  });

  it('row 60: concat and ileave put each byte on the right child', async () => {
    const a = new MemoryStore({ size: 4096 });
    const b = new MemoryStore({ size: 4096 });
    await withStore(new ConcatStore([a, b]), async (s) => {
      await s.write(3584, pattern(1024, 5));
      const buf = Buffer.alloc(512);
      await a.read(3584, buf);
      expect(buf.equals(pattern(1024, 5).subarray(0, 512))).toBe(true);
      await b.read(0, buf);
      expect(buf.equals(pattern(1024, 5).subarray(512))).toBe(true);
    });
    await withStore(openStore('ileave:1K:,memory:4K,memory:4K,memory:4K'), async (s) => {
      expect(s.size).toBe(12288);
      const data = pattern(12288, 6);
      await s.write(0, data);
      const { children } = s as unknown as { children: Store[] };
      // Stripe i (1K) is on child i mod 3 at stripe i div 3.
      for (let stripe = 0; stripe < 12; stripe++) {
        const buf = Buffer.alloc(1024);
        await children[stripe % 3].read(Math.floor(stripe / 3) * 1024, buf);
        expect(buf.equals(data.subarray(stripe * 1024, (stripe + 1) * 1024))).toBe(true);
      }
      const back = Buffer.alloc(12288);
      expect(await s.read(0, back)).toBe(12288);
      expect(back.equals(data)).toBe(true);
    });
  });

  it('row 60: every error is a StoreError with the Linux errno', async () => {
    const err = await expectCode(openStore(`file:${join(dir, 'nope')}`), 'ENOENT');
    expect(err).toBeInstanceOf(StoreError);
    expect(err.errno).toBe(2);
  });
});
