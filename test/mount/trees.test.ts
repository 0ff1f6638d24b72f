/**
 * Directory trees and metadata on a real mount, for every data store (postgres: too):
 * mkdir -p, rm -rf, mv over files and directories, hard links and link
 * counts, symlinks, chmod, chown, touch -d, extended attributes, and the
 * errnos a Linux filesystem gives.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, mount, removeDir, tempDir, type Mounted } from '../helpers/mounted.js';
import { storeKindsWithPostgres } from '../helpers/store-kinds.js';

const STORES = storeKindsWithPostgres('trees');

describe.each(STORES)('trees on a mount with the $kind store', ({ store }) => {
  let dir: string;
  let m: Mounted;

  beforeAll(async () => {
    dir = await tempDir('trees');
    m = await mount({ store: await store(dir), mnt: path.join(dir, 'mnt'), cacheSize: '2M' });
  });

  afterAll(async () => {
    await cleanupMounts();
    await removeDir(dir);
  });

  it('mkdir -p and rm -rf', async () => {
    await m.shOk('mkdir -p a/b/c/d/e && for i in 1 2 3; do echo $i > a/b/c/f$i; done && test -d a/b/c/d/e');
    expect((await m.shOk('find a | sort')).trim().split('\n')).toEqual(['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/b/c/d/e', 'a/b/c/f1', 'a/b/c/f2', 'a/b/c/f3']);
    expect((await m.shOk('stat -c %h a/b/c')).trim()).toBe('3'); // . .. and d
    await m.shOk('rm -rf a && test ! -e a');
  });

  it('mv over an existing file and an existing empty directory; not over a non-empty one', async () => {
    await m.shOk('echo one > x && echo two > y && mv x y && test ! -e x && test "$(cat y)" = one');
    await m.shOk('mkdir -p d1/sub d2 && echo in > d1/sub/f && mv -T d1 d2 && test -f d2/sub/f && test ! -e d1');
    const r = await m.sh('mkdir -p d3 && echo z > d3/z && mkdir -p d4/inner && mv -T d4 d3');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not empty|exists/i);
    const into = await m.sh('mkdir -p p/q && mv p p/q/');
    expect(into.code).not.toBe(0);
    expect(into.stderr).toMatch(/Invalid argument|subdirectory of itself/i);
  });

  it('hard links share data and count links', async () => {
    await m.shOk('echo data > h1 && ln h1 h2 && ln h1 h3');
    expect((await m.shOk('stat -c %h h1 h2 h3')).trim().split('\n')).toEqual(['3', '3', '3']);
    expect(new Set((await m.shOk('stat -c %i h1 h2 h3')).trim().split('\n')).size).toBe(1);
    await m.shOk('echo more >> h2 && test "$(cat h3)" = "$(printf "data\\nmore")" && rm h1');
    expect((await m.shOk('stat -c %h h2')).trim()).toBe('2');
    const dirLink = await m.sh('mkdir dl && ln dl dl2');
    expect(dirLink.code).not.toBe(0);
  });

  it('symlinks', async () => {
    await m.shOk('echo target > t && ln -s t s && ln -s /nonexistent dangling && ln -s ../../up rel');
    expect((await m.shOk('readlink s dangling rel')).trim().split('\n')).toEqual(['t', '/nonexistent', '../../up']);
    expect((await m.shOk('cat s')).trim()).toBe('target');
    expect((await m.shOk('stat -c %F s')).trim()).toBe('symbolic link');
  });

  it('chmod, chown and touch -d', async () => {
    await m.shOk('echo x > perm && chmod 640 perm && chown 1234:5678 perm && touch -d "2001-02-03 04:05:06.123456789" perm');
    expect((await m.shOk('stat -c "%a %u %g" perm')).trim()).toBe('640 1234 5678');
    expect((await m.shOk('stat -c %y perm')).trim()).toBe('2001-02-03 04:05:06.123456789 +0000');
    await m.shOk('chmod u+s,g+s perm && test -u perm && test -g perm');
  });

  it('extended attributes: set, get, list, remove, and the errors', async () => {
    await m.shOk('echo x > xa && setfattr -n user.color -v blue xa && setfattr -n user.bin -v 0x00ff10 xa');
    expect((await m.shOk('getfattr --only-values -n user.color xa'))).toBe('blue');
    expect((await m.shOk('getfattr -d -e hex xa')).trim()).toContain('user.bin=0x00ff10');
    await m.shOk('setfattr -x user.color xa');
    const missing = await m.sh('getfattr -n user.color xa');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such attribute/);
    const create = await m.sh('python3 -c "import os; os.setxattr(\'xa\', \'user.bin\', b\'1\', os.XATTR_CREATE)"');
    expect(create.stderr).toMatch(/File exists/);
  });

  it('the errnos of a Linux filesystem', async () => {
    const cases: [string, RegExp][] = [
      ['cat nothere', /No such file or directory/],
      ['mkdir e1 && mkdir e1', /File exists/],
      ['echo x > notdir && ls notdir/x', /Not a directory/],
      ['mkdir isdir && echo x > isdir', /Is a directory/],
      ['mkdir ne && touch ne/f && rmdir ne', /not empty/],
      [`touch ${'n'.repeat(256)}`, /File name too long/],
      ['echo x > big && truncate -s 9007199254740993 big', /too large|Invalid argument/],
    ];
    for (const [script, message] of cases) {
      const r = await m.sh(script);
      expect(r.code, script).not.toBe(0);
      expect(r.stderr, script).toMatch(message);
    }
    await m.shOk(`touch ${'n'.repeat(255)}`);
  });
});
