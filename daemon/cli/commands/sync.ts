/**
 * `machpager sync [PATH]`: write back every dirty page of a file (PATH), or
 * of the whole mount, and sync the store, the way fsync and unmount do
 * (memory_object_lock_request with RETURN_DIRTY, then the store's sync).
 */
import { Option, type Command } from 'commander';
import { checkResult } from '../../control/stats-record.js';
import { usageError } from '../cli-error.js';
import { chooseMount, choosePaths, jsonText, LONG_CALL_TIMEOUT_MS, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface SyncOptions {
  mount?: string;
  json?: boolean;
  timeout: string;
}

async function runSync(given: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<SyncOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  let mount;
  let params: { path?: string } = {};
  if (given !== undefined) {
    if (opts.mount !== undefined) throw usageError(`-m ${opts.mount}`, 'PATH names its mount; -m is for syncing a whole mount (no PATH)');
    const [located] = await choosePaths(ctx, [given]);
    if (!located) return;
    mount = located.mount;
    if (located.inner !== '/') params = { path: located.inner };
  } else {
    mount = await chooseMount(ctx, opts.mount);
  }
  const what = given ?? mount.mountpoint;
  const result = await withClient(ctx, mount, async (client) => checkResult<{ synced: string }>(await client.call('sync', params), 'sync', [], ['synced']), {
    timeoutSeconds: timeoutS,
    what,
  });
  ctx.deps.stdout(opts.json === true ? jsonText(result) : `synced ${what}\n`);
}

export const syncCommand: CliCommand = {
  name: 'sync',
  register(program, ctx) {
    program
      .command('sync')
      .summary('write back the dirty pages of a file, or of the whole mount, and sync the store')
      .description('Write back every dirty page of PATH (or of every file of the mount) to the store, and sync it.')
      .usage('[options] [PATH]')
      .argument('[PATH]', 'a file in a machpager mount, or a mountpoint; default: the whole mount (-m)')
      .addOption(mountOption())
      .addOption(new Option('--json', "print the daemon's answer as JSON"))
      .addOption(timeoutOption(LONG_CALL_TIMEOUT_MS / 1000))
      .action(async (p: string | undefined, _opts: SyncOptions, command: Command) => {
        await runSync(p, command, ctx);
      });
  },
};
