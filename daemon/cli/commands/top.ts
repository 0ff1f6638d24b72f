/**
 * `machpager top [MOUNTPOINT]`: a live view of a mount's page cache
 * (top-view.ts), refreshed every --interval seconds. On a terminal it draws
 * in place on the alternate screen (q or Ctrl-C quits and gives the
 * terminal back as it was); otherwise it prints one plain screen per
 * interval, like `top -b`. Colour only when Node's rules allow it
 * (NO_COLOR, FORCE_COLOR, TERM; terminal.ts).
 */
import { Option, type Command } from 'commander';
import { checkFileRecords, checkStatsRecord, type StatsRecord } from '../../control/stats-record.js';
import { chooseMount, mountArg, mountOption, parseCount, parseSeconds, sleeper, timeoutOption, withClient } from '../control-cli.js';
import { colorsWanted } from '../terminal.js';
import { ANSI, historyWidth, intervalHitRatio, PLAIN, renderTop } from '../top-view.js';
import type { CliCommand, CommandContext } from './command.js';
import type { LiveMrcRecord } from '../../fs/live-mrc.js';
import { ControlError, type ControlClient } from '../../control/client.js';

interface TopOptions {
  mount?: string;
  interval: string;
  iterations?: string;
  timeout: string;
}

/** Enter the alternate screen and hide the cursor; and back. */
export const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
export const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

const HELP_AFTER = `
The screen: the mount, the page counts (free, active, inactive, wired, laundry),
the events per second of the last interval (faults, lookups, hits, pageins,
pageouts, zero fills, evictions), their totals, the fault service latency, the
store's I/O, the live miss-ratio curve (LRU's hit ratio at 1/2x, 1x, 2x and 4x
this cache for the workload now, and the curve as a sparkline: stats --mrc), the hit ratio of each recent interval as a sparkline (a blank: no
lookups in that interval), and the files with the most resident and the most
dirty pages (columns as in machpager files).

On a terminal the screen is redrawn in place; q or Ctrl-C quits. Otherwise (a
pipe, a file) each refresh prints a plain screen followed by a blank line.
NO_COLOR turns colour off, FORCE_COLOR on.
`;

async function runTop(positional: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<TopOptions>();
  const intervalS = parseSeconds(opts.interval, `--interval ${opts.interval}`);
  const iterations = opts.iterations !== undefined ? parseCount(opts.iterations, `--iterations ${opts.iterations}`) : undefined;
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const mount = await chooseMount(ctx, mountArg(positional, opts.mount, command));
  const { deps } = ctx;
  const terminal = deps.terminal;
  const tty = terminal?.isTTY === true;
  const style = colorsWanted(tty, deps.env) ? ANSI : PLAIN;
  const sleep = sleeper(deps);

  await withClient(
    ctx,
    mount,
    async (client) => {
      const stop = new AbortController();
      // The reader of stdout went away (top | head): stop as q does.
      deps.outputClosed?.addEventListener('abort', () => stop.abort(), { once: true });
      const restoreInput = terminal?.listen(
        (key) => {
          if (key === 'q' || key === 'Q' || key === '\x03') stop.abort();
        },
        { keys: tty },
      );
      if (tty) deps.stdout(ENTER_SCREEN);
      try {
        const history: (number | null)[] = [];
        let prev: StatsRecord | undefined;
        for (let i = 0; iterations === undefined || i < iterations; i++) {
          if (i > 0) {
            try {
              await sleep(intervalS * 1000, stop.signal);
            } catch (err) {
              if (stop.signal.aborted) break;
              throw err;
            }
          }
          if (stop.signal.aborted) break;
          const record = checkStatsRecord(await client.call('stats', {}));
          const files = checkFileRecords(await client.call('files', {}));
          const mrc = await liveMrc(client);
          const size = tty ? terminal.size() : undefined;
          if (prev !== undefined) {
            history.push(intervalHitRatio(record, prev));
            const keep = historyWidth(size ?? {});
            if (history.length > keep) history.splice(0, history.length - keep);
          }
          const lines = renderTop({ record, prev, files, history, intervalS, mrc }, size ?? {}, style);
          if (tty) {
            const shown = size ? lines.slice(0, size.rows) : lines;
            deps.stdout(`${HOME}${shown.join(`${CLEAR_LINE_END}\n`)}${CLEAR_LINE_END}${CLEAR_BELOW}`);
          } else {
            deps.stdout(`${i > 0 ? '\n' : ''}${lines.join('\n')}\n`);
          }
          prev = record;
        }
      } finally {
        if (tty) deps.stdout(LEAVE_SCREEN);
        restoreInput?.();
      }
    },
    { timeoutSeconds: timeoutS },
  );
}

export const topCommand: CliCommand = {
  name: 'top',
  register(program, ctx) {
    program
      .command('top')
      .summary('a live view: totals, hit ratio over time, the files with the most resident and dirty pages')
      .description("Show a mount's page cache live, refreshed every --interval seconds.")
      .usage('[options] [MOUNTPOINT]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it); default: the mount containing the current directory, else the only one')
      .addOption(mountOption())
      .addOption(new Option('-i, --interval <seconds>', 'seconds between refreshes (fractions allowed)').default('1'))
      .addOption(new Option('-n, --iterations <n>', 'stop after N screens (default: until q or Ctrl-C)'))
      .addOption(timeoutOption(10))
      .addHelpText('after', HELP_AFTER)
      .action(async (mountpoint: string | undefined, _opts: TopOptions, command: Command) => {
        await runTop(mountpoint, command, ctx);
      });
  },
};

/** The live curve, or none from a daemon older than the mrc verb (ENOSYS) or with the curve off (ENOTSUP): top goes on without it. */
async function liveMrc(client: ControlClient): Promise<LiveMrcRecord | undefined> {
  try {
    return (await client.call('mrc', {})) as LiveMrcRecord;
  } catch (err) {
    if (err instanceof ControlError && (err.code === 'ENOSYS' || err.code === 'ENOTSUP')) return undefined;
    throw err;
  }
}
