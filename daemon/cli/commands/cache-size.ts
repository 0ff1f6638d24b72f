/**
 * `machpager cache-size [SIZE]`: the size of the simulated page cache, or
 * resize it while the mount runs (smaller: the pageout daemon evicts down
 * to it first, writing back dirty pages).
 */
import { Option, type Command } from 'commander';
import { formatSize, parseSize } from '../../../stores/size.js';
import { checkResult } from '../../control/stats-record.js';
import { usageError } from '../cli-error.js';
import { chooseMount, jsonText, LONG_CALL_TIMEOUT_MS, mountOption, parseSeconds, timeoutOption, valueAndMount, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface CacheSizeOptions {
  mount?: string;
  json?: boolean;
  timeout: string;
}

interface CacheSizeResult {
  cache_size: number;
  frames: number;
  page_size: number;
  previous?: number;
}

/** A word that is a size rather than a mount: it starts with a digit. */
function isSizeWord(word: string): boolean {
  return /^\d/.test(word);
}

async function runCacheSize(first: string | undefined, second: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<CacheSizeOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const { value: sizeText, mount: where } = valueAndMount(first, second, opts.mount, isSizeWord, command);
  let size: number | undefined;
  if (sizeText !== undefined) {
    try {
      size = parseSize(sizeText);
    } catch {
      throw usageError(`cache-size ${sizeText}`, 'not a size (a number with an optional K, M or G suffix: 64M, 512K)');
    }
  }
  const mount = await chooseMount(ctx, where);
  const result = await withClient(
    ctx,
    mount,
    async (client) => checkResult<CacheSizeResult>(await client.call('cacheSize', size === undefined ? {} : { size }), 'cacheSize', ['cache_size', 'frames', 'page_size']),
    { timeoutSeconds: timeoutS, what: sizeText === undefined ? mount.mountpoint : `cache-size ${sizeText}` },
  );
  // The daemon may say how many frames a shrink still waits to retire (wired or busy pages).
  const retiring = (result as { frames_retiring?: unknown }).frames_retiring;
  const owed = typeof retiring === 'number' && retiring > 0 ? `; ${retiring} frames still to retire` : '';
  const shape = `${result.frames} frames of ${formatSize(result.page_size)}${owed}`;
  if (opts.json === true) {
    ctx.deps.stdout(jsonText(result));
  } else if (size === undefined || result.previous === undefined) {
    ctx.deps.stdout(`cache size: ${formatSize(result.cache_size)} (${shape})\n`);
  } else {
    ctx.deps.stdout(`cache size: ${formatSize(result.previous)} -> ${formatSize(result.cache_size)} (${shape})\n`);
  }
}

export const cacheSizeCommand: CliCommand = {
  name: 'cache-size',
  register(program, ctx) {
    program
      .command('cache-size')
      .summary('show the size of the page cache, or resize it while mounted')
      .description("Print the size of the mount's simulated page cache, or resize it to SIZE while it runs; a smaller cache is evicted down to first.")
      .usage('[options] [SIZE] [MOUNTPOINT]')
      .argument('[SIZE]', 'the new size: a whole number of pages, at least 4 (K, M, G suffixes)')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it; a path alone shows its cache size)')
      .addOption(mountOption())
      .addOption(new Option('--json', "print the daemon's answer as JSON (bytes)"))
      .addOption(timeoutOption(LONG_CALL_TIMEOUT_MS / 1000))
      .action(async (size: string | undefined, mountpoint: string | undefined, _opts: CacheSizeOptions, command: Command) => {
        await runCacheSize(size, mountpoint, command, ctx);
      });
  },
};
