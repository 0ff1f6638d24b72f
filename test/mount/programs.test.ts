/**
 * Real programs on a real mount, for every data store (postgres: too), with a page cache
 * smaller than the data: sqlite3, git, tar, rsync, fio with verification,
 * stress-ng file stressors with --verify.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mount, shOk, type Mounted } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';
import { storeKindsWithPostgres } from '../helpers/store-kinds.js';

const STORES = storeKindsWithPostgres('programs');

describe.each(STORES)('programs on a mount with the $kind store', ({ store }) => {
  const dir = mountsDir('programs');
  let src: string;
  let m: Mounted;

  beforeAll(async () => {
    src = path.join(dir(), 'src');
    // A source tree for tar, rsync and git: files of many sizes, a symlink, modes, times.
    await shOk(
      `mkdir -p ${src}/a/b ${src}/c && cd ${src} && ` +
        'for i in $(seq 1 40); do head -c $((i * 7919)) /dev/urandom > a/f$i; done && ' +
        'head -c 3000000 /dev/urandom > c/large && echo hello > a/b/small && ln -s ../c/large a/link && ' +
        'chmod 750 a/b && touch -d "2003-04-05 06:07:08" a/f1',
    );
    m = await mount({ store: await store(dir()), mnt: path.join(dir(), 'mnt'), cacheSize: '2M' });
  });

  it('sqlite3 builds a 10,000-row database and integrity_check says ok', async () => {
    await m.shOk(
      "sqlite3 db.sqlite \"PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB); " +
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 10000) " +
        "INSERT INTO t SELECT i, 'row ' || i, randomblob(200) FROM n; CREATE INDEX tv ON t(v);\"",
    );
    expect((await m.shOk('sqlite3 db.sqlite "PRAGMA integrity_check; SELECT count(*), sum(id) FROM t;"')).trim()).toBe('ok\n10000|50005000');
    await m.shOk('sqlite3 db.sqlite "UPDATE t SET v = v || \'!\' WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0; VACUUM;"');
    expect((await m.shOk('sqlite3 db.sqlite "PRAGMA integrity_check; SELECT count(*) FROM t;"')).trim()).toBe('ok\n8572');
  });

  it('git init, add, commit, log', async () => {
    const env = { ...process.env, HOME: dir(), GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };
    await m.shOk(`mkdir repo && cd repo && git init -q && cp -a ${src}/a ${src}/c . && git add -A && git commit -qm first`, { env });
    await m.shOk('cd repo && echo change >> a/b/small && git commit -qam second && git gc -q', { env });
    expect((await m.shOk('cd repo && git log --format=%s', { env })).trim().split('\n')).toEqual(['second', 'first']);
    await m.shOk('cd repo && git fsck --full --strict 2>&1 && git status --porcelain | wc -l | grep -qx 0', { env });
  });

  it('tar round trip keeps contents, modes, times and links', async () => {
    await m.shOk(`tar -C ${src} -cf archive.tar . && mkdir untar && tar -C untar -xf archive.tar`);
    await shOk(`diff -r --no-dereference ${src} ${path.join(m.mnt, 'untar')}`);
    await m.shOk(`tar -C untar -cf - . | tar -C ${dir()} --one-top-level=back -xf - && diff -r --no-dereference ${src} ${dir()}/back`);
    const original = await shOk(`cd ${src} && stat -c "%n %a %Y" a/b a/f1`);
    expect(await m.shOk('cd untar && stat -c "%n %a %Y" a/b a/f1')).toBe(original);
    expect(original).toContain(`a/f1 ${(await shOk(`stat -c %a ${src}/a/f1`)).trim()} 1049522828`); // 2003-04-05 06:07:08 UTC (tar keeps whole seconds)
  });

  it('rsync -a round trip', async () => {
    await m.shOk(`rsync -a ${src}/ synced/ && rsync -a synced/ ${dir()}/rsback/`);
    await shOk(`diff -r --no-dereference ${src} ${dir()}/rsback`);
    // A second run finds nothing to do (times and sizes match).
    const again = await m.shOk(`rsync -a --itemize-changes ${src}/ synced/`);
    expect(again.trim()).toBe('');
  });

  it('fio writes and verifies with crc32c', async () => {
    const out = await m.shOk(
      'fio --name=verify --filename=fio.dat --size=24M --bs=4k --rw=randwrite --ioengine=psync --verify=crc32c --verify_fatal=1 --do_verify=1 --iodepth=1 --numjobs=1 2>&1',
      { timeoutMs: 300_000 },
    );
    expect(out).not.toMatch(/verify: bad|crc32c: verify failed|error=/);
    await m.shOk('fio --name=seq --filename=fio2.dat --size=16M --bs=64k --rw=write --ioengine=psync --verify=crc32c --verify_fatal=1 2>&1', { timeoutMs: 300_000 });
  });

  it('stress-ng file stressors pass with --verify', async () => {
    const out = await m.shOk(
      'mkdir -p stress && stress-ng --temp-path stress --hdd 2 --hdd-bytes 8M --seek 1 --seek-size 8M --verify --metrics-brief --timeout 8s 2>&1',
      { timeoutMs: 300_000 },
    );
    expect(out).toMatch(/successful run completed/);
    expect(out).not.toMatch(/fail|error/i);
  });
});
