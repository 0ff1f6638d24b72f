/** The file store: sparse files, partial last blocks, creation, what it refuses. */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore, openStore, STORE_HARD_READONLY } from '../../stores/index.js';
import { expectCode, pattern } from './conformance.js';
import { tempDir } from './tmp.js';

const dir = tempDir('file');

describe('file store', () => {
  it('keeps a file sparse: a write far out allocates only what it wrote', async () => {
    const path = join(dir, 'sparse');
    const s = await FileStore.open({ path, create: true, size: 1 << 30, blockSize: 4096 });
    try {
      expect(s.size).toBe(1 << 30);
      await s.write(512 << 20, pattern(4096, 1));
      await s.setSize(2 ** 31);
      await s.write(2 ** 31 - 4096, pattern(4096, 2));
      await s.sync();
      const st = statSync(path);
      expect(st.size).toBe(2 ** 31);
      // st_blocks counts 512-byte units: two 4K writes, plus a little for the file system.
      expect(st.blocks).toBeLessThan(256);
      const buf = Buffer.alloc(4096);
      await s.read(512 << 20, buf);
      expect(buf.equals(pattern(4096, 1))).toBe(true);
      await s.read(256 << 20, buf);
      expect(buf.equals(Buffer.alloc(4096))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('rounds the size up to a block; the tail of the last block reads as zeros and writes extend the file', async () => {
    const path = join(dir, 'partial');
    writeFileSync(path, pattern(1300, 3));
    const s = await FileStore.open({ path });
    try {
      expect(s.size).toBe(1536);
      expect(await s.isHole(1024, 512)).toBe(false);
      const buf = Buffer.alloc(1536, 0xee);
      expect(await s.read(0, buf)).toBe(1536);
      expect(buf.subarray(0, 1300).equals(pattern(1300, 3))).toBe(true);
      expect(buf.subarray(1300).equals(Buffer.alloc(236))).toBe(true);
      await s.write(1024, pattern(512, 4));
      expect(statSync(path).size).toBe(1536);
      // Only past the end can a file store tell a hole.
      expect(await s.isHole(1536, 512)).toBe(true);
      expect(await s.isHole(1024, 1024)).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('creates a missing file only when asked, and opens an existing one as it is', async () => {
    const path = join(dir, 'made');
    await expectCode(openStore(`file:${path}`), 'ENOENT');
    await expectCode(openStore(`file:${path}`, { create: true, size: 1000 }), 'EINVAL');
    const s = await openStore(`file:${path}`, { create: true, size: 8192 });
    expect(s.size).toBe(8192);
    await s.write(0, pattern(512, 1));
    await s.sync();
    await s.close();
    const again = await openStore(`file:${path}`, { create: true, size: 512 });
    expect(again.size).toBe(8192);
    await again.close();
    expect(statSync(path).size).toBe(8192);
  });

  it('opens read-only (HARD_READONLY) when asked or when the file cannot be written', async () => {
    const path = join(dir, 'ro');
    writeFileSync(path, pattern(1024, 5), { mode: 0o444 });
    const s = await openStore(`file:${path}`, { flags: STORE_HARD_READONLY });
    await expectCode(s.write(0, pattern(512, 1)), 'EROFS');
    await s.close();
    if (process.getuid?.() !== 0) {
      // root may write anything, so only others see the mode bits.
      const t = await openStore(`file:${path}`);
      expect(t.flags & STORE_HARD_READONLY).toBe(STORE_HARD_READONLY);
      await t.close();
    }
  });

  it('refuses directories and character devices', async () => {
    const sub = join(dir, 'subdir');
    mkdirSync(sub);
    await expectCode(openStore(`file:${sub}`), 'EISDIR');
    await expectCode(openStore('file:/dev/null'), 'EINVAL');
    await expectCode(openStore('file:'), 'EINVAL');
  });
});
