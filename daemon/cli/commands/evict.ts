/**
 * `machpager evict PATH...` / `machpager evict --all [MOUNTPOINT]`: write
 * back what is dirty and drop the pages from the cache (pager_return: the
 * kernel returns every page and flushes it), as `vmtouch -e` does for
 * Linux's page cache. The next read faults them in again. A directory
 * means its own files (as `files DIR` lists them); -R the whole tree below.
 */
import { Option, type Command } from 'commander';
import { checkResult } from '../../control/stats-record.js';
import { usageError } from '../cli-error.js';
import { chooseMount, choosePaths, jsonText, LONG_CALL_TIMEOUT_MS, mountArg, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface EvictOptions {
  mount?: string;
  all?: boolean;
  recursive?: boolean;
  json?: boolean;
  timeout: string;
}

interface EvictResult {
  evicted_pages: number;
  files: number;
}

async function runEvict(paths: readonly string[], command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<EvictOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const check = (v: unknown): EvictResult => checkResult<EvictResult>(v, 'evict', ['evicted_pages', 'files']);
  let total: EvictResult = { evicted_pages: 0, files: 0 };
  let what: string;
  if (opts.all === true) {
    if (paths.length > 1) throw usageError(`evict --all ${paths.join(' ')}`, 'takes one MOUNTPOINT at most');
    const mount = await chooseMount(ctx, mountArg(paths[0], opts.mount, command));
    what = mount.mountpoint;
    total = await withClient(ctx, mount, async (client) => check(await client.call('evict', { all: true })), { timeoutSeconds: timeoutS });
  } else {
    if (paths.length === 0) throw usageError('evict', 'name the files (PATH...) or say --all');
    if (opts.mount !== undefined) throw usageError(`-m ${opts.mount}`, 'goes with --all (PATHs name their mounts)');
    what = paths.join(' ');
    for (const located of await choosePaths(ctx, paths)) {
      const params = opts.recursive === true ? { path: located.inner, recursive: true } : { path: located.inner };
      const r = await withClient(ctx, located.mount, async (client) => check(await client.call('evict', params)), {
        timeoutSeconds: timeoutS,
        what: located.given,
      });
      total = { evicted_pages: total.evicted_pages + r.evicted_pages, files: total.files + r.files };
    }
  }
  ctx.deps.stdout(opts.json === true ? jsonText(total) : `evicted ${total.evicted_pages} page${total.evicted_pages === 1 ? '' : 's'} of ${total.files} file${total.files === 1 ? '' : 's'} (${what})\n`);
}

export const evictCommand: CliCommand = {
  name: 'evict',
  register(program, ctx) {
    program
      .command('evict')
      .summary('write back and drop the cached pages of files, or of a whole mount (--all)')
      .description('Drop the pages of PATHs (or, with --all, of every file of the mount) from the page cache, writing back the dirty ones first.')
      .usage('[options] PATH... | --all [MOUNTPOINT]')
      .argument('[PATH...]', 'files in machpager mounts (with --all: the mount)')
      .addOption(new Option('--all', 'every page of the mount'))
      .addOption(new Option('-R, --recursive', "go into directories (without it, a directory's own files, as files lists them)"))
      .addOption(mountOption())
      .addOption(new Option('--json', 'print the total as JSON: {"evicted_pages": N, "files": N}'))
      .addOption(timeoutOption(LONG_CALL_TIMEOUT_MS / 1000))
      .action(async (paths: string[], _opts: EvictOptions, command: Command) => {
        await runEvict(paths, command, ctx);
      });
  },
};
