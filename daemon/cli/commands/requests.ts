/**
 * `machpager requests [MOUNTPOINT]`: the FUSE requests a fault holds now,
 * as Minix's VM shows the processes it holds with RTS_PAGEFAULT: who asked
 * (pid, command), which file and offset, what the fault waits for, and for
 * how long. A read or write whose pages are resident never waits, and is
 * never listed.
 */
import { Option, type Command } from 'commander';
import type { RequestRecord } from '../../control/protocol.js';
import { checkRequestRecords } from '../../control/stats-record.js';
import { chooseMount, jsonText, mountArg, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import { humanSize, table, type Align } from '../format.js';
import type { CliCommand, CommandContext } from './command.js';

interface RequestsOptions {
  mount?: string;
  json?: boolean;
  timeout: string;
}

const HELP_AFTER = `
One line per request waiting now, the oldest first: PID and COMMAND of the
process that made it, OP (read, write), FILE, OFFSET (the first byte not yet
copied) and LENGTH (bytes left), WAITS FOR, and WAITED (how long since it was
suspended). What a fault waits for:
  data_request  the pager has not supplied the page yet (a slow store)
  data_unlock   the page is read-only until the pager unlocks it (a write's
                space reservation)
  free_frame    no free page frame: the pageout daemon must free one
  busy_page     another request's fault, or a pageout, holds the page
  pager_init    the file's pager has not answered memory_object_init
  other_mount   the page data lives on another FUSE mount, which has not
                answered the pager's read (with ON: that mount)
stats counts every request ever suspended, their wait percentiles and the
longest. --json prints the records.

Examples:
  machpager requests /mnt/x
  watch -n1 machpager requests /mnt/x
`;

function waited(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** The table (lines without newlines). */
export function renderRequests(requests: readonly RequestRecord[]): string[] {
  if (requests.length === 0) return ['no request is waiting on a fault'];
  const other = requests.some((r) => r.other_mount !== undefined);
  const rows = requests.map((r) => [
    String(r.pid),
    r.command === '' ? '?' : r.command,
    r.op,
    r.path === '' ? `(deleted, inode ${r.ino})` : r.path,
    String(r.offset),
    humanSize(r.length),
    r.waits_for,
    waited(r.waited_ms),
    ...(other ? [r.other_mount ?? ''] : []),
  ]);
  const header = ['PID', 'COMMAND', 'OP', 'FILE', 'OFFSET', 'LENGTH', 'WAITS FOR', 'WAITED', ...(other ? ['ON'] : [])];
  const align: Align[] = ['right', 'left', 'left', 'left', 'right', 'right', 'left', 'right', ...(other ? (['left'] as const) : [])];
  return table(header, rows, align);
}

async function runRequests(given: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<RequestsOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const mount = await chooseMount(ctx, mountArg(given, opts.mount, command));
  const requests = await withClient(ctx, mount, async (client) => checkRequestRecords(await client.call('requests', {})), { timeoutSeconds: timeoutS });
  ctx.deps.stdout(opts.json === true ? jsonText(requests) : `${renderRequests(requests).join('\n')}\n`);
}

export const requestsCommand: CliCommand = {
  name: 'requests',
  register(program, ctx) {
    program
      .command('requests')
      .summary('show the file requests waiting on a page fault now, and what each waits for')
      .description('Print the reads and writes the mount holds until the kernel has their pages: who made each, which file and offset, what its fault waits for, and how long it has waited.')
      .usage('[options] [MOUNTPOINT]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it); default: the mount of the current directory (-m)')
      .addOption(mountOption())
      .addOption(new Option('--json', "print the daemon's records as JSON"))
      .addOption(timeoutOption(10))
      .addHelpText('after', HELP_AFTER)
      .action(async (mountpoint: string | undefined, _opts: RequestsOptions, command: Command) => {
        await runRequests(mountpoint, command, ctx);
      });
  },
};
