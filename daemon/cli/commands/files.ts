/**
 * `machpager files [PATH...]`: per file, what the page cache holds of it,
 * in the manner of fincore(1): RES (bytes resident), PAGES (pages
 * resident), DIRTY (bytes dirty), SIZE, RES% (the share of the file
 * resident), FAULTS, HITS, FILE. Without PATH: every file the kernel holds
 * pages of (or keeps an object for). `-R` goes into directories.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { FileRecord } from '../../control/protocol.js';
import { checkFileRecords, checkHello } from '../../control/stats-record.js';
import type { MachpagerMount } from '../../control/client.js';
import { usageError } from '../cli-error.js';
import { chooseMount, choosePaths, jsonText, mountOption, parseSeconds, timeoutOption, withClient } from '../control-cli.js';
import { humanSize, percent, table } from '../format.js';
import type { CliCommand, CommandContext } from './command.js';

interface FilesOptions {
  mount?: string;
  json?: boolean;
  recursive?: boolean;
  bytes?: boolean;
  total?: boolean;
  timeout: string;
}

/** A file as `files` shows it: the daemon's record, its mount, its page size and the name to print. */
export interface ShownFile {
  readonly record: FileRecord;
  readonly mountpoint: string;
  readonly pageSize: number;
  /** The local name: as the user typed it (and below it, for -R), else mountpoint + path. */
  readonly name: string;
}

const HELP_AFTER = `
Columns (as fincore's): RES bytes resident, PAGES pages resident, DIRTY bytes
dirty (written, not yet returned to the pager), SIZE the file's size, RES% the
share of the file's pages resident, FAULTS and HITS the page faults and page
hits on the file, FILE; CKSUM, shown when a file has any, the reads of it
that found its stored data damaged (they failed with EIO). Sizes are human-readable (K, M, G: powers of 1024);
-b prints exact bytes. --json prints the daemon's records (page counts, not
bytes; fields and units: README, "Statistics and control"), each with the
mountpoint it belongs to.

A PATH that is a directory stands for the files in it (with -R: in its whole
tree). PATHs may be relative, may go through symlinks and may lie in different
mounts; -m names the mount only when no PATH is given.

Examples:
  machpager files                         every file with pages in the cache
  machpager files -R mnt/src --total      a tree, and its total
  machpager files --json big.db | jq '.[0].dirty_pages'
`;

/** The name to print for a record of a mount whose requested paths were `asked` (inner → given). */
export function displayName(record: FileRecord, mountpoint: string, asked: readonly { inner: string; given: string }[]): string {
  if (record.path === '') return `(deleted, inode ${record.ino})`;
  let best: { inner: string; given: string } | undefined;
  for (const a of asked) {
    const under = a.inner === '/' || record.path === a.inner || record.path.startsWith(`${a.inner}/`);
    if (under && (best === undefined || a.inner.length > best.inner.length)) best = a;
  }
  if (best === undefined) return path.posix.join(mountpoint, record.path);
  if (record.path === best.inner) return best.given;
  const rest = best.inner === '/' ? record.path.slice(1) : record.path.slice(best.inner.length + 1);
  return best.given.endsWith('/') ? `${best.given}${rest}` : `${best.given}/${rest}`;
}

/**
 * The fincore-style table (lines without newlines). A HELD column (pages
 * whose write failed, held until the store takes them) and a CKSUM column
 * (reads that found damaged data) and a SHARED column (pages a snapshot
 * shares with its source, stored once) appear when any file has some.
 */
export function renderFiles(files: readonly ShownFile[], options: { bytes?: boolean; total?: boolean } = {}): string[] {
  const size = (n: number): string => (options.bytes === true ? String(n) : humanSize(n));
  const held = files.some((s) => s.record.held_pages > 0);
  const heldCell = (pages: number, pageSize: number): string[] => (held ? [size(pages * pageSize)] : []);
  // Damaged data is rare too: that column shows only when there is something to show.
  const damaged = files.some((s) => s.record.checksum_errors > 0);
  // Pages a snapshot shares with its source: only when some file has some.
  const shared = files.some((s) => (s.record.shared_pages ?? 0) > 0);
  const rows = files.map(({ record: f, pageSize, name }) => [
    size(f.resident_pages * pageSize),
    String(f.resident_pages),
    size(f.dirty_pages * pageSize),
    ...heldCell(f.held_pages, pageSize),
    size(f.size),
    ...(shared ? [size((f.shared_pages ?? 0) * pageSize)] : []),
    percent(f.resident_pages, f.pages),
    String(f.faults),
    String(f.hits),
    ...(damaged ? [String(f.checksum_errors)] : []),
    name,
  ]);
  if (options.total === true) {
    const sum = (get: (s: ShownFile) => number): number => files.reduce((n, s) => n + get(s), 0);
    rows.push([
      size(sum((s) => s.record.resident_pages * s.pageSize)),
      String(sum((s) => s.record.resident_pages)),
      size(sum((s) => s.record.dirty_pages * s.pageSize)),
      ...(held ? [size(sum((s) => s.record.held_pages * s.pageSize))] : []),
      size(sum((s) => s.record.size)),
      ...(shared ? [size(sum((s) => (s.record.shared_pages ?? 0) * s.pageSize))] : []),
      percent(sum((s) => s.record.resident_pages), sum((s) => s.record.pages)),
      String(sum((s) => s.record.faults)),
      String(sum((s) => s.record.hits)),
      ...(damaged ? [String(sum((s) => s.record.checksum_errors))] : []),
      'total',
    ]);
  }
  const heads = ['RES', 'PAGES', 'DIRTY', ...(held ? ['HELD'] : []), 'SIZE', ...(shared ? ['SHARED'] : []), 'RES%', 'FAULTS', 'HITS', ...(damaged ? ['CKSUM'] : []), 'FILE'];
  return table(heads, rows, [...heads.slice(0, -1).map(() => 'right' as const), 'left' as const]);
}

