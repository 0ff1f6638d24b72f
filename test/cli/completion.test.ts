/**
 * `machpager completion bash|zsh|fish` loaded into the real shells and
 * asked what they complete, and machpager(1) rendered by groff: both are
 * made from the program's own commands, so a new command or option shows
 * up in both without anyone writing it twice.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyNames } from '../../kernel/index.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { REPO, run, runInProcess } from './harness.js';

let dir = '';
const scripts: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-completion-'));
  for (const shell of ['bash', 'zsh', 'fish']) {
    const result = await runInProcess(['completion', shell], { cwd: dir });
    expect(result.code).toBe(EXIT.OK);
    scripts[shell] = path.join(dir, `machpager.${shell}`);
    await writeFile(scripts[shell], result.stdout);
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What bash completes for the words typed so far (the last one being completed). */
async function bashCompletes(...words: string[]): Promise<string[]> {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _machpager; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await run('bash', ['-c', script, 'bash', scripts.bash ?? '', 'machpager', ...words], { cwd: dir });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter((l) => l !== '');
}

/** What fish completes for a command line. */
async function fishCompletes(line: string): Promise<string[]> {
  const result = await run('fish', ['--no-config', '-c', `source $argv[1]; complete -C $argv[2]`, scripts.fish ?? '', line], { cwd: dir });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0] ?? '');
}

describe('machpager completion', () => {
  it('bash: commands, a command\'s options, policy names for policy and --policy, trace actions, help\'s commands', async () => {
    expect(await bashCompletes('st')).toEqual(expect.arrayContaining(['stats']));
    expect(await bashCompletes('co')).toEqual(expect.arrayContaining(['completion']));
    expect(await bashCompletes('stats', '--j')).toEqual(['--json']);
    expect(await bashCompletes('policy', '')).toEqual(expect.arrayContaining(policyNames()));
    expect(await bashCompletes('mount', '--policy', 'l')).toEqual(policyNames().filter((n) => n.startsWith('l')));
    expect(await bashCompletes('mount', '--cache-mode', '')).toEqual(['direct', 'kernel']);
    expect(await bashCompletes('trace', 's')).toEqual(expect.arrayContaining(['start', 'stop', 'status']));
    expect(await bashCompletes('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(await bashCompletes('help', 'fs')).toEqual(['fsck']);
    // A value that is no path completes nothing; a path completes files.
    expect(await bashCompletes('mount', '--cache-size', '')).toEqual([]);
    expect(await bashCompletes('sim', 'machpager.f')).toEqual(['machpager.fish']);
  });

  it('fish: commands with their summaries, options, policy names', async () => {
    expect(await fishCompletes('machpager sta')).toEqual(['stats']);
    expect(await fishCompletes('machpager stats --js')).toEqual(['--json']);
    expect(await fishCompletes('machpager mount --policy ')).toEqual(expect.arrayContaining(policyNames()));
    expect(await fishCompletes('machpager trace st')).toEqual(expect.arrayContaining(['start', 'stop', 'status']));
  });

  it('zsh: the script parses and registers _machpager with compinit', async () => {
    expect(await run('zsh', ['-n', scripts.zsh ?? ''])).toMatchObject({ code: 0, stderr: '' });
    const loaded = await run('zsh', ['-f', '-c', 'autoload -U compinit && compinit -u -D && source "$1" && print -r -- $_comps[machpager]', 'zsh', scripts.zsh ?? ''], { cwd: dir });
    expect(loaded).toMatchObject({ code: 0, stdout: '_machpager\n' });
  });

  it('refuses a shell it does not know, with the ones it knows', async () => {
    const result = await runInProcess(['completion', 'tcsh'], { cwd: dir });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toMatch(/tcsh.*bash, zsh, fish/);
    expect(result.stdout).toBe('');
  });
});

describe('machpager(1)', () => {
  it('is built with the program, renders without a groff warning, and holds every command, the environment and the exit codes', async () => {
    const page = path.join(dir, 'machpager.1');
    expect(await run(process.execPath, [path.join(REPO, 'dist/daemon/cli/write-man.js'), page], { env: { ...process.env, SOURCE_DATE_EPOCH: '1796083200' } })).toMatchObject({ code: 0 });
    const rendered = await run('groff', ['-man', '-Tutf8', '-ww', '-P-c', '-P-b', '-P-u', page]);
    expect(rendered.stderr).toBe('');
    const text = rendered.stdout;
    expect(text).toMatch(/^MACHPAGER\(1\) +User Commands +MACHPAGER\(1\)/m);
    expect(text).toContain('machpager 0.1.0');
    expect(text).toContain('2026-12-01');
    for (const name of ['mount', 'stats', 'files', 'top', 'sync', 'evict', 'policy', 'cache-size', 'inject', 'sim', 'trace', 'fsck', 'completion']) {
      expect(text).toMatch(new RegExp(`^ {3}machpager ${name}$`, 'm'));
    }
    expect(text).toContain('MACHPAGER_CACHE_SIZE');
    expect(text).toMatch(/^ +74 +I\/O error on the store/m);
  });
});
