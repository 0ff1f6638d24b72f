/**
 * -o lists: splitting, our keys, the generic FUSE options mapped to
 * FuseMountOptions (and from there to the real -o list), fstab-only options
 * dropped, the rest passed through, bad values refused as usage errors.
 */
import { describe, expect, it } from 'vitest';
import { CliError } from '../../daemon/cli/cli-error.js';
import { escapeOption, isFstabOnly, parseMountOptions, splitOptionList } from '../../daemon/cli/mount-options.js';
import { mergeFuseOptions } from '../../daemon/service/serve.js';
import { buildMountOptions } from '../../daemon/fs/fuse/options.js';
import { usageError } from './usage-error.js';

function usage(lists: string[]): CliError {
  return usageError(() => parseMountOptions(lists), `-o ${lists.join(' -o ')}`);
}

describe('-o lists', () => {
  it('split on commas; a backslash escapes a comma or a backslash; empty items vanish', () => {
    expect(splitOptionList('a,b=1,,c')).toEqual(['a', 'b=1', 'c']);
    expect(splitOptionList('fsname=a\\,b,ro')).toEqual(['fsname=a,b', 'ro']);
    expect(splitOptionList('x=a\\\\b')).toEqual(['x=a\\b']);
    expect(escapeOption('a,b\\c')).toBe('a\\,b\\\\c');
    expect(splitOptionList(escapeOption('fsname=x,y'))).toEqual(['fsname=x,y']);
  });

  it('map the generic FUSE options to FuseMountOptions', () => {
    const { fuse } = parseMountOptions([
      'allow_other,default_permissions,ro,uid=0,gid=1000,umask=0022,fsname=home,subtype=mp',
      'direct_io,kernel_cache,auto_cache,max_read=131072,max_write=65536,entry_timeout=0.5,attr_timeout=2,negative_timeout=0',
      'debug,auto_unmount,use_ino,hard_remove',
    ]);
    expect(fuse).toEqual({
      allowOther: true, defaultPermissions: true, readOnly: true, uid: 0, gid: 1000, umask: 0o22, fsname: 'home', subtype: 'mp',
      directIo: true, kernelCache: true, autoCache: true, maxRead: 131072, maxWrite: 65536, entryTimeout: 0.5, attrTimeout: 2, negativeTimeout: 0,
      debug: true, autoUnmount: true, useIno: true, hardRemove: true,
    });
    expect(parseMountOptions(['allow_root']).fuse).toEqual({ allowRoot: true });
  });

  it('turn into the -o list libfuse gets: big_writes on by default, no_big_writes turns it off, later keys win', () => {
    expect(buildMountOptions(parseMountOptions([]).fuse)).toEqual(['big_writes']);
    expect(buildMountOptions(parseMountOptions(['no_big_writes']).fuse)).toEqual([]);
    expect(buildMountOptions(parseMountOptions(['no_big_writes', 'big_writes']).fuse)).toEqual(['big_writes']);
    expect(buildMountOptions(parseMountOptions(['ro', 'rw']).fuse)).toEqual(['big_writes']);
    expect(buildMountOptions(parseMountOptions(['allow_other,uid=0,umask=077,fsname=a\\,b,noatime']).fuse)).toEqual([
      'big_writes', 'allow_other', 'uid=0', 'umask=077', 'fsname=a\\,b', 'noatime',
    ]);
  });

  it('take our own keys (hyphen or underscore), as typed', () => {
    const { own, fuse } = parseMountOptions(['cache_size=256M,page-size=16K,policy=lru', 'store=sqlite:/x.db,cache_mode=kernel,log_file=/var/log/m.log']);
    expect(own).toEqual({ cacheSize: '256M', pageSize: '16K', policy: 'lru', store: 'sqlite:/x.db', cacheMode: 'kernel', logFile: '/var/log/m.log' });
    expect(fuse).toEqual({});
  });

  it('drop what fstab and mount(8) add, pass unknown options through to libfuse', () => {
    const parsed = parseMountOptions(['defaults,noauto,nofail,_netdev,user,users,auto,x-systemd.automount,x-gvfs-show,comment=x,suid,dev,exec', 'noatime,nosuid,nodev,max_readahead=65536']);
    expect(parsed.ignored).toEqual(['defaults', 'noauto', 'nofail', '_netdev', 'user', 'users', 'auto', 'x-systemd.automount', 'x-gvfs-show', 'comment=x', 'suid', 'dev', 'exec']);
    expect(parsed.fuse).toEqual({ extraOptions: ['noatime', 'nosuid', 'nodev', 'max_readahead=65536'] });
    expect(parsed.nonempty).toBe(false);
    expect(parseMountOptions(['nonempty']).nonempty).toBe(true);
    expect(isFstabOnly('x-systemd.requires=/x')).toBe(true);
    expect(isFstabOnly('allow_other')).toBe(false);
  });

  it('refuse bad values with one line naming the option', () => {
    expect(usage(['uid=abc']).line).toBe('-o uid=abc: not a numeric id (0 .. 4294967294)');
    expect(usage(['gid=-1']).line).toContain('-o gid=-1');
    expect(usage(['umask=999']).line).toContain('octal');
    expect(usage(['umask=0o22']).line).toContain('octal');
    expect(usage(['max_read=0']).line).toContain('byte count');
    expect(usage(['attr_timeout=soon']).line).toContain('seconds');
    expect(usage(['entry_timeout=-1']).line).toContain('seconds');
    expect(usage(['allow_other=yes']).line).toBe('-o allow_other=yes: allow_other takes no value');
    expect(usage(['uid']).line).toContain('needs a value');
    expect(usage(['cache_size=']).line).toContain('needs a value');
    expect(usage(['fsname=']).line).toContain('needs a value');
    expect(usage(['subtype=a b']).line).toContain('subtype');
    expect(usage(['allow_other', 'allow_root']).line).toContain('exclude each other');
    expect(usage(['setuid=bob']).line).toContain('mount.fuse3');
    expect(usage(['drop_privileges']).line).toContain('mount.fuse3');
    expect(usage(['max_readahead=1 2']).line).toContain('white space');
  });
});

describe('the filesystem\u2019s FUSE options and the user\u2019s', () => {
  it('the user\u2019s win key by key; extra options of both are kept', () => {
    const fsOptions = { bigWrites: true, useIno: true, directIo: true, fsname: 'sqlite:/x.db', subtype: 'machpager', extraOptions: ['a'] };
    const merged = mergeFuseOptions(fsOptions, parseMountOptions(['fsname=home,no_big_writes,allow_other,noatime']).fuse);
    expect(merged).toEqual({ bigWrites: false, useIno: true, directIo: true, fsname: 'home', subtype: 'machpager', allowOther: true, extraOptions: ['a', 'noatime'] });
    expect(mergeFuseOptions({ useIno: true }, {})).toEqual({ useIno: true });
  });
});
