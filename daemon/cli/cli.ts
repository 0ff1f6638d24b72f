/**
 * The `machpager` program: commander with the commands of commands/, one
 * error line and a documented exit code for every failure, and the two
 * ways mount(8) runs us (helper-args.ts). main.ts and mount-helper.ts are
 * the executables; tests run the same code with a filesystem double.
 */
import { Command, CommanderError } from 'commander';
import { CliError, errorMessage, oneLine } from './cli-error.js';
import { COMMANDS, type CommandContext } from './commands/index.js';
import type { CliDeps } from './deps.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { bareMountArgs, helperMountArgs } from './helper-args.js';
import { checkShorthandStore } from './store-word.js';
import { machpagerVersion } from '../version.js';


const PROGRAM_HELP = `
Also: machpager STORE MOUNTPOINT [-f] [-o OPTIONS] is mount --daemon STORE MOUNTPOINT
(what /sbin/mount.fuse runs for fstab type fuse.machpager; -f stays in the foreground).
A STORE that is a bare word (no / or :, not NAME.db) must exist: a typo of a
command creates nothing.
The inspection and control commands (stats, files, top, vmtouch, sync, evict, policy,
cache-size, inject) talk to a mount's daemon over its control socket; they take the
mount as MOUNTPOINT or -m PATH (any path in it), else the mount containing the
current directory, else the only one. fsck checks a store that is not mounted
(its exit codes are e2fsck's: machpager help fsck).

Examples:
  machpager mount mnt                   mount the default store on ./mnt; Ctrl-C unmounts
  machpager mount --daemon sqlite:/srv/home.db /mnt/home -o allow_other,cache_size=256M
  machpager stats /mnt/home             vm_stat-style statistics (--json, -w SECONDS)
  machpager files -R /mnt/home/src      per file: pages resident and dirty (fincore style)
  machpager top /mnt/home               a live view; q quits
  fusermount -u /mnt/home               unmount: the daemon syncs and exits
  machpager help mount                  every mount option

${EXIT_CODES_HELP}
`;

/** The program with every command registered on `ctx`. */
export function buildProgram(ctx: CommandContext): Command {
  const { deps } = ctx;
  const program = new Command('machpager')
    .description('A FUSE filesystem whose file contents live in a simulated Mach page cache, served by a Hurd-style external pager.')
    .version(machpagerVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .showSuggestionAfterError(true)
    .configureHelp({ subcommandTerm: (cmd) => `${cmd.name()} ${cmd.usage()}` })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.stdout(s),
      writeErr: (s) => deps.stderr(s),
      outputError: (s, write) => write(`machpager: ${oneLine(s.replace(/^error: /, ''))}\n`),
    })
    .addHelpText('after', PROGRAM_HELP);
  for (const command of COMMANDS) command.register(program, ctx);
  return program;
}

/** The names `machpager` takes as commands (anything else first, followed by a second argument, is a mount). */
export function commandNames(): string[] {
  return ['help', ...COMMANDS.map((c) => c.name)];
}

/** Run `machpager ARGV...`; resolves with the exit code. Never throws. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const ctx: CommandContext = {
    deps,
    log: (line) => deps.stderr(`machpager: ${line}\n`),
    exitCode: EXIT.OK,
  };
  const bare = bareMountArgs(argv, commandNames());
  try {
    // The shorthand's STORE is the argument before the mountpoint; a mistyped command must not become a new store.
    if (bare) await checkShorthandStore(bare[bare.length - 2] ?? '', deps.cwd, commandNames());
    await buildProgram(ctx).parseAsync(bare ?? [...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    // Commander's own errors carry 1: a usage error. A command that chose its code (fsck: e2fsck's 16) keeps it.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : err.exitCode === 1 ? EXIT.USAGE : err.exitCode;
    if (err instanceof CliError) {
      deps.stderr(`machpager: ${err.line}\n`);
      return err.exitCode;
    }
    deps.stderr(`machpager: ${oneLine(errorMessage(err))}\n`);
    return EXIT.FAILURE;
  }
}

/** Run /sbin/mount.machpager's arguments (helper-args.ts); resolves with the exit code. */
export async function runMountHelper(argv: readonly string[], deps: CliDeps): Promise<number> {
  let args: string[];
  try {
    const helper = helperMountArgs(argv);
    args = helper.args;
    if (helper.verbose) deps.stderr(`mount.machpager: machpager ${args.join(' ')}\n`);
  } catch (err) {
    deps.stderr(`machpager: ${err instanceof CliError ? err.line : oneLine(errorMessage(err))}\n`);
    return EXIT.USAGE;
  }
  return runCli(args, deps);
}

/**
 * Run and exit the process with the code (what the executables do), once
 * stdout and stderr have handed everything to their readers: a pipe takes
 * 64 KiB at a time, and process.exit would cut the rest.
 */
export async function exitWith(run: Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await run;
  } catch (err) {
    process.stderr.write(`machpager: ${oneLine(errorMessage(err))}\n`);
    code = EXIT.FAILURE;
  }
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

/** Resolves when `stream` has written what it was given (an empty write's callback comes after it), or can write no more (its reader is gone). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('error', done);
    stream.on('close', done);
    stream.write('', done);
  });
}
