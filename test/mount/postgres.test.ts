/**
 * Real mounts of a postgres: store (a throwaway cluster, Unix socket only):
 * coreutils through a cache much smaller than the data, a tree, sqlite3 and
 * tar on the mount, what a remount finds, fsck, and a database that is not
 * ours refused in one line.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { machpager, mount, shOk, type Mounted } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';
import { usePostgresCluster } from '../helpers/postgres-cluster.js';

const cluster = usePostgresCluster('pgmount');
const dir = mountsDir('pgmount');

describe('a mount of a postgres: store', () => {
  let store: string;
  let ref: string;
  let mnt: string;
  let m: Mounted;

  beforeAll(async () => {
    await cluster().createDatabase('fs');
    store = cluster().uri('fs');
    ref = path.join(dir(), 'ref');
    mnt = path.join(dir(), 'mnt');
    await shOk(
      `mkdir -p ${ref}/tree && head -c 9000000 /dev/urandom > ${ref}/big && head -c 777777 /dev/urandom > ${ref}/odd && ` +
        `cd ${ref}/tree && for d in a a/b a/b/c d e/f; do mkdir -p $d; for i in 1 2 3; do head -c $((RANDOM * 3 + i)) /dev/urandom > $d/f$i; done; done && ` +
        'ln -s a/b/f1 link && ln a/f1 hard',
    );
    m = await mount({ store, mnt, cacheSize: '2M' });
  }, 120_000);

  it('is listed with its URI as the source', async () => {
    expect((await shOk(`findmnt -n -o SOURCE ${mnt}`)).trim()).toBe(store);
  });

  it('is claimed in the database: a second mount under another spelling of the URI is refused in one line, with or without --coherent, and so is fsck', async () => {
    // postgresql: and the query parameters the other way round: another local lock file, the same database.
    const other = `postgresql:///fs?user=postgres&host=${cluster().dir}`;
    const mnt2 = path.join(dir(), 'mnt2');
    await shOk(`mkdir -p ${mnt2}`);
    for (const extra of [[], ['--coherent']]) {
      const r = await machpager(['mount', other, mnt2, '--cache-size', '2M', ...extra], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(extra.length === 0 ? /in use by another machpager mount/ : /in use by a machpager mount without --coherent/);
    }
    // fsck too: the database is mounted, if not under this spelling on this machine.
    const fsck = await machpager(['fsck', other], { timeoutMs: 30_000 });
    expect(fsck.code, fsck.stderr).not.toBe(0);
    expect(fsck.stderr).toMatch(/in use by another machpager mount.*unmount it first/);
    // The first mount goes on.
    await m.shOk('echo still > claimed && cat claimed');
  }, 90_000);

  it('cp and cat: a 9 MB file comes back identical through a 2 MiB cache', async () => {
    await m.shOk(`cp ${ref}/big big && cat big > ${ref}/big.back && cmp big ${ref}/big && cmp ${ref}/big.back ${ref}/big`);
    expect(Number(await m.shOk('stat -c %s big'))).toBe(9000000);
  });

  it('dd at odd offsets and truncate up and down read back exactly', async () => {
    await m.shOk(
      `dd if=${ref}/odd of=odd bs=1237 status=none && cmp odd ${ref}/odd && ` +
        `dd if=/dev/urandom of=${ref}/patch bs=333 count=41 status=none && ` +
        `dd if=${ref}/patch of=odd bs=1 seek=123457 conv=notrunc status=none && ` +
        `dd if=${ref}/patch of=${ref}/odd bs=1 seek=123457 conv=notrunc status=none && cmp odd ${ref}/odd && ` +
        `cp ${ref}/odd t && truncate -s 100001 t && truncate -s 300000 t && ` +
        `cp ${ref}/odd ${ref}/t && truncate -s 100001 ${ref}/t && truncate -s 300000 ${ref}/t && cmp t ${ref}/t`,
    );
  });

  it('a tree: cp -a in, diff -r, tar out and back', async () => {
    await m.shOk(`cp -a ${ref}/tree tree && diff -r --no-dereference tree ${ref}/tree`);
    expect((await m.shOk('stat -c %h tree/hard')).trim()).toBe('2');
    await m.shOk(`tar cf ${ref}/tree.tar -C tree . && mkdir ${ref}/untar && tar xf ${ref}/tree.tar -C ${ref}/untar && diff -r --no-dereference ${ref}/untar ${ref}/tree`);
    await m.shOk(`mkdir fromtar && tar xf ${ref}/tree.tar -C fromtar && diff -r --no-dereference fromtar ${ref}/tree`);
    await m.shOk('mv fromtar moved && rm -r moved/a && test ! -e fromtar && test -d moved/d');
  });

  it('sqlite3 on the mount: a database made, filled and checked', async () => {
    const out = await m.shOk(
      'sqlite3 app.db "PRAGMA journal_mode=DELETE; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); ' +
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t (v) SELECT hex(randomblob(40)) FROM n; " +
        'PRAGMA integrity_check; SELECT count(*) FROM t;"',
    );
    expect(out.trim().split('\n')).toEqual(['delete', 'ok', '5000']);
  });

  it('a remount finds everything, and fsck finds nothing', async () => {
    await m.shOk(`sha256sum big odd t app.db tree/a/b/c/f2 > ${ref}/sums`);
    expect(await m.stop()).toBe(0);
    const fsck = await machpager(['fsck', store]);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    expect(fsck.stdout).toMatch(/: clean$/m);
    m = await mount({ store, mnt, cacheSize: '2M' });
    await m.shOk(`sha256sum -c --quiet ${ref}/sums && diff -r --no-dereference tree ${ref}/tree`);
    expect((await m.shOk('sqlite3 app.db "SELECT count(*) FROM t"')).trim()).toBe('5000');
  }, 60_000);

  it('read-only: reads, and refuses writes with EROFS', async () => {
    expect(await m.stop()).toBe(0);
    m = await mount({ store, mnt, cacheSize: '2M', options: ['allow_other', 'default_permissions', 'ro'] });
    await m.shOk(`cmp big ${ref}/big`);
    const r = await m.sh('echo x > newfile');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only file system/);
  });
});

describe('a database that is not a machpager store', () => {
  it('is refused in one line, and nothing is written to it', async () => {
    await cluster().createDatabase('foreign');
    await cluster().sql('foreign', 'CREATE TABLE accounts (id INTEGER PRIMARY KEY)');
    const mnt = path.join(dir(), 'foreign-mnt');
    await shOk(`mkdir -p ${mnt}`);
    const r = await machpager(['mount', cluster().uri('foreign'), mnt, '--foreground']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is not a machpager store \(a database with other tables: accounts\)/);
    const tables = await cluster().sql('foreign', "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables.rows).toEqual([{ table_name: 'accounts' }]);
  });
});
