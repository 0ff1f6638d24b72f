/**
 * A mount described entirely by the environment (what a systemd unit's
 * EnvironmentFile gives, systemd/machpager@.service): MACHPAGER_MOUNTPOINT
 * when no argument names the mountpoint, MACHPAGER_OPTIONS as an -o list
 * under the command line's. Plans (resolveMountPlan) and the command run in
 * this process with --dry-run (nothing mounted, nothing created).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { resolveMountPlan, type MountInput } from '../../daemon/cli/mount-plan.js';
import { given, mountInput } from '../helpers/mount-input.js';
import { runInProcess } from './harness.js';
import { tempDirEach } from './temp-each.js';
import { usageError } from './usage-error.js';

const ctx = { env: {}, uid: 0, homedir: '/root', cwd: '/work' };
/** Nothing on the command line but what a test adds: the mountpoint comes from the environment. */
const input = (over: Partial<MountInput>): MountInput => mountInput({ args: [], envMountpoint: '/mnt/home', ...over });

function usage(over: Partial<MountInput>): string {
  return usageError(() => resolveMountPlan(input(over), ctx), JSON.stringify(over)).line;
}

describe('MACHPAGER_MOUNTPOINT', () => {
  it('is the mountpoint when no argument names one; an argument wins', () => {
    expect(resolveMountPlan(input({}), ctx).mountpoint).toBe('/mnt/home');
    expect(resolveMountPlan(input({ envMountpoint: 'rel/mnt' }), ctx).mountpoint).toBe('/work/rel/mnt');
    expect(resolveMountPlan(input({ args: ['other'] }), ctx).mountpoint).toBe('/work/other');
    expect(resolveMountPlan(input({ args: ['s.db', 'other'] }), ctx)).toMatchObject({ mountpoint: '/work/other', store: { name: 'sqlite:/work/s.db' } });
  });

  it('missing or empty, with no argument: a usage error that names it', () => {
    expect(usage({ envMountpoint: undefined })).toBe('mount: missing MOUNTPOINT (usage: machpager mount [STORE] MOUNTPOINT, or MACHPAGER_MOUNTPOINT in the environment)');
    expect(usage({ envMountpoint: '' })).toMatch(/missing MOUNTPOINT/);
  });
});

describe('MACHPAGER_OPTIONS', () => {
  it('gives our keys as environment: below the flags and -o, beside the variables of their own', () => {
    const env = { envOptions: 'cache_size=2M,policy=lru,store=file:/srv/pages,cache_mode=kernel,page_size=8K' };
    expect(resolveMountPlan(input(env), ctx)).toMatchObject({
      cacheSize: 2 << 20, policy: 'lru', store: { name: 'file:/srv/pages' }, cacheMode: 'kernel', pageSize: 8192,
    });
    // A flag wins silently (the environment is the lower layer), and so does -o.
    expect(resolveMountPlan(input({ ...env, cacheSize: given('4M', 'cli', '--cache-size', 'MACHPAGER_CACHE_SIZE') }), ctx).cacheSize).toBe(4 << 20);
    expect(resolveMountPlan(input({ ...env, options: ['cache_size=8M'] }), ctx).cacheSize).toBe(8 << 20);
    // The STORE argument beats the environment's store=.
    expect(resolveMountPlan(input({ ...env, args: ['a.db', 'mnt'] }), ctx).store.name).toBe('sqlite:/work/a.db');
    // Beside the variable of its own: the same value is fine, two values are an error naming both.
    expect(resolveMountPlan(input({ ...env, cacheSize: given('2M', 'env', '--cache-size', 'MACHPAGER_CACHE_SIZE') }), ctx).cacheSize).toBe(2 << 20);
    expect(usage({ ...env, cacheSize: given('1M', 'env', '--cache-size', 'MACHPAGER_CACHE_SIZE') })).toBe('MACHPAGER_CACHE_SIZE=1M: conflicts with MACHPAGER_OPTIONS cache_size=2M');
  });

  it('bad values are named as MACHPAGER_OPTIONS gave them', () => {
    expect(usage({ envOptions: 'uid=x' })).toBe('MACHPAGER_OPTIONS uid=x: not a numeric id (0 .. 4294967294)');
    expect(usage({ envOptions: 'policy=nope' })).toMatch(/^MACHPAGER_OPTIONS policy=nope: unknown policy/);
    expect(usage({ envOptions: 'page_size=3000' })).toMatch(/^MACHPAGER_OPTIONS page_size=3000: the page size is a power of two/);
    expect(usage({ envOptions: 'allow_other,allow_root' })).toMatch(/^MACHPAGER_OPTIONS allow_other,allow_root: the two exclude each other/);
  });

  it('FUSE options lie under the command line: it wins per option, allow_other/allow_root as one setting; extra options of both', () => {
    const plan = resolveMountPlan(input({ envOptions: 'allow_other,ro,noatime,fsname=env,nofail,x-systemd.automount', options: ['allow_root,rw,nosuid'] }), ctx);
    expect(plan.fuse).toEqual({ allowRoot: true, readOnly: false, fsname: 'env', extraOptions: ['noatime', 'nosuid'] });
    expect(plan.readOnly).toBe(false);
    expect(plan.ignoredOptions).toEqual(['nofail', 'x-systemd.automount']);
    expect(resolveMountPlan(input({ envOptions: 'ro,default_permissions' }), ctx)).toMatchObject({ readOnly: true, fuse: { readOnly: true, defaultPermissions: true } });
    expect(resolveMountPlan(input({ envOptions: 'nonempty' }), ctx).nonempty).toBe(true);
    expect(resolveMountPlan(input({ envOptions: '' }), ctx).fuse).toEqual({});
  });
});

describe('the command, from the environment alone', () => {
  const tmp = tempDirEach('cli-env', 'mnt');

  it('machpager mount --dry-run with MACHPAGER_MOUNTPOINT, MACHPAGER_STORE and MACHPAGER_OPTIONS', async () => {
    const r = await runInProcess(['mount', '--foreground', '--dry-run'], {
      cwd: '/',
      env: { MACHPAGER_MOUNTPOINT: path.join(tmp(), 'mnt'), MACHPAGER_STORE: `sqlite:${tmp()}/s.db`, MACHPAGER_OPTIONS: 'cache_size=1M,policy=clock,allow_other,default_permissions' },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain(`would mount sqlite:${tmp()}/s.db (new store, would be created) on ${tmp()}/mnt (cache 1M, page 4K, policy clock, direct)`);
    expect(r.stdout).toMatch(/FUSE options big_writes,allow_other,default_permissions over/);
  });

  it('without a mountpoint anywhere: one line, exit 2', async () => {
    const r = await runInProcess(['mount', '--foreground'], { cwd: tmp(), env: { MACHPAGER_OPTIONS: 'cache_size=1M' } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: EXIT.USAGE,
      stderr: 'machpager: mount: missing MOUNTPOINT (usage: machpager mount [STORE] MOUNTPOINT, or MACHPAGER_MOUNTPOINT in the environment)\n',
    });
    expect(r.opened).toEqual([]);
  });
});
