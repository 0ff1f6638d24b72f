/**
 * `machpager stats [MOUNTPOINT]`: the mount's page-cache statistics, as
 * vm_stat prints Mach's (stats-view.ts); `--json` the record as the daemon
 * keeps it; `-w SECONDS [COUNT]` a vmstat-style table, one line per
 * interval.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { checkStatsRecord, type StatsRecord } from '../../control/stats-record.js';
import { CliError, errorMessage, usageError } from '../cli-error.js';
import { ControlError } from '../../control/client.js';
import { EXIT } from '../exit-codes.js';
import { chooseMount, jsonText, mountArg, mountOption, parseCount, parseSeconds, sleeper, timeoutOption, withClient } from '../control-cli.js';
import { renderStats, terseHeader, terseLine } from '../stats-view.js';
import type { CliCommand, CommandContext } from './command.js';
import type { LiveMrcRecord } from '../../fs/live-mrc.js';
import { renderLiveMrc } from '../mrc-view.js';

interface StatsOptions {
  mount?: string;
  json?: boolean;
  mrc?: boolean;
  mrcReset?: boolean;
  wait?: string;
  watch?: string;
  count?: string;
  timeout: string;
}

/** Header lines repeat every this many lines when stdout is not a terminal (else every screen). */
export const HEADER_EVERY = 20;

const HELP_AFTER = `
Without -w: a labelled list in the manner of vm_stat (Mach's names: pages free,
active, inactive, wired down; faults, lookups, hits, pageins, pageouts ...), then
the page cache, the pager's traffic per message, the store's I/O, the fault
service latency and the mount. --json prints the daemon's record as it is
(fields and units: README, "Statistics and control").

With -w SECONDS: a table, one line per interval; the first line counts since the
mount started, the next ones what happened in each interval (counters as
differences, the page counts free, actv, inact and wired as they are). COUNT
lines in all (default: until interrupted). The header repeats every screen
(every ${HEADER_EVERY} lines when stdout is not a terminal). With --json: one record per
line (NDJSON), as they are.

Columns: free actv inact wired (pages), pfaults (faults), lkups hits hrat (page
lookups, hits, hit ratio), pgins pgouts (pageins, pageouts), zeroed (zero
fills), react (reactivations), evcln evdty (evictions clean, dirty), perr
(page errors).

--mrc: what other cache sizes would do for the workload running now: LRU's hit
ratio at sizes from 1 page to past the working set and 4x this cache (rows
marked), from the stack distances of the pages reads and writes touch since the
mount started (or --mrc-reset). Exact while the working set is under 4096
pages; beyond, a spatially hashed sample (SHARDS) of 4096 pages, and the
heading says the rate and the expected error. Then a table with a column per
policy (LRU, mach, clock, arc, 2q) at 1/2x, 1x, 2x and 4x this cache: miniature
simulations of each on the sampled pages, with the cache scaled by the rate.
--json prints the record (the policies under miniatures.curves).

Examples:
  machpager stats                 the mount containing the current directory
  machpager stats --mrc /mnt/data what twice the cache would buy
  machpager stats /mnt/home --json | jq .hits
  machpager stats -w 1 10         ten lines, one per second
`;

/**
 * [MOUNTPOINT] [COUNT], either way round: with -w, an argument that is a
 * whole number is COUNT (the last one, if both are); name a mountpoint "5"
 * as ./5.
 */
function splitArgs(args: readonly (string | undefined)[], watching: boolean, countOption: string | undefined): { mountpoint?: string; count?: string } {
  const given = args.filter((a): a is string => a !== undefined);
  let count = countOption;
  const numeric = (a: string | undefined): boolean => a !== undefined && /^\d+$/.test(a);
  const at = !watching ? -1 : numeric(given[given.length - 1]) ? given.length - 1 : given.length === 2 && numeric(given[0]) ? 0 : -1;
  if (at >= 0) {
    const c = given.splice(at, 1)[0];
    if (count !== undefined && c !== count) throw usageError(`stats ${c}`, `and --count ${count} disagree`);
    count = c;
  }
  if (given.length > 1) throw usageError(`stats ${given.join(' ')}`, watching ? 'too many arguments (usage: stats [MOUNTPOINT] -w SECONDS [COUNT])' : 'COUNT goes with -w SECONDS');
  return { ...(given[0] !== undefined ? { mountpoint: given[0] } : {}), ...(count !== undefined ? { count } : {}) };
}

