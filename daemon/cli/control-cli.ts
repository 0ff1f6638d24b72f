/**
 * What the inspection and control commands (stats, files, sync, evict,
 * policy, cache-size, top) share: finding the mount and connecting to its
 * daemon (daemon/control/client.ts), the -m/--mount option, and turning a
 * ControlError into the one error line and exit code every command fails
 * with:
 *
 *   machpager: /mnt/x: no machpager daemon serving it (is it mounted?)     69
 *   machpager: /mnt/x: permission denied: the mount belongs to another user 77
 *   machpager: /mnt/x: no answer to stats within 10 s                       69
 *   machpager: /mnt/x: malformed answer from the daemon: ...                76
 *   machpager: policy nope: unknown policy ...        (the daemon's EINVAL)  2
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { ControlClient, ControlError, locatePaths, resolveMount, type LocatedPath, type LocateEnv, type MachpagerMount } from '../control/client.js';
import { CliError, exitCodeFor, usageError } from './cli-error.js';
import type { CommandContext } from './commands/command.js';
import type { CliDeps } from './deps.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/** Calls that may write back a whole cache (sync, evict, cache-size) wait this long by default. */
export const LONG_CALL_TIMEOUT_MS = 300_000;

/** The exit code for a ControlError's code. */
export function exitForControl(code: string): ExitCode {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
      return EXIT.UNAVAILABLE;
    case 'EACCES':
    case 'EPERM':
      return EXIT.NOPERM;
    case 'EPROTO':
      return EXIT.PROTOCOL;
    case 'EINVAL':
      return EXIT.USAGE;
    default:
      return exitCodeFor(code, EXIT.FAILURE);
  }
}

/** Any error of a control command as a CliError about `what`. */
export function controlCliError(err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ControlError) return new CliError(what, err.message, exitForControl(err.code), { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(what, message, exitCodeFor(typeof code === 'string' ? code : undefined), { cause: err });
}

export function locateEnv(deps: CliDeps): LocateEnv {
  return { cwd: deps.cwd, uid: deps.uid, env: deps.env, ...(deps.mountinfo ? { mountinfo: deps.mountinfo } : {}) };
}

/** The wait between refreshes. */
export function sleeper(deps: CliDeps): (ms: number, signal?: AbortSignal) => Promise<void> {
  return deps.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {}));
}

/** -m, --mount PATH. */
export function mountOption(): Option {
  return new Option('-m, --mount <path>', 'the mount to ask: its mountpoint, or any path in it (default: the mount containing the current directory, else the only one)');
}

/** --timeout SECONDS. */
export function timeoutOption(defaultSeconds: number): Option {
  return new Option('--timeout <seconds>', `how long to wait for the daemon's answer (0: no limit)`).default(String(defaultSeconds));
}

/** A number of seconds from an option: positive (or 0 when `zero`). */
export function parseSeconds(text: string, what: string, options: { zero?: boolean } = {}): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && options.zero !== true)) {
    throw usageError(what, options.zero === true ? 'not a number of seconds (0 or more)' : 'not a positive number of seconds');
  }
  return n;
}

/** A count from an option or argument: a positive integer. */
export function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw usageError(what, 'not a positive whole number');
  return Number(text);
}

/** The mount to talk to, from a MOUNTPOINT argument or -m (both given: they must name the same). */
export async function chooseMount(ctx: CommandContext, given: string | undefined): Promise<MachpagerMount> {
  try {
    return await resolveMount(given, locateEnv(ctx.deps));
  } catch (err) {
    if (err instanceof ControlError && (err.code === 'ENOENT' || err.code === 'EINVAL')) {
      throw new CliError('', err.message, err.code === 'ENOENT' ? EXIT.NOINPUT : EXIT.USAGE, { cause: err });
    }
    throw controlCliError(err, given ?? '.');
  }
}

/** Local paths to their mounts (an error names the path). */
export async function choosePaths(ctx: CommandContext, given: readonly string[]): Promise<LocatedPath[]> {
  try {
    return await locatePaths(given, locateEnv(ctx.deps));
  } catch (err) {
    if (err instanceof ControlError && err.code === 'ENOENT') throw new CliError('', err.message, EXIT.NOINPUT, { cause: err });
    throw controlCliError(err, given.join(' '));
  }
}

/** Connected to the daemon serving `mount`; errors name the mountpoint. */
export async function connect(ctx: CommandContext, mount: MachpagerMount, timeoutSeconds?: number): Promise<ControlClient> {
  try {
    return await ControlClient.connect(mount, {
      runtime: { uid: ctx.deps.uid, env: { ...ctx.deps.env } },
      ...(timeoutSeconds !== undefined ? { timeoutMs: Math.round(timeoutSeconds * 1000) } : {}),
    });
  } catch (err) {
    throw controlCliError(err, mount.mountpoint);
  }
}

/** Connect, run `fn`, close; a failure is a CliError naming `what` (default: the mountpoint). */
export async function withClient<T>(
  ctx: CommandContext,
  mount: MachpagerMount,
  fn: (client: ControlClient) => Promise<T>,
  options: { timeoutSeconds?: number; what?: string } = {},
): Promise<T> {
  const client = await connect(ctx, mount, options.timeoutSeconds);
  try {
    return await fn(client);
  } catch (err) {
    throw controlCliError(err, options.what ?? mount.mountpoint);
  } finally {
    client.close();
  }
}

/** The mount named by the positional argument and/or -m (both: they must agree). */
export function mountArg(positional: string | undefined, option: string | undefined, command: Command): string | undefined {
  if (positional !== undefined && option !== undefined && positional !== option) {
    throw usageError(`${command.name()} ${positional}`, `and -m ${option} name two mounts; give one`);
  }
  return positional ?? option;
}

/**
 * A command that takes a VALUE and the mount the way stats does, `[VALUE]
 * [MOUNTPOINT]`: one word alone is the value if `isValue` says so, else the
 * mount (`policy /mnt/x` shows, `policy lru /mnt/x` switches). -m may name
 * the mount too; both must agree.
 */
export function valueAndMount(
  first: string | undefined,
  second: string | undefined,
  option: string | undefined,
  isValue: (word: string) => boolean,
  command: Command,
): { value: string | undefined; mount: string | undefined } {
  if (second !== undefined) return { value: first, mount: mountArg(second, option, command) };
  if (first === undefined || isValue(first)) return { value: first, mount: option };
  return { value: undefined, mount: mountArg(first, option, command) };
}

/** JSON for stdout: one document, indented. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
