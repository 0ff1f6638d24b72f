/**
 * `machpager inject [MOUNTPOINT] [SPEC | --clear]`: the fault injection of
 * a mount started with --inject (daemon/fs/fault-injection.ts), or replace
 * its rules while it runs. A lone argument with '=' in it (every rule and
 * setting has one), or an empty one, is SPEC; else it is the MOUNTPOINT.
 */
import { Option, type Command } from 'commander';
import { malformed } from '../../control/control-error.js';
import { checkResult } from '../../control/stats-record.js';
import type { InjectResult } from '../../control/protocol.js';
import { usageError } from '../cli-error.js';
import { chooseMount, jsonText, mountArg, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import { checkInjectSpec } from '../inject-spec.js';
import type { CliCommand, CommandContext } from './command.js';

interface InjectOptions {
  mount?: string;
  clear?: boolean;
  on?: boolean;
  off?: boolean;
  freeze?: boolean;
  thaw?: boolean;
  json?: boolean;
  timeout: string;
}

/** Which of one or two arguments is the mount and which the SPEC. */
export function injectArgs(first: string | undefined, second: string | undefined): { mount?: string; spec?: string } {
  if (second !== undefined) return { ...(first !== undefined ? { mount: first } : {}), spec: second };
  if (first === undefined) return {};
  return first === '' || first.includes('=') ? { spec: first } : { mount: first };
}

function describe(result: InjectResult): string {
  const s = result.stats;
  const lines = [
    `inject: ${result.spec === '' ? 'no rules' : result.spec}${result.previous === undefined || result.previous === result.spec ? '' : ` (was: ${result.previous === '' ? 'no rules' : result.previous})`}${result.enabled ? '' : ' (off)'}${result.frozen ? ` (store frozen: ${s.frozen_waiting} operations waiting)` : ''}`,
    `faults injected: ${s.injected} (reads ${s.injected_reads}, writes ${s.injected_writes}, syncs ${s.injected_syncs}, allocates ${s.injected_allocates}, file operations ${s.injected_operations}); store operations seen: reads ${s.reads}, writes ${s.writes}, syncs ${s.syncs}`,
    ...result.rules.map((r) => `  ${r.rule}: ${r.injected} injected`),
  ];
  return `${lines.join('\n')}\n`;
}

async function runInject(first: string | undefined, second: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<InjectOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const args = injectArgs(first, second);
  if (args.spec !== undefined && opts.clear === true) throw usageError(`inject ${args.spec}`, 'give a SPEC or --clear, not both');
  // Checked here too, so that a typo is a usage error before the daemon is asked.
  if (args.spec !== undefined) checkInjectSpec(args.spec, `inject ${args.spec}`);
  const mount = await chooseMount(ctx, mountArg(args.mount, opts.mount, command));
  if (opts.on === true && opts.off === true) throw usageError('inject', 'give --on or --off, not both');
  if (opts.freeze === true && opts.thaw === true) throw usageError('inject', 'give --freeze or --thaw, not both');
  const params = {
    ...(args.spec !== undefined ? { spec: args.spec } : opts.clear === true ? { clear: true } : {}),
    ...(opts.on === true ? { enabled: true } : opts.off === true ? { enabled: false } : {}),
    ...(opts.freeze === true ? { freeze: true } : opts.thaw === true ? { freeze: false } : {}),
  };
  const result = await withClient(
    ctx,
    mount,
    async (client) => {
      const r = checkResult<InjectResult>(await client.call('inject', params), 'inject', [], ['spec']);
      if (typeof r.stats !== 'object' || r.stats === null || !Array.isArray(r.rules)) throw malformed('the inject answer has no stats or rules');
      return r;
    },
    { timeoutSeconds: timeoutS, what: args.spec !== undefined ? `inject ${args.spec}` : mount.mountpoint },
  );
  ctx.deps.stdout(opts.json === true ? jsonText(result) : describe(result));
}

export const injectCommand: CliCommand = {
  name: 'inject',
  register(program, ctx) {
    program
      .command('inject')
      .summary('show the faults a mount injects, or change them while mounted')
      .description(
        "Print the fault injection of a mount started with --inject (its rules and what they\n" +
          'injected), or replace its rules with SPEC, or remove them with --clear. SPEC is\n' +
          "--inject's (machpager help mount): e.g. 'read=EIO', 'write@0+1M%0.5=ENOSPC,seed=3'.\n" +
          "A lone argument with '=' in it is SPEC, else MOUNTPOINT. --off stops every rule\n" +
          'firing and --on starts them again (the rules and counts stay); --freeze makes every\n' +
          'data store operation wait (a hung disk) until --thaw.',
      )
      .usage('[options] [MOUNTPOINT] [SPEC]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it)')
      .argument('[SPEC]', 'the new rules (they replace the old; seed and latency go back to 1 and 0 unless given)')
      .addOption(mountOption())
      .addOption(new Option('--clear', 'remove every rule (and the latency)'))
      .addOption(new Option('--on', 'let the rules fire again'))
      .addOption(new Option('--off', 'stop every rule firing (latency still applies)'))
      .addOption(new Option('--freeze', 'make every data store operation wait until --thaw'))
      .addOption(new Option('--thaw', 'let the waiting store operations go on'))
      .addOption(new Option('--json', "print the daemon's answer as JSON"))
      .addOption(timeoutOption(10))
      .action(async (first: string | undefined, second: string | undefined, _opts: InjectOptions, command: Command) => {
        await runInject(first, second, command, ctx);
      });
  },
};