async function runStats(args: readonly (string | undefined)[], command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<StatsOptions>();
  const waitText = opts.wait ?? opts.watch;
  const watching = waitText !== undefined;
  const split = splitArgs(args, watching, opts.count);
  if (!watching && split.count !== undefined) throw usageError(`--count ${split.count}`, 'goes with -w SECONDS');
  const intervalS = watching ? parseSeconds(waitText, `-w ${waitText}`) : 0;
  const count = split.count !== undefined ? parseCount(split.count, `COUNT ${split.count}`) : undefined;
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const mount = await chooseMount(ctx, mountArg(split.mountpoint, opts.mount, command));
  const { deps } = ctx;
  if (opts.mrc === true || opts.mrcReset === true) {
    if (watching) throw usageError('--mrc', 'prints the curve once (watch it in top or the web view)');
    await withClient(
      ctx,
      mount,
      async (client) => {
        const record = (await client.call('mrc', opts.mrcReset === true ? { reset: true } : {}).catch((err: unknown) => {
          // Mounted with -o live_mrc=off, or its worker failed: one line, and the "not available" exit code.
          if (err instanceof ControlError && err.code === 'ENOTSUP') throw new CliError(mount.mountpoint, errorMessage(err), EXIT.UNAVAILABLE, { cause: err });
          throw err;
        })) as LiveMrcRecord;
        if (opts.mrcReset === true && opts.mrc !== true) return;
        deps.stdout(opts.json === true ? jsonText(record) : renderLiveMrc(record));
      },
      { timeoutSeconds: timeoutS },
    );
    return;
  }

  await withClient(
    ctx,
    mount,
    async (client) => {
      const fetch = async (): Promise<StatsRecord> => checkStatsRecord(await client.call('stats', {}));
      if (!watching) {
        const record = await fetch();
        deps.stdout(opts.json === true ? jsonText(record) : renderStats(record));
        return;
      }
      const sleep = sleeper(deps);
      const size = deps.terminal?.isTTY === true ? deps.terminal.size() : undefined;
      const every = size ? Math.max(size.rows - 1, 2) : HEADER_EVERY;
      let prev: StatsRecord | undefined;
      const closed = deps.outputClosed;
      for (let i = 0; count === undefined || i < count; i++) {
        if (i > 0) {
          try {
            await sleep(intervalS * 1000, closed);
          } catch (err) {
            if (closed?.aborted === true) break;
            throw err;
          }
        }
        if (closed?.aborted === true) break;
        const record = await fetch();
        if (opts.json === true) {
          deps.stdout(`${JSON.stringify(record)}\n`);
        } else {
          if (i % every === 0) deps.stdout(`${terseHeader()}\n`);
          deps.stdout(`${terseLine(record, prev)}\n`);
        }
        prev = record;
      }
    },
    { timeoutSeconds: timeoutS },
  );
}

export const statsCommand: CliCommand = {
  name: 'stats',
  register(program, ctx) {
    program
      .command('stats')
      .summary('page-cache statistics, vm_stat style (-w SECONDS: a vmstat-style table)')
      .description("Print the page-cache statistics of a mount's simulated Mach kernel.")
      .usage('[options] [MOUNTPOINT] [COUNT]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it); default: the mount containing the current directory, else the only one')
      .argument('[COUNT]', 'with -w: how many lines')
      .addOption(mountOption())
      .addOption(new Option('--json', 'print the record as JSON (with -w: one record per line)'))
      .addOption(new Option('--mrc', 'the live miss-ratio curve: LRU hit ratio at cache sizes around this one, for the workload running now'))
      .addOption(new Option('--mrc-reset', 'start the live curve over (with --mrc: after printing the old one)'))
      .addOption(new Option('-w, --wait <seconds>', 'print a line every SECONDS (fractions allowed)'))
      .addOption(new Option('--watch <seconds>', 'the same as -w').hideHelp())
      .addOption(new Option('-c, --count <n>', 'with -w: how many lines (the same as COUNT)'))
      .addOption(timeoutOption(10))
      .addHelpText('after', HELP_AFTER)
      .action(async (a: string | undefined, b: string | undefined, _opts: StatsOptions, command: Command) => {
        await runStats([a, b], command, ctx);
      });
  },
};
