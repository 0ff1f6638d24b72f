/**
 * `machpager trace start FILE [MOUNTPOINT]`, `trace stop [MOUNTPOINT]`,
 * `trace status [MOUNTPOINT]`: record the mount's page-access trace (every
 * page its reads and writes touch, in order) into FILE, in the format
 * `machpager sim` replays, so that a workload seen on the mount can be
 * replayed with every policy offline. The daemon writes FILE (a new file,
 * not on the traced mount).
 */
import path from 'node:path';
import { Argument, Option, type Command } from 'commander';
import type { TraceResult } from '../../control/protocol.js';
import { checkResult } from '../../control/stats-record.js';
import { usageError } from '../cli-error.js';
import { chooseMount, jsonText, mountArg, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface TraceOptions {
  mount?: string;
  json?: boolean;
  timeout: string;
}

const ACTIONS = ['start', 'stop', 'status'] as const;
type Action = (typeof ACTIONS)[number];

const HELP_AFTER = `
The trace has one page id per line (file number * 2^32 + page index; file
numbers are given out in order of first access, and comment lines at the end
map them to inodes): replay it with machpager sim. FILE must not exist yet and
must not be on the traced mount.

Examples:
  machpager trace start /tmp/work.trace /mnt/x
  make -C /mnt/x/src
  machpager trace stop /mnt/x
  machpager sim /tmp/work.trace --cache 1%,10% --policy lru,arc,sieve
`;

function describe(result: TraceResult): string {
  const counts = `${result.requests} page requests, ${result.files} files${result.dropped > 0 ? `, ${result.dropped} dropped (the trace file could not keep up)` : ''}`;
  if (result.recording) return `recording into ${result.path ?? '?'}: ${counts}\n`;
  return result.path === undefined ? 'not recording\n' : `trace written to ${result.path}: ${counts}\n`;
}

async function runTrace(action: Action, args: string[], command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<TraceOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  let file: string | undefined;
  let rest = args;
  if (action === 'start') {
    if (args.length === 0) throw usageError('trace start', 'needs the FILE to record into');
    file = path.resolve(ctx.deps.cwd, args[0]);
    rest = args.slice(1);
  }
  if (rest.length > 1) throw usageError(`trace ${action}`, `takes one MOUNTPOINT, not ${rest.length}`);
  const mount = await chooseMount(ctx, mountArg(rest[0], opts.mount, command));
  const params: { action: Action; path?: string } = file === undefined ? { action } : { action, path: file };
  const result = await withClient(
    ctx,
    mount,
    async (client) => checkResult<TraceResult>(await client.call('trace', params), 'trace', ['requests', 'dropped', 'files']),
    { timeoutSeconds: timeoutS, what: file ?? mount.mountpoint },
  );
  ctx.deps.stdout(opts.json === true ? jsonText(result) : describe(result));
}

export const traceCommand: CliCommand = {
  name: 'trace',
  register(program, ctx) {
    program
      .command('trace')
      .summary("record the mount's page-access trace, for machpager sim")
      .description("Start, stop or show the recording of the mount's page-access trace.")
      .usage('start FILE [MOUNTPOINT] | stop [MOUNTPOINT] | status [MOUNTPOINT]')
      .addArgument(new Argument('<action>', 'start, stop or status').choices(ACTIONS))
      .argument('[args...]', 'start: FILE, then the mount; stop, status: the mount')
      .addOption(mountOption())
      .addOption(new Option('--json', "print the daemon's answer as JSON"))
      .addOption(timeoutOption(60))
      .addHelpText('after', HELP_AFTER)
      .action(async (action: Action, args: string[], _opts: TraceOptions, command: Command) => {
        await runTrace(action, args, command, ctx);
      });
  },
};
