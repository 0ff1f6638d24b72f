/**
 * `machpager vmtouch [-t|-e|-l] [-v] [-q] PATH...`: vmtouch(8) for a
 * machpager mount. Without an action: how much of the files is resident.
 * -t touches them (every page read into the cache), -e evicts them (dirty
 * pages written back first), -l locks them resident (their pages wired)
 * and stays in the foreground until Ctrl-C or SIGTERM, as vmtouch -l does:
 * the daemon unwires when this command's control connection closes,
 * however it ends. Directories are walked whole, as vmtouch does. The
 * daemon's kernel answers from its mincore; nothing is faulted in to look.
 */
import { performance } from 'node:perf_hooks';
import { Option, type Command } from 'commander';
import type { ControlClient, LocatedPath, MachpagerMount } from '../../control/client.js';
import { checkHello, checkResidencyRecords, checkResult } from '../../control/stats-record.js';
import { CliError, usageError } from '../cli-error.js';
import { choosePaths, connect, controlCliError, jsonText, LONG_CALL_TIMEOUT_MS, parseSeconds, timeoutOption } from '../control-cli.js';
import { EXIT } from '../exit-codes.js';
import { humanSize } from '../format.js';
import { startProgress } from '../progress.js';
import { renderMaps, renderSummary, totals, type ShownResidency, type VmtouchTotals } from '../vmtouch-view.js';
import type { CliCommand, CommandContext } from './command.js';
import { displayName } from './files.js';

interface VmtouchOptions {
  touch?: boolean;
  evict?: boolean;
  lock?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
  timeout: string;
}

const HELP_AFTER = `
Without -t, -e or -l: how much of the files the page cache holds (nothing is
read to find out). Directories are walked whole, as vmtouch does.

-l wires the pages (vm_wire): the pageout daemon never evicts them. The command
stays in the foreground, and the pages are unlocked when it ends (Ctrl-C,
SIGTERM, or any exit: the daemon unwires when its control connection closes).
At most 3/4 of the cache may be wired; more is refused. evict and vmtouch -e
leave locked files alone.

-v prints, per file, a map of its pages in at most 60 columns: O every page of
the column resident, o some, blank none.

Examples:
  machpager vmtouch mnt/src              how much of the tree is cached
  machpager vmtouch -t mnt/db/big.db     read it into the cache
  machpager vmtouch -l mnt/db/index.db   keep it there until Ctrl-C
  machpager vmtouch -e -v mnt/logs       drop it, and show the maps after
`;

interface Group {
  readonly mount: MachpagerMount;
  readonly asked: LocatedPath[];
  client?: ControlClient;
  pageSize: number;
  files: ShownResidency[];
}

const check = <T>(value: unknown, what: string, nums: readonly string[]): T => checkResult<T>(value, what, nums);

async function query(group: Group, map: boolean): Promise<ShownResidency[]> {
  const client = group.client as ControlClient;
  const records = checkResidencyRecords(await client.call('residency', { paths: group.asked.map((a) => a.inner), recursive: true, ...(map ? { map: true } : {}) }));
  const asked = group.asked.map((a) => ({ inner: a.inner, given: a.given }));
  const seen = new Set<string>();
  const out: ShownResidency[] = [];
  for (const record of records) {
    if (seen.has(record.path)) continue;
    seen.add(record.path);
    out.push({ record, pageSize: group.pageSize, name: displayName(record, group.mount.mountpoint, asked) });
  }
  return out;
}

/** Touch every file of every group; a bar over the pages on a terminal. */
async function touchAll(ctx: CommandContext, groups: readonly Group[], quiet: boolean): Promise<{ pages: number; bytes: number }> {
  const total = groups.reduce((n, g) => n + g.files.reduce((m, f) => m + f.record.pages, 0), 0);
  const progress = quiet ? startProgress({}, 'pages', 0) : startProgress(ctx.deps, 'pages', total);
  let done = 0;
  let touched = 0;
  let bytes = 0;
  try {
    for (const g of groups) {
      for (const f of g.files) {
        if (f.record.pages === 0) continue;
        const r = check<{ touched_pages: number }>(await g.client?.call('touch', { path: f.record.path }, { timeoutMs: LONG_CALL_TIMEOUT_MS }), 'touch', ['touched_pages', 'pages']);
        touched += r.touched_pages;
        bytes += r.touched_pages * g.pageSize;
        progress.update((done += f.record.pages));
      }
    }
  } finally {
    progress.stop();
  }
  return { pages: touched, bytes };
}

async function evictAll(groups: readonly Group[]): Promise<{ pages: number; bytes: number; lockedFiles: number }> {
  let pages = 0;
  let bytes = 0;
  let lockedFiles = 0;
  for (const g of groups) {
    for (const f of g.files) {
      if (f.record.resident_pages === 0) continue;
      const r = check<{ evicted_pages: number; locked_files?: number }>(await g.client?.call('evict', { path: f.record.path }, { timeoutMs: LONG_CALL_TIMEOUT_MS }), 'evict', ['evicted_pages', 'files']);
      pages += r.evicted_pages;
      bytes += r.evicted_pages * g.pageSize;
      lockedFiles += r.locked_files ?? 0;
    }
  }
  return { pages, bytes, lockedFiles };
}