interface Group {
  readonly mount: MachpagerMount;
  readonly asked: { inner: string; given: string }[];
}

async function fetchGroup(ctx: CommandContext, group: Group, recursive: boolean, timeoutS: number): Promise<ShownFile[]> {
  const what = group.asked.length === 1 ? (group.asked[0]?.given ?? group.mount.mountpoint) : group.mount.mountpoint;
  return withClient(
    ctx,
    group.mount,
    async (client) => {
      const hello = checkHello(await client.call('hello', {}));
      const params: { paths?: string[]; recursive?: boolean } = group.asked.length > 0 ? { paths: group.asked.map((a) => a.inner) } : {};
      if (recursive) params.recursive = true;
      const records = checkFileRecords(await client.call('files', params));
      const seen = new Set<string>();
      const out: ShownFile[] = [];
      for (const record of records) {
        const key = `${record.ino}\0${record.path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ record, mountpoint: group.mount.mountpoint, pageSize: hello.page_size, name: displayName(record, group.mount.mountpoint, group.asked) });
      }
      return out;
    },
    { timeoutSeconds: timeoutS, what },
  );
}

async function runFiles(paths: readonly string[], command: Command, ctx: CommandContext): Promise<void> {
  const opts = command.opts<FilesOptions>();
  const timeoutS = parseSeconds(opts.timeout, `--timeout ${opts.timeout}`, { zero: true });
  const groups: Group[] = [];
  if (paths.length === 0) {
    groups.push({ mount: await chooseMount(ctx, opts.mount), asked: [] });
  } else {
    if (opts.mount !== undefined) throw usageError(`-m ${opts.mount}`, 'PATHs name their mounts; -m is for listing a whole mount (no PATH)');
    for (const located of await choosePaths(ctx, paths)) {
      let group = groups.find((g) => g.mount.mountpoint === located.mount.mountpoint);
      if (!group) groups.push((group = { mount: located.mount, asked: [] }));
      group.asked.push({ inner: located.inner, given: located.given });
    }
  }
  const shown: ShownFile[] = [];
  for (const g of groups) shown.push(...(await fetchGroup(ctx, g, opts.recursive === true, timeoutS)));
  shown.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  if (opts.json === true) {
    ctx.deps.stdout(jsonText(shown.map((s) => ({ ...s.record, mountpoint: s.mountpoint }))));
    return;
  }
  if (shown.length === 0) return;
  ctx.deps.stdout(`${renderFiles(shown, { bytes: opts.bytes === true, total: opts.total === true }).join('\n')}\n`);
}

export const filesCommand: CliCommand = {
  name: 'files',
  register(program, ctx) {
    program
      .command('files')
      .summary('per file: pages resident and dirty, faults, hits (fincore style)')
      .description('Print, per file, what the page cache holds of it.')
      .usage('[options] [PATH...]')
      .argument('[PATH...]', 'files (or, with -R, directories) in machpager mounts; default: every file the cache holds pages of')
      .addOption(new Option('-R, --recursive', 'go into directories'))
      .addOption(new Option('-b, --bytes', 'sizes in bytes, not human-readable'))
      .addOption(new Option('-c, --total', 'add a total line'))
      .addOption(new Option('--json', 'print the records as JSON'))
      .addOption(mountOption())
      .addOption(timeoutOption(10))
      .addHelpText('after', HELP_AFTER)
      .action(async (paths: string[], _opts: FilesOptions, command: Command) => {
        await runFiles(paths, command, ctx);
      });
  },
};
