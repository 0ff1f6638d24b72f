/**
 * `machpager policy [NAME]`: the replacement policy the pageout daemon uses
 * now, or switch it while the mount runs (the resident pages are handed to
 * the new policy; nothing is evicted by the switch itself).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { policyNames } from '../../../kernel/index.js';
import { checkResult } from '../../control/stats-record.js';
import { chooseMount, jsonText, mountOption, parseSeconds, timeoutOption, valueAndMount, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface PolicyOptions {
  mount?: string;
  json?: boolean;
  timeout: string;
}

interface PolicyResult {
  policy: string;
  previous?: string;
  policies: string[];
}

/** A word that names a policy rather than a mount: a known name, or a word that is neither a path nor a directory here. */
function isPolicyWord(word: string, cwd: string): boolean {
  return policyNames().includes(word) || (!word.includes('/') && !existsSync(path.resolve(cwd, word)));
}

async function runPolicy(first: string | undefined, second: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<PolicyOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const { value: name, mount: where } = valueAndMount(first, second, opts.mount, (w) => isPolicyWord(w, ctx.deps.cwd), command);
  const mount = await chooseMount(ctx, where);
  const result = await withClient(
    ctx,
    mount,
    async (client) => {
      const r = checkResult<PolicyResult>(await client.call('policy', name === undefined ? {} : { name }), 'policy', [], ['policy']);
      if (!Array.isArray(r.policies)) r.policies = [];
      return r;
    },
    { timeoutSeconds: timeoutS, what: name === undefined ? mount.mountpoint : `policy ${name}` },
  );
  if (opts.json === true) {
    ctx.deps.stdout(jsonText(result));
  } else if (name === undefined) {
    ctx.deps.stdout(`policy: ${result.policy}${result.policies.length > 0 ? ` (available: ${result.policies.join(', ')})` : ''}\n`);
  } else {
    ctx.deps.stdout(`policy: ${result.previous ?? '?'} -> ${result.policy}\n`);
  }
}

export const policyCommand: CliCommand = {
  name: 'policy',
  register(program, ctx) {
    program
      .command('policy')
      .summary('show the replacement policy, or switch it while mounted')
      .description("Print the mount's page replacement policy, or switch to NAME while it runs.")
      .usage('[options] [NAME] [MOUNTPOINT]')
      .argument('[NAME]', `the policy to switch to (${policyNames().join(', ')})`)
      .argument('[MOUNTPOINT]', 'the mount (or any path in it; a path alone shows its policy)')
      .addOption(mountOption())
      .addOption(new Option('--json', "print the daemon's answer as JSON"))
      .addOption(timeoutOption(10))
      .action(async (name: string | undefined, mountpoint: string | undefined, _opts: PolicyOptions, command: Command) => {
        await runPolicy(name, mountpoint, command, ctx);
      });
  },
};
