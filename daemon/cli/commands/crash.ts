/**
 * `machpager crash [MOUNTPOINT]`: test a program's durability. --begin syncs
 * the mount and starts the bookkeeping; then a crash drops every page and
 * every catalog change not made durable by fsync, fdatasync, fsync of the
 * directory or sync, and the mount goes on as after a reboot (or goes,
 * --unmount). --keep and --torn let some unsynced pages survive, --dry-run
 * only says what would go; --at arms a crash point. The daemon does it all
 * (daemon/fs/crash/, the `crash` control verb).
 */
import { Option, type Command } from 'commander';
import { malformed } from '../../control/control-error.js';
import type { CrashAction, CrashParams, CrashResult } from '../../control/protocol.js';
import { checkResult } from '../../control/stats-record.js';
import { formatSize } from '../../../stores/size.js';
import { usageError } from '../cli-error.js';
import { chooseMount, jsonText, LONG_CALL_TIMEOUT_MS, mountArg, mountOption, parseCount, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface CrashOptions {
  mount?: string;
  begin?: boolean;
  dryRun?: boolean;
  keep?: string;
  torn?: boolean;
  seed?: string;
  unmount?: boolean;
  at?: string;
  nth?: string;
  disarm?: boolean;
  powerOn?: boolean;
  status?: boolean;
  json?: boolean;
  timeout: string;
}

/** The one action the options ask for, and its params; a usage error for options that do not go together. */
export function crashParams(opts: CrashOptions): CrashParams {
  const actions: [CrashAction, boolean][] = [
    ['begin', opts.begin === true],
    ['arm', opts.at !== undefined],
    ['disarm', opts.disarm === true],
    ['power-on', opts.powerOn === true],
    ['status', opts.status === true],
  ];
  const asked = actions.filter(([, on]) => on).map(([a]) => a);
  if (asked.length > 1) throw usageError(`crash --${asked.join(' --')}`, 'give one of --begin, --at, --disarm, --power-on, --status');
  const action: CrashAction = asked[0] ?? 'crash';
  const crashOnly = { '--dry-run': opts.dryRun, '--keep': opts.keep, '--torn': opts.torn, '--seed': opts.seed };
  for (const [flag, value] of Object.entries(crashOnly)) {
    if (value !== undefined && action !== 'crash') throw usageError(`crash ${flag}`, `${flag} is for a power loss now, not with --${action}`);
  }
  if (opts.nth !== undefined && action !== 'arm') throw usageError('crash --nth', '--nth goes with --at');
  if (opts.unmount === true && action !== 'crash' && action !== 'arm') throw usageError('crash --unmount', '--unmount goes with a power loss or --at');
  if (opts.keep !== undefined && !/^random:\d+:(0|1|0?\.\d+|1\.0*)$/.test(opts.keep)) throw usageError(`crash --keep ${opts.keep}`, 'expected random:SEED:P, e.g. random:7:0.5');
  return {
    action,
    ...(opts.dryRun === true ? { dry_run: true } : {}),
    ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
    ...(opts.torn === true ? { torn: true } : {}),
    ...(opts.seed !== undefined ? { seed: parseCount(opts.seed, `--seed ${opts.seed}`) } : {}),
    ...(opts.unmount === true ? { unmount: true } : {}),
    ...(opts.at !== undefined ? { at: opts.at } : {}),
    ...(opts.nth !== undefined ? { nth: parseCount(opts.nth, `--nth ${opts.nth}`) } : {}),
  };
}

function describe(result: CrashResult, mountpoint: string): string {
  const s = result.status;
  const lines: string[] = [];
  const r = result.report;
  if (r) {
    const verb = r.dry_run ? 'would drop' : 'dropped';
    lines.push(`${r.dry_run ? 'crash --dry-run' : 'power loss'} on ${mountpoint}: ${verb} ${r.lost_pages} page(s) (${formatSize(r.lost_bytes)}) of ${r.files.length} file(s)${r.kept_pages > 0 ? `, kept ${r.kept_pages} page(s)` : ''}, ${r.names.length} name change(s) (${r.took_ms} ms)`);
    for (const f of r.files) {
      const what = f.gone ? 'gone' : `size ${f.size} -> ${f.size_after}`;
      lines.push(`  ${f.path === '' ? `(inode ${f.ino})` : f.path}: ${what}${f.lost_pages > 0 ? `, pages ${f.lost}` : ''}${f.kept_pages > 0 ? ` (kept ${f.kept_pages})` : ''}`);
    }
    for (const n of r.names) lines.push(`  name ${n.path}: ${n.change === 'lost' ? 'lost' : 'comes back'}`);
  }
  const state = [`crash test ${s.begun ? 'on' : 'off'}`, `power ${s.power}`];
  if (s.armed) state.push(`armed: ${s.armed.point}, ${s.armed.matches} match(es) so far${s.armed.unmount ? ', then unmount' : ''}`);
  if (s.fired) state.push(`fired: ${s.fired.point}${s.fired.error !== undefined ? ` (failed: ${s.fired.error})` : ''}`);
  if (s.begun) state.push(`${s.journal.files} file(s) with unsynced changes, ${s.journal.pre_images} pre-image(s) kept`);
  lines.push(`${mountpoint}: ${state.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

async function runCrash(given: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<CrashOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const params = crashParams(opts);
  const mount = await chooseMount(ctx, mountArg(given, opts.mount, command));
  const result = await withClient(
    ctx,
    mount,
    async (client) => {
      const r = checkResult<CrashResult>(await client.call('crash', params), 'crash', [], ['action']);
      if (typeof r.status !== 'object' || r.status === null) throw malformed('the crash answer has no status');
      return r;
    },
    { timeoutSeconds: timeoutS, what: `crash ${mount.mountpoint}` },
  );
  ctx.deps.stdout(opts.json === true ? jsonText(result) : describe(result, mount.mountpoint));
}

export const crashCommand: CliCommand = {
  name: 'crash',
  register(program, ctx) {
    program
      .command('crash')
      .summary("simulate a power loss on a mount: test a program's durability")
      .description(
        'Drop every page and every catalog change not made durable by fsync, fdatasync,\n' +
          'fsync of the directory or sync (machpager sync), then go on as after a reboot:\n' +
          'open files answer EIO, new opens see the durable state. A name made, renamed or\n' +
          "removed comes back to its last durable state unless its directory was fsynced.\n" +
          'Pages the pageout daemon wrote back before an fsync are not durable: they go too.\n' +
          'Run --begin once first: it syncs the mount and starts the bookkeeping, which costs\n' +
          'one store read per page first overwritten between durable points and keeps that\n' +
          'pre-image in the daemon\'s memory until the file is fsynced or the mount synced.\n' +
          '--keep and --torn let some unsynced pages survive (deterministic from the seed);\n' +
          "--at arms a crash point: at the Nth operation matching OP:GLOB (e.g. 'rename:*.wal',\n" +
          "'fsync:db*:after') the power goes, the operation and all after it get EIO, until\n" +
          '--power-on (or the mount goes, with --unmount). Every power loss is logged with\n' +
          'what it dropped.',
      )
      .usage('[options] [MOUNTPOINT]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it)')
      .addOption(mountOption())
      .addOption(new Option('--begin', 'sync the mount and start keeping what a crash needs (once, before anything else)'))
      .addOption(new Option('--dry-run', 'say what a power loss would drop (files, page ranges, names); change nothing'))
      .addOption(new Option('--keep <random:SEED:P>', 'each unsynced page survives with probability P'))
      .addOption(new Option('--torn', "each file's latest write survives only in part (a prefix of its pages); the writes before it survive"))
      .addOption(new Option('--seed <N>', 'the seed of --torn without --keep (default 1)'))
      .addOption(new Option('--unmount', 'unmount once the power is off (with a power loss now, or with --at)'))
      .addOption(new Option('--at <OP:GLOB[:after]>', 'arm a crash point: OP a FUSE operation (write, fsync, fdatasync, fsyncdir, rename, create, unlink, ...), GLOB the name (or the path, with a /)'))
      .addOption(new Option('--nth <N>', 'the crash point fires at the Nth matching operation (default 1)'))
      .addOption(new Option('--disarm', 'disarm the crash point'))
      .addOption(new Option('--power-on', 'after a crash point fired: serve the durable state again'))
      .addOption(new Option('--status', 'show the crash test: power, armed point, what is unsynced'))
      .addOption(new Option('--json', "print the daemon's answer as JSON"))
      .addOption(timeoutOption(LONG_CALL_TIMEOUT_MS / 1000))
      .action(async (p: string | undefined, _opts: CrashOptions, command: Command) => {
        await runCrash(p, command, ctx);
      });
  },
};
