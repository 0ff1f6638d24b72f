/**
 * Fault injection as the mount command takes it (--inject, -o inject=,
 * MACHPAGER_INJECT, fault:SPEC:STORE), the inject command's arguments, and
 * the shorthand rule: a bare word that names no store and no command is a
 * usage error that creates nothing and suggests the command it may be a
 * typo of. In this process, with a recording filesystem factory.
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandNames } from '../../daemon/cli/cli.js';
import { injectArgs } from '../../daemon/cli/commands/inject.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { checkInjectSpec, joinSpecs, splitFaultName } from '../../daemon/cli/inject-spec.js';
import { resolveMountPlan, type Given, type MountInput } from '../../daemon/cli/mount-plan.js';
import { closest, editDistance, isBareWord } from '../../daemon/cli/store-word.js';
import { given, mountInput } from '../helpers/mount-input.js';
import { runInProcess } from './harness.js';
import { tempDirEach } from './temp-each.js';

const ctx = { env: {}, uid: 1000, homedir: '/home/ann', cwd: '/work' };
const inject = (value: string, source: Given['source'] = 'cli'): Given => given(value, source, '--inject', 'MACHPAGER_INJECT');

describe('fault injection in the mount plan', () => {
  it('none unless asked for', () => {
    expect(resolveMountPlan(mountInput({}), ctx).inject).toBeUndefined();
    expect(resolveMountPlan(mountInput({ args: ['a.db', 'mnt'] }), ctx).inject).toBeUndefined();
  });

  it('--inject, -o inject= (commas escaped) and MACHPAGER_INJECT; an empty --inject is injection with no rules yet', () => {
    expect(resolveMountPlan(mountInput({ inject: inject('write@0+1M=ENOSPC,latency=5') }), ctx).inject).toBe('write@0+1M=ENOSPC,latency=5');
    expect(resolveMountPlan(mountInput({ inject: inject('') }), ctx).inject).toBe('');
    expect(resolveMountPlan(mountInput({ options: ['ro,inject=read=EIO\\,seed=3'] }), ctx).inject).toBe('read=EIO,seed=3');
    expect(resolveMountPlan(mountInput({ inject: inject('read=EIO', 'env') }), ctx).inject).toBe('read=EIO');
    expect(resolveMountPlan(mountInput({ envOptions: 'inject=sync=EIO' }), ctx).inject).toBe('sync=EIO');
    expect(() => resolveMountPlan(mountInput({ inject: inject('read=EIO'), options: ['inject=write=EIO'] }), ctx)).toThrow(/^--inject read=EIO: conflicts with -o inject=write=EIO$/);
  });

  it('--control-fifo and -o control_fifo= name the control FIFO, resolved from the working directory; none unless asked for', () => {
    expect(resolveMountPlan(mountInput({}), ctx).controlFifo).toBeUndefined();
    expect(resolveMountPlan(mountInput({ controlFifo: given('mp.fifo', 'cli', '--control-fifo', 'MACHPAGER_CONTROL_FIFO') }), ctx).controlFifo).toBe('/work/mp.fifo');
    expect(resolveMountPlan(mountInput({ options: ['control_fifo=/run/mp.fifo'] }), ctx).controlFifo).toBe('/run/mp.fifo');
    expect(() => resolveMountPlan(mountInput({ controlFifo: given('/a', 'cli', '--control-fifo'), options: ['control_fifo=/b'] }), ctx)).toThrow(/conflicts with -o control_fifo=\/b/);
  });

  it('a fault:SPEC:STORE name: the store under it, its SPEC first, then --inject', () => {
    const plan = resolveMountPlan(mountInput({ args: ['fault:read=EIO:sqlite:x.db', 'mnt'], inject: inject('latency=5') }), ctx);
    expect(plan.store).toMatchObject({ name: 'sqlite:/work/x.db', kind: 'sqlite', isDefault: false });
    expect(plan.inject).toBe('read=EIO,latency=5');
    expect(resolveMountPlan(mountInput({ args: ['fault:write%0.5=ENOSPC:fault::pages', 'mnt'] }), ctx)).toMatchObject({ store: { name: 'file:/work/pages' }, inject: 'write%0.5=ENOSPC' });
    expect(resolveMountPlan(mountInput({ store: given('fault:rw=EIO:/srv/fs.db', 'env', '--store', 'MACHPAGER_STORE') }), ctx)).toMatchObject({ store: { name: 'sqlite:/srv/fs.db' }, inject: 'rw=EIO' });
    expect(resolveMountPlan(mountInput({ args: ['fault:latency=1:default', 'mnt'] }), ctx)).toMatchObject({ store: { isDefault: true }, inject: 'latency=1' });
  });

  it('a bad SPEC is a usage error naming what the user typed', () => {
    const bad = (over: Partial<MountInput>, line: RegExp): void => {
      let thrown: unknown;
      try {
        resolveMountPlan(mountInput(over), ctx);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ exitCode: EXIT.USAGE });
      expect((thrown as { line: string }).line).toMatch(line);
    };
    bad({ inject: inject('write=EBOGUS') }, /^--inject write=EBOGUS: fault code 'EBOGUS' is not an errno name$/);
    bad({ inject: inject('wirte=EIO') }, /^--inject wirte=EIO: bad fault rule 'wirte=EIO' \(OP\[\(GLOB\)\]\[@OFFSET/);
    bad({ inject: inject('read%2=EIO') }, /fault rate 2 is not in 0\.\.1/);
    bad({ inject: inject('latency=99999999999') }, /fault latency/);
    bad({ inject: inject('nope', 'env') }, /^MACHPAGER_INJECT=nope: bad fault rule/);
    bad({ options: ['inject=read@x+=EIO'] }, /^-o inject=read@x\+=EIO: /);
    bad({ args: ['fault:read=EIO', 'mnt'] }, /^store fault:read=EIO: a fault store is written fault:SPEC:STORE/);
    bad({ args: ['fault:read=EIO:', 'mnt'] }, /^store fault:read=EIO:: a fault store is written/);
    bad({ args: ['fault:read=EIO:memory:1M', 'mnt'] }, /^store fault:read=EIO:memory:1M: a filesystem keeps its data in sqlite:PATH, file:DIR or postgres:\/\/USER@HOST\/DB, not memory:$/);
    bad({ args: ['fault:x:sqlite:a.db', 'mnt'] }, /^store fault:x:sqlite:a\.db: bad fault rule 'x'/);
  });

  it('the helpers: split, check, join', () => {
    expect(splitFaultName('sqlite:/a.db', 's')).toEqual({ specs: [], store: 'sqlite:/a.db' });
    expect(splitFaultName('fault:read=EIO:fault:latency=1:/a.db', 's')).toEqual({ specs: ['read=EIO', 'latency=1'], store: '/a.db' });
    expect(checkInjectSpec('', 'x')).toBe('');
    expect(joinSpecs([])).toBeUndefined();
    expect(joinSpecs(['', 'read=EIO', '', 'seed=2'])).toBe('read=EIO,seed=2');
  });
});

describe('machpager inject: which argument is which', () => {
  it("a lone argument with '=' (or an empty one) is SPEC, else the mountpoint", () => {
    expect(injectArgs(undefined, undefined)).toEqual({});
    expect(injectArgs('/mnt/x', undefined)).toEqual({ mount: '/mnt/x' });
    expect(injectArgs('read=EIO', undefined)).toEqual({ spec: 'read=EIO' });
    expect(injectArgs('', undefined)).toEqual({ spec: '' });
    expect(injectArgs('/mnt/x', 'write@4K+=ENOSPC')).toEqual({ mount: '/mnt/x', spec: 'write@4K+=ENOSPC' });
  });
});

async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('the mount shorthand takes no bare word that names nothing', () => {
  const tmp = tempDirEach('cli-shorthand', 'empty');

  it("`machpager stat empty` (a typo of stats): one line suggesting 'stats', exit 2, nothing opened or created", async () => {
    const before = await tree(tmp());
    const r = await runInProcess(['stat', 'empty'], { cwd: tmp(), env: { MACHPAGER_HOME: path.join(tmp(), 'home') } });
    expect({ code: r.code, lines: r.lines, stdout: r.stdout }).toEqual({
      code: EXIT.USAGE,
      lines: ["machpager: unknown command 'stat' (did you mean 'stats'?), and no store 'stat' exists here to mount (a new store is written ./stat, file:stat or stat.db)"],
      stdout: '',
    });
    expect(r.opened).toEqual([]);
    expect(await tree(tmp())).toEqual(before);
  });

  it('a word close to no command gets no suggestion; `mount WORD MNT` is refused too; the helper form as well', async () => {
    const before = await tree(tmp());
    const env = { MACHPAGER_HOME: path.join(tmp(), 'home') };
    const fsck = await runInProcess(['flush', 'empty'], { cwd: tmp(), env });
    expect(fsck.code).toBe(EXIT.USAGE);
    expect(fsck.lines).toEqual(["machpager: unknown command 'flush', and no store 'flush' exists here to mount (a new store is written ./flush, file:flush or flush.db)"]);
    const mount = await runInProcess(['mount', 'stat', 'empty'], { cwd: tmp(), env });
    expect({ code: mount.code, lines: mount.lines }).toEqual({ code: EXIT.USAGE, lines: ['machpager: store stat: no such store here (a new store is written ./stat, file:stat or stat.db)'] });
    const old = await runInProcess(['machpager#stat', 'empty', '-f'], { cwd: tmp(), env });
    expect(old.code).toBe(EXIT.USAGE);
    expect(old.lines[0]).toMatch(/^machpager: unknown command 'stat' \(did you mean 'stats'\?\)/);
    expect([fsck, mount, old].flatMap((r) => r.opened)).toEqual([]);
    expect(await tree(tmp())).toEqual(before);
  });

  it('an existing word, a path, a typed name, NAME.db and the default words still mount (dry run)', async () => {
    await mkdir(path.join(tmp(), 'stat'));
    const env = { MACHPAGER_HOME: path.join(tmp(), 'home') };
    for (const spec of ['stat', './new', 'file:new', 'sqlite:new.db', 'new.db', 'none', 'fault:read=EIO:new.db']) {
      const r = await runInProcess(['mount', '--dry-run', spec, 'empty'], { cwd: tmp(), env });
      expect({ spec, code: r.code, err: r.stderr }).toEqual({ spec, code: EXIT.OK, err: '' });
      expect(r.stdout).toMatch(/^would mount /);
    }
    const dry = await runInProcess(['mount', '--dry-run', '--inject', 'latency=5', 'fault:read=EIO:new.db', 'empty'], { cwd: tmp(), env });
    expect(dry.stdout).toMatch(/\(cache 64M, page 4K, policy mach, direct, injecting faults: read=EIO,latency=5\)/);
  });

  it('words, distances and the closest command', () => {
    expect(['stat', 'fsck', 'x.txt'].map(isBareWord)).toEqual([true, true, true]);
    expect(['', 'a/b', './x', 'sqlite:x', 'x.db', 'none', 'default', 'machpager'].map(isBareWord)).toEqual(Array(8).fill(false));
    expect(editDistance('stat', 'stats')).toBe(1);
    expect(editDistance('stast', 'stats')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    const names = commandNames();
    expect(names).toContain('inject');
    expect(closest('stat', names)).toBe('stats');
    expect(closest('evcit', names)).toBe('evict');
    expect(closest('Policy', names)).toBe('policy');
    expect(closest('mnt', names)).toBe('mount');
    expect(closest('flush', names)).toBeUndefined();
    expect(closest('data', names)).toBeUndefined();
  });
});
