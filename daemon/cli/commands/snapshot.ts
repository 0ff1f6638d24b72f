/**
 * `machpager snapshot FILE NEWFILE`: a copy-on-write copy of FILE at NEWFILE
 * in the same mount. Nothing is copied: NEWFILE shares every page with FILE
 * (in the store) until one of them writes it.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { SnapshotResult } from '../../control/protocol.js';
import { checkResult } from '../../control/stats-record.js';
import { CliError } from '../cli-error.js';
import { EXIT } from '../exit-codes.js';
import { choosePaths, jsonText, LONG_CALL_TIMEOUT_MS, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import type { CliCommand, CommandContext } from './command.js';

interface SnapshotOptions {
  json?: boolean;
  timeout: string;
}

async function runSnapshot(file: string, newFile: string, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<SnapshotOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  // NEWFILE does not exist yet: its directory says which mount it is in.
  const [source, targetDir] = await choosePaths(ctx, [file, path.dirname(newFile)]);
  if (!source || !targetDir) return;
  if (source.mount.mountpoint !== targetDir.mount.mountpoint)
    throw new CliError('', `${file} and ${newFile} are in different mounts (${source.mount.mountpoint}, ${targetDir.mount.mountpoint}): a snapshot stays in its mount (EXDEV)`, EXIT.USAGE);
  const target = path.posix.join(targetDir.inner, path.basename(newFile));
  const result = await withClient(
    ctx,
    source.mount,
    async (client) =>
      checkResult<SnapshotResult>(await client.call('snapshot', { source: source.inner, target }), 'snapshot', [], ['source', 'target']),
    { timeoutSeconds: timeoutS, what: `${file} → ${newFile}` },
  );
  ctx.deps.stdout(opts.json === true ? jsonText(result) : `${newFile}: snapshot of ${file}, ${result.shared_pages} pages shared\n`);
}

export const snapshotCommand: CliCommand = {
  name: 'snapshot',
  register(program, ctx) {
    program
      .command('snapshot')
      .summary('make a copy-on-write copy of a file in the same mount')
      .description(
        'Make NEWFILE a copy of FILE that shares every page with it until either writes it: nothing is copied, ' +
          'both read the same at once, a write to either leaves the other unchanged, and the store grows only by ' +
          'the pages written since. FILE is synced first. NEWFILE must not exist and must be in the same mount.',
      )
      .usage('[options] FILE NEWFILE')
      .argument('<FILE>', 'a regular file in a machpager mount')
      .argument('<NEWFILE>', 'the copy to make, in the same mount')
      .addOption(new Option('--json', "print the daemon's answer as JSON"))
      .addOption(timeoutOption(LONG_CALL_TIMEOUT_MS / 1000))
      .action(async (file: string, newFile: string, _opts: SnapshotOptions, command: Command) => {
        await runSnapshot(file, newFile, command, ctx);
      });
  },
};
