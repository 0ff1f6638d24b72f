/**
 * `machpager web [MOUNTPOINT]`: the live web view of a mount's page cache.
 * When the mount's daemon serves one already (mount --web), print its link
 * (with its control key: the control socket has just shown that we may
 * control the mount) and return. Otherwise serve one from this process,
 * over the mount's control socket, until Ctrl-C or until the mount goes
 * away.
 */
import { Option, type Command } from 'commander';
import type { ControlMethods } from '../../control/protocol.js';
import { DEFAULT_WEB_ADDRESS, parseWebAddress } from '../../web/web-address.js';
import { CliError, usageError } from '../cli-error.js';
import { chooseMount, connect, controlCliError, mountArg, mountOption, sleeper } from '../control-cli.js';
import { EXIT } from '../exit-codes.js';
import type { CliCommand, CommandContext } from './command.js';

interface WebOptions {
  mount?: string;
  listen?: string;
  allowRemote?: boolean;
}

/** How often this process checks that the mount still answers. */
const WATCH_MS = 1000;

const HELP_AFTER = `
The page: the frame pool as a grid coloured by state (free, active, inactive,
dirty, busy, wired; hover a frame for the file it holds), the hit ratio,
faults, pageins and pageouts over time, the files with the most resident pages,
the fault-latency histogram, the policy and the cache size, and the LRU
miss-ratio curve of the last trace recorded (machpager trace start/stop).

The first line printed is the link with the view's key: whoever opens it can
switch the policy and the cache size, as machpager policy and cache-size can.
Give it only to those who may control the mount; the second line is the
read-only page. Loopback only, unless --allow-remote.
`;

async function runWeb(positional: string | undefined, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<WebOptions>();
  let address;
  try {
    address = parseWebAddress(opts.listen ?? DEFAULT_WEB_ADDRESS, { allowRemote: opts.allowRemote === true });
  } catch (err) {
    throw usageError(`--listen ${opts.listen ?? ''}`, err instanceof Error ? err.message : String(err));
  }
  const mount = await chooseMount(ctx, mountArg(positional, opts.mount, command));
  const client = await connect(ctx, mount);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const served = ((await client.call('web', {})) as ControlMethods['web']['result']).url;
    if (served !== null && opts.listen === undefined) {
      ctx.deps.stdout(`${served}\n`);
      ctx.log(`the daemon of ${mount.mountpoint} serves this web view (mount --web); the link carries its control key`);
      return;
    }
    const { startWebView } = await import('../../web/web-launcher.js');
    const view = await startWebView({ address, call: (method, params) => client.call(method, params), log: ctx.log }).catch((err: unknown) => {
      throw new CliError(`--listen ${opts.listen ?? DEFAULT_WEB_ADDRESS}`, `cannot listen: ${err instanceof Error ? err.message : String(err)}`, EXIT.UNAVAILABLE);
    });
    ctx.deps.stdout(`${view.controlUrl}\n${view.url}\n`);
    ctx.log(`web view of ${mount.mountpoint}: the first link can change the mount, the second is read-only; Ctrl-C stops`);
    const sleep = sleeper(ctx.deps);
    try {
      for (;;) {
        await sleep(WATCH_MS, stop.signal);
        await client.call('hello', {});
      }
    } catch (err) {
      if (!stop.signal.aborted) throw new CliError(mount.mountpoint, `the mount stopped answering (${err instanceof Error ? err.message : String(err)}); the web view stops`, EXIT.UNAVAILABLE);
    } finally {
      await view.close();
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw controlCliError(err, mount.mountpoint);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    client.close();
  }
}

export const webCommand: CliCommand = {
  name: 'web',
  register(program, ctx) {
    program
      .command('web')
      .summary('a live web view of a mount\'s page cache (frames, hit ratio, latency, MRC)')
      .description("Serve a live web page of the mount's page cache on loopback, or print the link of the one its daemon serves.")
      .usage('[options] [MOUNTPOINT]')
      .argument('[MOUNTPOINT]', 'the mount (or any path in it)')
      .addOption(mountOption())
      .addOption(new Option('--listen <addr:port>', `where to serve it (default ${DEFAULT_WEB_ADDRESS}: a free port on loopback)`))
      .addOption(new Option('--allow-remote', 'let --listen take an address that is not loopback'))
      .addHelpText('after', HELP_AFTER)
      .action(async (mountpoint: string | undefined, _opts: WebOptions, command: Command) => {
        await runWeb(mountpoint, command, ctx);
      });
  },
};
