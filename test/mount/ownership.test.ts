/**
 * Ownership and permissions on a mount with allow_other,default_permissions:
 * what a non-root user makes is theirs (the request context reaches the
 * filesystem), the kernel enforces mode bits, setgid directories pass their
 * group on, and touch -a / touch -m change only the time they name.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, mount, removeDir, shOk, STORE_KINDS, tempDir, type Mounted } from '../helpers/mounted.js';

const USER = { uid: 1000, gid: 1000 };

describe.each(STORE_KINDS)('ownership on a mount with the $kind store', ({ store }) => {
  let dir: string;
  let m: Mounted;

  beforeAll(async () => {
    dir = await tempDir('owner');
    await shOk(`chmod 755 ${dir}`);
    m = await mount({ store: store(dir), mnt: path.join(dir, 'mnt'), cacheSize: '2M', options: ['allow_other', 'default_permissions'] });
    await m.shOk('chmod 1777 . && mkdir shared && chmod 777 shared');
  });

  afterAll(async () => {
    await cleanupMounts();
    await removeDir(dir);
  });

  it('files and directories a non-root user makes are owned by that user', async () => {
    await m.shOk('echo mine > shared/file && mkdir shared/dir && ln -s file shared/link && mknod shared/fifo p', { as: USER });
    const owners = (await m.shOk('stat -c "%n %u %g" shared/file shared/dir shared/fifo && stat -c "%n %u %g" shared/link')).trim().split('\n');
    expect(owners).toEqual(['shared/file 1000 1000', 'shared/dir 1000 1000', 'shared/fifo 1000 1000', 'shared/link 1000 1000']);
  });

  it('that user cannot write a root-owned 0644 file, nor chmod or chown it', async () => {
    await m.shOk('echo root > shared/rootfile && chmod 644 shared/rootfile');
    const write = await m.sh('echo no >> shared/rootfile', { as: USER });
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Permission denied/);
    expect((await m.sh('chmod 666 shared/rootfile', { as: USER })).stderr).toMatch(/Operation not permitted/);
    expect((await m.sh('chown 1000 shared/rootfile', { as: USER })).stderr).toMatch(/Operation not permitted/);
    expect((await m.shOk('cat shared/rootfile')).trim()).toBe('root');
    // Reading is allowed (0644).
    expect((await m.shOk('cat shared/rootfile', { as: USER })).trim()).toBe('root');
  });

  it('a setgid directory gives new entries its group', async () => {
    await m.shOk('mkdir sg && chgrp 4242 sg && chmod 2777 sg');
    await m.shOk('touch sg/f && mkdir sg/d', { as: USER });
    expect((await m.shOk('stat -c "%u %g" sg/f')).trim()).toBe('1000 4242');
    expect((await m.shOk('stat -c "%u %g %A" sg/d')).trim()).toBe('1000 4242 drwxr-sr-x');
  });

  it('touch -a and touch -m change only the time they name', async () => {
    await m.shOk('touch -d "2000-01-01 00:00:00" times');
    await m.shOk('touch -a -d "2010-05-05 05:05:05" times');
    expect((await m.shOk('stat -c "%x|%y" times')).trim()).toBe('2010-05-05 05:05:05.000000000 +0000|2000-01-01 00:00:00.000000000 +0000');
    await m.shOk('touch -m -d "2020-10-10 10:10:10" times');
    expect((await m.shOk('stat -c "%x|%y" times')).trim()).toBe('2010-05-05 05:05:05.000000000 +0000|2020-10-10 10:10:10.000000000 +0000');
  });
});
