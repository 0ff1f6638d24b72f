/**
 * Shared mappings in the default cache mode (direct_io). The binding answers
 * FUSE_INIT with FUSE_DIRECT_IO_ALLOW_MMAP where the kernel offers it (Linux
 * 6.6+): then mmap(MAP_SHARED) works, a mapped page faults into FUSE READ
 * through machpager's page cache, a dirty mapped page comes back as FUSE
 * WRITE, and the kernel keeps the mapping coherent with read() and write().
 * On an older kernel the mount still works, says that shared mappings are
 * refused, and mmap fails with ENODEV as before: tested here on any kernel
 * by having the binding answer as on one without the flag
 * (MACHPAGER_FUSE_REFUSE_DIRECT_MMAP=1). Workloads run as programs in
 * child processes.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, machpagerJson, mount, REPO, removeDir, tempDir, type Mounted } from '../helpers/mounted.js';

const FSX = path.join(REPO, 'test/fixtures/mmap/fsx.py');

/** Linux 6.6 added FUSE_DIRECT_IO_ALLOW_MMAP. */
function kernelOffersDirectIoMmap(): boolean {
  const [major = 0, minor = 0] = os.release().split(/[.-]/).map(Number);
  return major > 6 || (major === 6 && minor >= 6);
}

/** Python in a child process, the script on stdin. */
function python(m: Mounted, script: string, timeoutMs?: number): Promise<string> {
  return m.shOk(`python3 - <<'PY'\n${script}\nPY`, { timeoutMs });
}

const COHERENCE = `
import mmap, os
fd = os.open('coherent', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 1 << 20)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
# mapping -> read(): stores, msync, then read() on another descriptor
m[4096:4101] = b'hello'
m[(1 << 20) - 5:] = b'tail!'
m.flush()
other = os.open('coherent', os.O_RDONLY)
assert os.pread(other, 5, 4096) == b'hello', os.pread(other, 5, 4096)
assert os.pread(other, 5, (1 << 20) - 5) == b'tail!'
# without msync too: a direct read writes the dirty mapped pages back first
m[8192:8197] = b'dirty'
assert os.pread(other, 5, 8192) == b'dirty'
# write() -> mapping: the pages the mapping holds are invalidated
os.pwrite(fd, b'world', 4096)
assert m[4096:4101] == b'world', m[4096:4101]
os.pwrite(fd, b'x' * 9000, 100000)
assert m[100000:109000] == b'x' * 9000
# truncate shrinks and grows: the mapping sees zeros past the old end
os.ftruncate(fd, 8192)
os.ftruncate(fd, 1 << 20)
assert m[100000:109000] == bytes(9000)
assert m[4096:4101] == b'world'
m.close()
os.close(fd)
os.close(other)
print('coherent')
`;