async function lockAll(groups: readonly Group[]): Promise<{ pages: number; bytes: number }> {
  let pages = 0;
  let bytes = 0;
  for (const g of groups) {
    for (const f of g.files) {
      if (f.record.pages === 0) continue;
      const r = check<{ locked_pages: number }>(await g.client?.call('lock', { path: f.record.path }, { timeoutMs: LONG_CALL_TIMEOUT_MS }), 'lock', ['locked_pages']);
      pages += r.locked_pages;
      bytes += r.locked_pages * g.pageSize;
    }
  }
  return { pages, bytes };
}

/** Until SIGINT / SIGTERM, or until a daemon closes its connection (its mount stopped: the locks are gone). */
async function holdLocks(ctx: CommandContext, groups: readonly Group[]): Promise<void> {
  let stopListening: (() => void) | undefined;
  const stopped = new Promise<'signal'>((resolve) => {
    stopListening = ctx.deps.terminal?.listen((key) => {
      if (key === '\x03') resolve('signal');
    });
  });
  const lost = Promise.race(groups.map((g) => (g.client as ControlClient).closed.then(() => g.mount.mountpoint)));
  try {
    const why = await Promise.race([stopped, lost]);
    if (why !== 'signal') throw new CliError(why, 'its daemon closed the connection: the pages are no longer locked', EXIT.UNAVAILABLE);
  } finally {
    stopListening?.();
  }
}

async function runVmtouch(paths: readonly string[], command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<VmtouchOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  if (paths.length === 0) throw usageError('vmtouch', 'name the files or directories (PATH...)');
  if (opts.evict === true && (opts.touch === true || opts.lock === true)) throw usageError('vmtouch -e', 'evicts; it does not go with -t or -l');
  if (opts.quiet === true && opts.verbose === true) throw usageError('vmtouch -q -v', 'quiet and verbose: give one');
  const quiet = opts.quiet === true;
  const started = performance.now();
  const groups: Group[] = [];
  for (const located of await choosePaths(ctx, paths)) {
    let group = groups.find((g) => g.mount.mountpoint === located.mount.mountpoint);
    if (!group) groups.push((group = { mount: located.mount, asked: [], pageSize: 0, files: [] }));
    group.asked.push(located);
  }
  let current: Group | undefined;
  try {
    for (const g of groups) {
      current = g;
      g.client = await connect(ctx, g.mount, timeoutS);
      g.pageSize = checkHello(await g.client.call('hello', {})).page_size;
      g.files = await query(g, false);
    }
    let extra: Partial<VmtouchTotals> = {};
    if (opts.touch === true) {
      const t = await touchAll(ctx, groups, quiet);
      extra = { touched_pages: t.pages, touched_bytes: t.bytes };
    } else if (opts.evict === true) {
      const e = await evictAll(groups);
      extra = { evicted_pages: e.pages, evicted_bytes: e.bytes, ...(e.lockedFiles > 0 ? { locked_files: e.lockedFiles } : {}) };
    }
    let locked: { pages: number; bytes: number } | undefined;
    if (opts.lock === true) locked = await lockAll(groups);
    for (const g of groups) {
      current = g;
      g.files = await query(g, opts.verbose === true || opts.json === true);
    }
    current = undefined;
    const shown = groups.flatMap((g) => g.files).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const sum: VmtouchTotals = { ...totals(shown), ...extra, ...(locked ? { locked_pages: locked.pages, locked_bytes: locked.bytes } : {}) };
    if (opts.json === true) {
      ctx.deps.stdout(jsonText({ ...sum, files: shown.map((s) => ({ ...s.record, name: s.name, page_size: s.pageSize })) }));
    } else if (!quiet) {
      const lines = [...(opts.verbose === true ? renderMaps(shown) : []), ...(opts.verbose === true && shown.length > 0 ? [''] : []), ...renderSummary(sum, (performance.now() - started) / 1000)];
      if (locked) lines.push(`LOCKED ${locked.pages} pages (${humanSize(locked.bytes)}): Ctrl-C unlocks`);
      ctx.deps.stdout(`${lines.join('\n')}\n`);
    }
    if (locked) await holdLocks(ctx, groups);
  } catch (err) {
    throw controlCliError(err, current?.mount.mountpoint ?? paths.join(' '));
  } finally {
    for (const g of groups) g.client?.close();
  }
}

export const vmtouchCommand: CliCommand = {
  name: 'vmtouch',
  register(program, ctx) {
    program
      .command('vmtouch')
      .summary('page cache residency of files: show, touch (-t), evict (-e), lock (-l), as vmtouch(8)')
      .description('Show how much of files the page cache holds, or read them in (-t), drop them (-e) or lock them resident (-l).')
      .usage('[options] PATH...')
      .argument('[PATH...]', 'files and directories in machpager mounts (directories: their whole tree)')
      .addOption(new Option('-t, --touch', 'touch: read every page into the cache'))
      .addOption(new Option('-e, --evict', 'evict: write back the dirty pages and drop every page'))
      .addOption(new Option('-l, --lock', 'lock the pages resident (wire them) until this command ends; stays in the foreground'))
      .addOption(new Option('-v, --verbose', 'a map of each file\'s pages'))
      .addOption(new Option('-q, --quiet', 'print nothing (the exit code tells)'))
      .addOption(new Option('--json', 'print the totals and the per-file records as JSON'))
      .addOption(timeoutOption(10))
      .addHelpText('after', HELP_AFTER)
      .action(async (paths: string[], _opts: VmtouchOptions, command: Command) => {
        await runVmtouch(paths, command, ctx);
      });
  },
};
