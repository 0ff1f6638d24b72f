/**
 * `machpager fsck [--repair] [--json] STORE`: check a filesystem store that
 * no daemon serves — the catalog, the page data against it, what a crash
 * leaves — and with --repair fix what is safe. Exit codes are e2fsck's.
 * It never creates a store, never runs on a mounted one (the store lock
 * and the mount table say), and prints one error line when it cannot run.
 */
import { stat } from 'node:fs/promises';
import { CommanderError, Option, type Command } from 'commander';
import { readMountinfo } from '../../fs/fuse/mount-table.js';
import { FSCK_EXIT } from '../../fs/fsck/report.js';
import { CliError, errorCode, errorMessage } from '../cli-error.js';
import { jsonText } from '../control-cli.js';
import { EXIT } from '../exit-codes.js';
import { lockStore, withDatabaseClaim, type StoreLock } from '../../service/store-lock.js';
import { resolveStore, type StoreLocation } from '../store-location.js';
import { FILE_STORE_CATALOG, fileStoreLayout } from '../../../stores/fs-store.js';
import type { CliCommand, CommandContext } from './command.js';

interface FsckOptions {
  repair?: boolean;
  json?: boolean;
}

export const FSCK_EXIT_CODES_HELP = `Exit codes (as e2fsck's):
  0   no problems found
  1   problems found and all fixed (--repair)
  4   problems left uncorrected (found without --repair, or no safe repair)
  8   operational error: a bad or missing store, a store that is mounted
      or in use, a store that is not a machpager store
  16  usage error`;

const HELP_AFTER = `
Checks, in order: the catalog (SQLite's integrity check; the tree: the root,
every name's inode and directory, no cycles, no directory with two names;
link counts), what a crash leaves (files unlinked while open: orphans and
.fuse_hidden* names), then the page data against the catalog (data for
inodes that do not exist, data past a file's size, and every stored page
read and checked against its checksum). Each problem is one line: the path
(and the offset, for page data), what is wrong, and with --repair what was
done.

--repair fixes what is safe: crash leftovers are removed with their data
(as the next mount would), names of missing inodes go, what has links but
no name goes to /lost+found as #INO, link counts and sizes are set, data of
inodes that do not exist is removed, and a damaged page is marked so that
its reads give EIO until it is written again (its bytes are not touched).
Pages marked damaged are listed, and are no longer problems.

A mounted store is refused: unmount it first.

${FSCK_EXIT_CODES_HELP}

Examples:
  machpager fsck ~/fs.db                  check sqlite:~/fs.db
  machpager fsck --repair file:/srv/fs    check and fix a raw-file store
  machpager fsck --json fs.db | jq '.problems[] | .path'
`;

/** An error that stops fsck before it checks anything: one line, exit 8. */
class FsckStop extends Error {}

async function mustExist(store: StoreLocation): Promise<void> {
  const missing = (err: unknown): never => {
    if (errorCode(err) === 'ENOENT') throw new FsckStop(`no machpager store at ${store.path}`);
    throw new FsckStop(`${store.path}: ${errorMessage(err)}`);
  };
  // A database is checked when fsck opens it (no store there: one line, as for a file).
  if (store.kind === 'postgres') return;
  const st = await stat(store.path).catch(missing);
  if (store.kind === 'sqlite') {
    if (st.isDirectory()) throw new FsckStop(`${store.path} is a directory, not a machpager store (a raw-file store is file:${store.path})`);
    return;
  }
  if (!st.isDirectory()) throw new FsckStop(`${store.path} is not a directory (file:DIR names a raw-file store's directory)`);
  await stat(fileStoreLayout(store.path).catalog).catch((err: unknown) => {
    if (errorCode(err) === 'ENOENT') throw new FsckStop(`${store.path} holds no machpager store (no ${FILE_STORE_CATALOG})`);
    throw new FsckStop(`${store.path}: ${errorMessage(err)}`);
  });
}

/** Refuse a store a daemon serves: in the mount table, or its lock held by a live process. */
async function lockUnmounted(ctx: CommandContext, store: StoreLocation, repair: boolean): Promise<StoreLock | undefined> {
  const mounts = await (ctx.deps.mountinfo ?? readMountinfo)();
  const mounted = mounts.find((m) => m.source === store.name && m.fstype.startsWith('fuse'));
  if (mounted) throw new FsckStop(`${store.name} is mounted on ${mounted.mountPoint}: unmount it first`);
  try {
    const local = await lockStore(store, { readOnly: !repair, waitMs: 0, log: ctx.log });
    // A postgres: database may be mounted from another machine: its claim says so.
    return store.kind === 'postgres' ? await withDatabaseClaim(local, store, 'alone', ctx.log) : local;
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.TEMPFAIL) throw new FsckStop(`${store.name} is ${err.why} — is it mounted? unmount it first`);
    throw new FsckStop(err instanceof CliError ? err.line : errorMessage(err));
  }
}

async function runFsck(spec: string, command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<FsckOptions>();
  const repair = opts.repair === true;
  let lock: StoreLock | undefined;
  try {
    let store: StoreLocation;
    try {
      store = resolveStore(spec, { env: ctx.deps.env, uid: ctx.deps.uid, homedir: ctx.deps.homedir, cwd: ctx.deps.cwd });
    } catch (err) {
      throw new FsckStop(err instanceof CliError ? err.line : errorMessage(err));
    }
    await mustExist(store);
    lock = await lockUnmounted(ctx, store, repair);
    // Loaded only now: help and usage errors do not load SQLite.
    const { fsck } = await import('../../fs/fsck/fsck.js');
    const { reportLines } = await import('../../fs/fsck/report.js');
    const report = await fsck({ store: store.name, repair }).catch((err: unknown) => {
      throw new FsckStop(`${store.name}: ${errorMessage(err)}`);
    });
    ctx.deps.stdout(opts.json === true ? jsonText(report) : `${reportLines(report).join('\n')}\n`);
    ctx.exitCode = report.exit_code;
  } catch (err) {
    if (!(err instanceof FsckStop)) throw err;
    ctx.log(`fsck: ${err.message}`);
    ctx.exitCode = FSCK_EXIT.OPERATIONAL;
  } finally {
    await lock?.release();
  }
}

export const fsckCommand: CliCommand = {
  name: 'fsck',
  register(program, ctx) {
    program
      .command('fsck')
      .summary('check a store that is not mounted (the catalog, the page data, crash leftovers); --repair fixes what is safe')
      .description('Check a filesystem store that is not mounted, and with --repair fix what is safe.')
      .usage('[options] STORE')
      .argument('<STORE>', 'sqlite:PATH, file:DIR, postgres://USER@HOST/DB, a PATH ending in .db (sqlite), a directory (file:), or default')
      .addOption(new Option('-y, --repair', 'fix what is safe, saying what was done'))
      .addOption(new Option('--json', 'print the report as JSON'))
      .addHelpText('after', HELP_AFTER)
      // e2fsck's codes: a usage error is 16 here (1 and 2 mean "fixed" to scripts that run fsck).
      .exitOverride((err) => {
        throw err.exitCode === 0 ? err : new CommanderError(FSCK_EXIT.USAGE, err.code, err.message);
      })
      .action(async (store: string, _opts: FsckOptions, command: Command) => {
        await runFsck(store, command, ctx);
      });
  },
};
