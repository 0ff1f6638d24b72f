/**
 * The two ways mount(8) starts machpager, turned into `machpager mount ...`.
 *
 * 1. `mount -t machpager SPEC DIR -o OPTS` (and fstab type `machpager`) runs
 *    the helper /sbin/mount.machpager the way mount(8) runs every
 *    /sbin/mount.TYPE:
 *
 *        mount.machpager SPEC DIR [-sfnv] [-N NS] [-o OPTIONS] [-t TYPE]
 *
 *    -f is mount(8)'s "fake" (check, do not mount: our --dry-run), -v
 *    verbose, -s sloppy and -n no-mtab mean nothing to us, -t is ignored,
 *    -N (another mount namespace) is refused. The helper strips the
 *    fstab-only options and always daemonizes: mount(8) waits for it.
 *    Installed as /sbin/mount.fuse.machpager too, it also serves fstab type
 *    `fuse.machpager` (mount(8) prefers it to /sbin/mount.fuse).
 *
 * 2. `mount -t fuse.machpager SPEC DIR -o OPTS` without that link runs
 *    /sbin/mount.fuse, which runs `machpager SPEC DIR -o OPTS` (machpager
 *    found on PATH). So `machpager` whose first argument is not a command
 *    and is followed by a second non-option argument means
 *    `machpager mount --daemon SPEC DIR ...`, in the libfuse tools' manner
 *    (sshfs SRC DIR): a daemon by default, -f or -d keeps it in the
 *    foreground.
 *
 * SPEC `default`, `none` or `machpager` means the embedded default store
 * (store-location.ts); `machpager#SPEC` (the old fstab `fuse` form) is SPEC.
 */
import { usageError } from './cli-error.js';
import { escapeOption, isFstabOnly, splitOptionList } from './mount-options.js';

export const HELPER_USAGE = 'usage: mount.machpager SPEC DIR [-sfnv] [-o OPTIONS]';

export interface HelperCommand {
  /** The arguments for `machpager` (starting with 'mount'). */
  readonly args: string[];
  /** -v: print the command before running it. */
  readonly verbose: boolean;
}

function spec(s: string): string {
  return s.startsWith('machpager#') ? s.slice('machpager#'.length) : s;
}

/** The -o lists without the fstab-only options, as one list. */
function cleanOptions(lists: readonly string[]): string[] {
  const kept = lists.flatMap((l) => splitOptionList(l)).filter((o) => !isFstabOnly(o));
  return kept.length === 0 ? [] : ['-o', kept.map(escapeOption).join(',')];
}

/** Translate the arguments mount(8) gives /sbin/mount.machpager. Throws a usage CliError. */
export function helperMountArgs(argv: readonly string[]): HelperCommand {
  const positional: string[] = [];
  const lists: string[] = [];
  let fake = false;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-o' || a === '-t' || a === '-N') {
      const value = argv[++i];
      if (value === undefined) throw usageError(`mount.machpager ${a}`, `needs a value (${HELPER_USAGE})`);
      if (a === '-o') lists.push(value);
      if (a === '-N') throw usageError(`mount.machpager -N ${value}`, 'mounting in another mount namespace is not supported');
    } else if (a.startsWith('-o') && a.length > 2) {
      lists.push(a.slice(2));
    } else if (a.startsWith('-t') && a.length > 2) {
      // the type: ours either way
    } else if (a.startsWith('-N')) {
      throw usageError(`mount.machpager ${a}`, 'mounting in another mount namespace is not supported');
    } else if (/^-[sfnv]+$/.test(a)) {
      if (a.includes('f')) fake = true;
      if (a.includes('v')) verbose = true;
    } else if (a.startsWith('-') && a !== '-') {
      throw usageError(`mount.machpager ${a}`, `unknown option (${HELPER_USAGE})`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) throw usageError('mount.machpager', `${positional.length < 2 ? 'missing SPEC or DIR' : `too many arguments: ${positional.slice(2).join(' ')}`} (${HELPER_USAGE})`);
  const [source, dir] = positional as [string, string];
  const args = ['mount', '--daemon', ...(fake ? ['--dry-run'] : []), ...cleanOptions(lists), '--', spec(source), dir];
  return { args, verbose };
}

/**
 * `machpager SPEC DIR [options]` (as /sbin/mount.fuse runs it): the mount
 * command's arguments, or undefined when `argv` is an ordinary command line.
 */
export function bareMountArgs(argv: readonly string[], commands: readonly string[]): string[] | undefined {
  const [first, second] = argv;
  if (first === undefined || second === undefined) return undefined;
  if (first.startsWith('-') || second.startsWith('-') || commands.includes(first)) return undefined;
  const rest = argv.slice(2);
  const foreground = rest.some((a) => a === '-f' || a === '--foreground' || a === '-d' || a === '--debug');
  return ['mount', ...(foreground ? [] : ['--daemon']), ...rest, '--', spec(first), second];
}
