/**
 * POSIX details on a real mount, in both cache modes, as programs see them:
 * a name over 255 bytes is "File name too long" for every command (not "No
 * such file or directory"), and so is a new name on a path the filesystem
 * would see as 4096 bytes or more (what is already that deep stays
 * reachable, as on ext4); a write or truncate by a user other than root drops
 * setuid and setgid (with group-execute) as on ext4, and chown drops them.
 * Every program runs in a child process; afterAll unmounts, also after a
 * failure.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, mount, removeDir, shOk, tempDir, type Mounted } from '../helpers/mounted.js';

const USER = { uid: 1000, gid: 1000 };

/** Runs each command on a name of 256 bytes and prints "what: the error" (or "what: ok"). */
const LONG_NAME_COMMANDS = String.raw`
L=$(printf 'n%.0s' {1..256})
try() { local what=$1; shift; if out=$("$@" 2>&1 >/dev/null); then echo "$what: ok"; else echo "$what: $(printf '%s\n' "$out" | tail -n 1 | sed 's/.*: //')"; fi; }
touch f && mkdir -p d
try stat stat $L
try ls ls -d $L
try cat cat $L
try touch touch $L
try utimens touch -c -d @0 $L
try mkdir mkdir $L
try mknod mknod $L p
try chmod chmod 600 $L
try chown chown 0 $L
try truncate truncate -c -s 0 $L
try rm rm $L
try rmdir rmdir $L
try link-to ln f $L
try link-from ln $L x
try symlink ln -s f $L
try readlink readlink -v $L
try rename-to mv -T f $L
try rename-from mv -T $L x
try setfattr setfattr -n user.a -v 1 $L
try getfattr getfattr -n user.a $L
try inside-stat stat d/$L/x
try inside-mkdir mkdir d/$L/x
`;

describe.each(['direct', 'kernel'] as const)('POSIX on a mount in %s cache mode', (cacheMode) => {
  let dir: string;
  let m: Mounted;

  beforeAll(async () => {
    dir = await tempDir(`posix-${cacheMode}`);
    await shOk(`chmod 755 ${dir}`);
    m = await mount({ store: `sqlite:${path.join(dir, 'fs.db')}`, mnt: path.join(dir, 'mnt'), cacheSize: '2M', cacheMode });
    await m.shOk('chmod 1777 .');
  });

  afterAll(async () => {
    await cleanupMounts();
    await removeDir(dir);
  });

  it('every command on a name over 255 bytes says "File name too long"', async () => {
    const lines = (await m.shOk(`mkdir names && cd names && ${LONG_NAME_COMMANDS}`)).trim().split('\n');
    expect(lines.length).toBeGreaterThan(20);
    const wrong = lines.filter((line) => !line.endsWith(': File name too long'));
    expect(wrong).toEqual([]);
  });

  it('a name of 255 bytes works', async () => {
    const out = await m.shOk(`M=$(printf 'm%.0s' {1..255}) && echo hi > $M && cat $M && mv $M m2 && mv m2 $M && ls | grep -c '^m\\{255\\}$' && rm $M`);
    expect(out.trim().split('\n')).toEqual(['hi', '1']);
  });

  it('a new name on a path the filesystem would see as 4096 bytes or more is too long, even when named relative to a deep directory', async () => {
    // /deep and 20 names of 200 bytes: 4025 bytes; a 69-byte name more ends at 4095.
    const out = await m.shOk(String.raw`
      N=$(printf 'd%.0s' {1..200})
      mkdir deep && cd deep
      for i in $(seq 20); do mkdir $N && cd -P $N || exit 1; done
      touch $(printf 'k%.0s' {1..69}) && echo "4095: ok"
      touch $(printf 'k%.0s' {1..70}) 2>&1 | sed 's/.*: //'
      stat $(printf 'k%.0s' {1..70}) 2>&1 | sed 's/.*: //'
    `);
    expect(out.trim().split('\n')).toEqual(['4095: ok', 'File name too long', 'No such file or directory']);
    await m.shOk('rm -rf deep');
  });

  it('a write or truncate by another user drops setuid, and setgid with group-execute; root keeps them', async () => {
    await m.shOk('for f in w t lock root; do echo x > $f; done && chmod 6777 w t root && chmod 6767 lock');
    await m.shOk('echo more >> w && truncate -s 1 t && echo more >> lock', { as: USER });
    await m.shOk('echo more >> root');
    expect((await m.shOk('stat -c "%n %a %s" w t lock root')).trim().split('\n')).toEqual(['w 777 7', 't 777 1', 'lock 2767 7', 'root 6777 7']);
    expect(await m.shOk('cat w')).toBe('x\nmore\n');
  });

  it('the dropped bits reach the catalog at once: still dropped after a SIGKILL of the daemon', async () => {
    await m.shOk('echo x > r && chown 1000:1000 r && chmod 4755 r');
    await m.shOk('echo more >> r', { as: USER });
    // No sync, no clean unmount: only what the catalog already had survives.
    await m.kill9();
    m = await mount(m.opts);
    expect((await m.shOk('stat -c "%a" r')).trim()).toBe('755');
  });

  it('chown drops setuid (root too) and setgid with group-execute', async () => {
    await m.shOk('for f in c1 c2; do echo x > $f; done && chmod 6755 c1 && chmod 6745 c2 && chown 1000:1000 c1 c2');
    expect((await m.shOk('stat -c "%n %a %u:%g" c1 c2')).trim().split('\n')).toEqual(['c1 755 1000:1000', 'c2 2745 1000:1000']);
  });
});