describe('shared mmap in direct mode', () => {
  let dir: string;
  let m: Mounted;
  const offered = kernelOffersDirectIoMmap();

  beforeAll(async () => {
    dir = await tempDir('mmap');
    m = await mount({ store: `sqlite:${dir}/store.db`, mnt: path.join(dir, 'mnt'), cacheSize: '4M', cacheMode: 'direct' });
  });

  afterAll(async () => {
    await cleanupMounts();
    await removeDir(dir);
  });

  it('a kernel without the flag (or one refused): the mount says shared mappings are refused, mmap fails with ENODEV, the rest works', async () => {
    // On a kernel before 6.6 the main mount is such a mount; on a newer one the binding is told to answer as there.
    const refused = offered
      ? await mount({ store: `sqlite:${dir}/refused.db`, mnt: path.join(dir, 'refused'), cacheSize: '4M', cacheMode: 'direct', env: { MACHPAGER_FUSE_REFUSE_DIRECT_MMAP: '1' } })
      : m;
    expect(refused.log).toContain('shared mmap refused');
    const r = await refused.sh(`python3 -c "import mmap, os; fd = os.open('f', os.O_RDWR | os.O_CREAT); os.ftruncate(fd, 4096); mmap.mmap(fd, 0)"`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/No such device|ENODEV/);
    expect(await refused.shOk('echo fine > g && cat g')).toBe('fine\n');
    if (refused !== m) expect(await refused.stop()).toBe(0);
  });

  describe.runIf(offered)('Linux 6.6+', () => {
    it('the mount does not say shared mappings are refused', () => {
      expect(m.log).not.toContain('shared mmap refused');
    });

    it('Python: mapped stores reach read() on another descriptor, and write() and truncate reach the mapping', async () => {
      expect((await python(m, COHERENCE)).trim()).toBe('coherent');
      // What the mapping wrote is in the file for a new reader.
      expect(await m.shOk('dd if=coherent bs=1 skip=4096 count=5 status=none')).toBe('world');
    });

    it('SQLite with mmap_size maps the database, builds and checks 10,000 rows', async () => {
      const out = await python(
        m,
        `
import os, sqlite3
c = sqlite3.connect('sqlite-mmap.db')
assert c.execute('PRAGMA mmap_size=268435456').fetchone()[0] == 268435456
c.execute('CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)')
c.executemany('INSERT INTO t VALUES (?, ?)', ((i, os.urandom(24).hex()) for i in range(10000)))
c.execute('CREATE INDEX tv ON t(v)')
c.commit()
print(c.execute('PRAGMA integrity_check').fetchone()[0])
print(c.execute('SELECT count(*), sum(length(v)) FROM t').fetchone())
# SQLite reads through its mapping: the database file is mapped in this process
print(any(line.rstrip().endswith('/sqlite-mmap.db') for line in open('/proc/self/maps')))
`,
      );
      expect(out.split('\n')).toEqual(['ok', '(10000, 480000)', 'True', '']);
      expect((await m.shOk(`sqlite3 sqlite-mmap.db 'PRAGMA integrity_check; SELECT count(*) FROM t'`)).trim()).toBe('ok\n10000');
    });

    it('fsx-style: 10,000 random mapped and plain reads, writes and truncates match a model, for several seeds', async () => {
      const seeds = [1, 2, 3];
      const outs = await Promise.all(seeds.map((seed) => m.shOk(`python3 ${FSX} fsx-${seed} ${seed} 10000`, { timeoutMs: 300_000 })));
      outs.forEach((out, i) => expect(out).toMatch(new RegExp(`^fsx seed ${seeds[i]}: 10000 operations ok`)));
    }, 320_000);

    it('stats count the faults of mapped reads and the lookups of mapped writes', async () => {
      const pages = 64;
      // Written with write(): direct_io leaves nothing in Linux's page cache.
      await m.shOk(`head -c ${pages * 4096} /dev/urandom > faults`);
      // A fresh mount: machpager's cache holds none of the file's pages either.
      await m.stop();
      m = await mount({ store: `sqlite:${dir}/store.db`, mnt: path.join(dir, 'mnt'), cacheSize: '4M', cacheMode: 'direct' });
      type Stats = { faults: number; lookups: number; pageins: number };
      const before = await machpagerJson<Stats>(['stats', m.mnt]);
      // Touch every page through the mapping only.
      await python(m, `
import mmap, os
fd = os.open('faults', os.O_RDONLY)
mp = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
assert sum(mp[i * 4096] for i in range(${pages})) >= 0
mp.close()
`);
      const read = await machpagerJson<Stats>(['stats', m.mnt]);
      // Each FUSE READ of a fault (Linux reads ahead: up to 128 KiB) is one
      // fault of the simulated cache, paging in every page it covers.
      expect(read.faults - before.faults).toBeGreaterThanOrEqual(pages / 32);
      expect(read.pageins - before.pageins).toBeGreaterThanOrEqual(pages);
      expect(read.lookups - before.lookups).toBeGreaterThanOrEqual(pages);
      // Dirty every page through the mapping: msync writes them back as FUSE WRITE,
      // and read() (sha256sum) sees what the mapping wrote.
      const sum = await python(m, `
import hashlib, mmap, os
fd = os.open('faults', os.O_RDWR)
mp = mmap.mmap(fd, 0)
for i in range(${pages}):
    mp[i * 4096] = (mp[i * 4096] + 1) % 256
mp.flush()
print(hashlib.sha256(mp[:]).hexdigest())
mp.close()
`);
      const written = await machpagerJson<Stats>(['stats', m.mnt]);
      expect(written.lookups - read.lookups).toBeGreaterThanOrEqual(pages);
      expect((await m.shOk('sha256sum < faults')).split(' ')[0]).toBe(sum.trim());
    });
  });
});
