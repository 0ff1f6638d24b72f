/**
 * `machpager regions [MOUNTPOINT]`: the address maps of the mount's kernel,
 * region by region, as vmmap(1) or /proc/PID/maps show a process's: each
 * region's start and end, protection and maximum protection, inheritance,
 * whether it is shared, its memory object and offset, and the file it maps.
 * The daemon walks each task's map with vm_region (seed 000's region_scan).
 */
import { Option, type Command } from 'commander';
import type { RegionRecord } from '../../control/protocol.js';
import { checkRegionRecords } from '../../control/stats-record.js';
import { chooseMount, jsonText, mountArg, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import { humanSize, table } from '../format.js';
import type { CliCommand, CommandContext } from './command.js';

interface RegionsOptions {
  mount?: string;
  json?: boolean;
  timeout: string;
}

const HELP_AFTER = `
One line per region of each task's address map, lowest address first:
TASK the task that mapped it (fs: the filesystem's file windows; pager: the
pager library's pager_memcpy windows), START-END in hex, PRT/MAX the
protection and the most vm_protect may raise it to (r, w, x), INH what a
child would inherit (share, copy, none), SHR "s" when more than one mapping
maps the object, SIZE, OBJECT the memory object (as stats counts objects),
OFFSET in the object (hex), FILE the file whose object it is. A file's window
grows with the file (a "+" after its size). --json prints the records.

Examples:
  machpager regions                      the mount of the current directory
  machpager regions /mnt/x --json | jq '.[] | select(.path == "/big.db")'
`;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** The vmmap-style table (lines without newlines). */
export function renderRegions(regions: readonly RegionRecord[]): string[] {
  if (regions.length === 0) return ['no regions: nothing is mapped (no file is open or cached)'];
  const width = Math.max(8, ...regions.map((r) => r.end.toString(16).length));
  const rows = regions.map((r) => [
    r.task,
    `${hex(r.start, width)}-${hex(r.end, width)}`,
    `${r.protection}/${r.max_protection}`,
    r.inheritance,
    r.shared ? 's' : '-',
    `${humanSize(r.size)}${r.growable ? '+' : ''}`,
    `0x${r.object.toString(16)}`,
    hex(r.offset, 8),
    r.path === undefined ? (r.internal ? '[anonymous]' : '') : r.path === '' ? `(deleted, inode ${r.ino ?? '?'})` : r.path,
  ]);
  return table(['TASK', 'START-END', 'PRT/MAX', 'INH', 'SHR', 'SIZE', 'OBJECT', 'OFFSET', 'FILE'], rows, ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'left']);
}

async function runRegions(given: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<RegionsOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const mount = await chooseMount(ctx, mountArg(given, opts.mount, command));
  const regions = await withClient(ctx, mount, async (client) => checkRegionRecords(await client.call('regions', {})), { timeoutSeconds: timeoutS });
  if (opts.json === true) {
    ctx.deps.stdout(jsonText(regions));
    return;
  }
  ctx.deps.stdout(`${renderRegions(regions).join('\n')}\n`);
}

export const regionsCommand: CliCommand = {
  name: 'regions',
  register(program, ctx) {
    program
      .command('regions')
      .summary("show the address maps of the mount's kernel, region by region (vm_region)")
      .description("Print every region of the address maps of the mount's kernel: where each file window and pager window sits, its protection, inheritance, object and offset.")
      .usage('[options] [MOUNTPOINT]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it); default: the mount of the current directory (-m)')
      .addOption(mountOption())
      .addOption(new Option('--json', "print the daemon's records as JSON"))
      .addOption(timeoutOption(10))
      .addHelpText('after', HELP_AFTER)
      .action(async (mountpoint: string | undefined, _opts: RegionsOptions, command: Command) => {
        await runRegions(mountpoint, command, ctx);
      });
  },
};
