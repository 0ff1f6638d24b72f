/**
 * How mount(8) runs machpager, translated: /sbin/mount.machpager's
 * arguments, and `machpager SPEC DIR -o ...` as /sbin/mount.fuse runs it.
 */
import { describe, expect, it } from 'vitest';
import { commandNames } from '../../daemon/cli/cli.js';
import { CliError } from '../../daemon/cli/cli-error.js';
import { bareMountArgs, helperMountArgs } from '../../daemon/cli/helper-args.js';
import { usageError } from './usage-error.js';

function refused(argv: string[]): CliError {
  return usageError(() => helperMountArgs(argv), argv.join(' '));
}

describe('mount.machpager SPEC DIR [-sfnv] [-o OPTIONS]', () => {
  it('becomes mount --daemon, without the fstab-only options', () => {
    // What mount(8) passes for an fstab line with defaults,noauto,allow_other,cache_size=256M.
    expect(helperMountArgs(['sqlite:/var/lib/machpager/home.db', '/mnt/home', '-o', 'rw,noauto,nofail,allow_other,cache_size=256M,x-systemd.automount']).args).toEqual([
      'mount', '--daemon', '-o', 'rw,allow_other,cache_size=256M', '--', 'sqlite:/var/lib/machpager/home.db', '/mnt/home',
    ]);
    expect(helperMountArgs(['none', '/mnt/x', '-o', 'rw']).args).toEqual(['mount', '--daemon', '-o', 'rw', '--', 'none', '/mnt/x']);
    expect(helperMountArgs(['default', '/mnt/x']).args).toEqual(['mount', '--daemon', '--', 'default', '/mnt/x']);
    expect(helperMountArgs(['default', '/mnt/x', '-o', 'noauto,user']).args).toEqual(['mount', '--daemon', '--', 'default', '/mnt/x']);
  });

  it('keeps escaped commas, joins repeated -o, takes -oOPTS', () => {
    expect(helperMountArgs(['s.db', '/m', '-o', 'fsname=a\\,b', '-opolicy=lru']).args).toEqual(['mount', '--daemon', '-o', 'fsname=a\\,b,policy=lru', '--', 's.db', '/m']);
  });

  it('reads -f as mount(8)\u2019s fake (a dry run), -v as verbose; ignores -s, -n and -t TYPE', () => {
    expect(helperMountArgs(['x.db', '/m', '-f']).args).toEqual(['mount', '--daemon', '--dry-run', '--', 'x.db', '/m']);
    const h = helperMountArgs(['x.db', '/m', '-snv', '-t', 'fuse.machpager']);
    expect(h).toEqual({ args: ['mount', '--daemon', '--', 'x.db', '/m'], verbose: true });
    expect(helperMountArgs(['x.db', '/m', '-sfnv']).args).toContain('--dry-run');
  });

  it('takes machpager#SPEC (the old fuse fstab form) as SPEC', () => {
    expect(helperMountArgs(['machpager#sqlite:/x.db', '/m']).args).toEqual(['mount', '--daemon', '--', 'sqlite:/x.db', '/m']);
  });

  it('refuses -N, unknown flags and a wrong number of arguments', () => {
    expect(refused(['x.db', '/m', '-N', '1234']).line).toContain('namespace');
    expect(refused(['x.db', '/m', '-q']).line).toContain('unknown option');
    expect(refused(['x.db']).line).toContain('missing SPEC or DIR');
    expect(refused(['a', 'b', 'c']).line).toContain('too many arguments');
    expect(refused(['a', 'b', '-o']).line).toContain('needs a value');
  });
});

describe('machpager SPEC DIR [options] (what /sbin/mount.fuse runs)', () => {
  const names = commandNames();

  it('is mount --daemon SPEC DIR, options kept', () => {
    expect(bareMountArgs(['sqlite:/x.db', '/mnt/x', '-o', 'rw,dev,suid,allow_other'], names)).toEqual([
      'mount', '--daemon', '-o', 'rw,dev,suid,allow_other', '--', 'sqlite:/x.db', '/mnt/x',
    ]);
    expect(bareMountArgs(['none', '/mnt/x'], names)).toEqual(['mount', '--daemon', '--', 'none', '/mnt/x']);
  });

  it('stays in the foreground with -f or -d, as libfuse tools do', () => {
    expect(bareMountArgs(['x.db', '/m', '-f'], names)).toEqual(['mount', '-f', '--', 'x.db', '/m']);
    expect(bareMountArgs(['x.db', '/m', '-d', '-o', 'ro'], names)).toEqual(['mount', '-d', '-o', 'ro', '--', 'x.db', '/m']);
  });

  it('leaves ordinary command lines alone', () => {
    expect(bareMountArgs(['mount', 'mnt'], names)).toBeUndefined();
    expect(bareMountArgs(['mount', 'x.db', 'mnt'], names)).toBeUndefined();
    expect(bareMountArgs(['help', 'mount'], names)).toBeUndefined();
    expect(bareMountArgs(['mnt'], names)).toBeUndefined();
    expect(bareMountArgs(['--help'], names)).toBeUndefined();
    expect(bareMountArgs(['x.db', '--help'], names)).toBeUndefined();
  });
});
