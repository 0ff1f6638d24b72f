/**
 * The control FIFO (`mount --control-fifo PATH`): one command a line, as
 * LazyFS reads its faults FIFO, for shells and programs in any language
 * (`echo crash > /tmp/mp.fifo`). Each line becomes a call of the control
 * verbs the socket offers (the same checks, the same change reports); the
 * answer, or the error, is one line of the daemon log:
 * `fifo: sync /: ok {"synced":"/"}`.
 *
 *   crash [--begin|--status|--disarm|--power-on] [--dry-run] [--keep SPEC] [--torn] [--seed N] [--at SPEC [--nth N]] [--unmount]
 *   inject SPEC | inject --clear | inject --on | inject --off
 *   freeze | thaw                     inject --freeze / --thaw
 *   sync [PATH]                       PATH inside the mount ('/db/x'); default all
 *   evict [PATH] [--recursive]        default: every file
 *   stats                             a summary line (LazyFS's display-cache-usage)
 *   lazyfs::clear-cache               crash (LazyFS's spelling)
 *   lazyfs::cache-checkpoint          sync /
 *   lazyfs::display-cache-usage       stats
 *
 * Blank lines and lines starting with '#' are skipped. The FIFO is opened
 * read-write so that it never reads end-of-file when a writer closes (what
 * LazyFS does too), and without blocking: the daemon's event loop serves
 * the mount.
 */
import { execFile } from 'node:child_process';
import { constants, open } from 'node:fs';
import { lstat, rm } from 'node:fs/promises';
import net from 'node:net';
import { promisify } from 'node:util';
import { ControlError } from './control-error.js';

export interface FifoCommand {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

/** One line as a control call; undefined for a blank or comment line; EINVAL ControlError for anything else. */
export function parseFifoCommand(line: string): FifoCommand | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const [verb = '', ...args] = text.split(/\s+/);
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const words = args.filter((a) => !a.startsWith('--'));
  const only = (allowed: readonly string[], maxWords: number): void => {
    for (const f of flags) if (!allowed.includes(f)) throw new ControlError('EINVAL', `${verb}: unknown option ${f}`);
    if (words.length > maxWords) throw new ControlError('EINVAL', `${verb}: too many arguments (${words.join(' ')})`);
  };
  switch (verb) {
    case 'lazyfs::clear-cache':
      return { method: 'crash', params: {} };
    case 'lazyfs::cache-checkpoint':
      return { method: 'sync', params: {} };
    case 'lazyfs::display-cache-usage':
    case 'stats':
      only([], 0);
      return { method: 'stats', params: {} };
    case 'crash':
      return { method: 'crash', params: crashParams(args) };
    case 'inject': {
      only(['--clear', '--on', '--off', '--freeze', '--thaw'], 1);
      const params: Record<string, unknown> = {};
      if (words[0] !== undefined) params.spec = words[0];
      if (flags.has('--clear')) params.clear = true;
      if (flags.has('--on')) params.enabled = true;
      if (flags.has('--off')) params.enabled = false;
      if (flags.has('--freeze')) params.freeze = true;
      if (flags.has('--thaw')) params.freeze = false;
      return { method: 'inject', params };
    }
    case 'freeze':
    case 'thaw':
      only([], 0);
      return { method: 'inject', params: { freeze: verb === 'freeze' } };
    case 'sync':
      only([], 1);
      return { method: 'sync', params: words[0] === undefined ? {} : { path: words[0] } };
    case 'evict':
      only(['--recursive'], 1);
      return { method: 'evict', params: words[0] === undefined ? { all: true } : { path: words[0], ...(flags.has('--recursive') ? { recursive: true } : {}) } };
    default:
      throw new ControlError('EINVAL', `unknown command '${verb}' (crash, inject, freeze, thaw, sync, evict, stats, lazyfs::clear-cache, lazyfs::cache-checkpoint, lazyfs::display-cache-usage)`);
  }
}

/** crash's options as the control verb takes them (CrashParams, from the crash command's own words); --at arms a crash point. */
function crashParams(args: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new ControlError('EINVAL', `crash: ${a} needs a value`);
      return v;
    };
    const count = (): number => {
      const v = value();
      if (!/^[0-9]+$/.test(v)) throw new ControlError('EINVAL', `crash: ${a} takes a whole number, not '${v}'`);
      return Number(v);
    };
    if (a === '--dry-run') params.dry_run = true;
    else if (a === '--torn') params.torn = true;
    else if (a === '--unmount') params.unmount = true;
    else if (a === '--keep') params.keep = value();
    else if (a === '--seed') params.seed = count();
    else if (a === '--nth') params.nth = count();
    else if (a === '--at') {
      params.at = value();
      params.action = 'arm';
    } else if (a === '--begin') params.action = 'begin';
    else if (a === '--disarm') params.action = 'disarm';
    else if (a === '--power-on') params.action = 'power-on';
    else if (a === '--status') params.action = 'status';
    else throw new ControlError('EINVAL', `crash: unknown argument ${a}`);
  }
  return params;
}

export interface ControlFifoOptions {
  readonly path: string;
  /** A control verb, called in process (the socket's handlers). */
  readonly call: (method: string, params: Record<string, unknown>) => Promise<unknown>;
  readonly log: { info(line: string): void; warn(line: string): void };
}

const run = promisify(execFile);
const openFd = promisify(open);

export class ControlFifo {
  private buffered = '';
  /** Commands run one after another, in the order they were written. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: ControlFifoOptions,
    private readonly socket: net.Socket,
    private readonly made: boolean,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.take(chunk));
    socket.on('error', (err) => options.log.warn(`control fifo ${options.path}: ${err.message}`));
  }

  /** Open PATH (made with mkfifo when it does not exist; anything but a FIFO there is ENOTSUP). */
  static async open(options: ControlFifoOptions): Promise<ControlFifo> {
    const made = await ensureFifo(options.path);
    // A plain descriptor, not a FileHandle: the socket owns it and closes it.
    const fd = await openFd(options.path, constants.O_RDWR | constants.O_NONBLOCK);
    const socket = new net.Socket({ fd, readable: true, writable: false });
    return new ControlFifo(options, socket, made);
  }

  /** Stop reading (commands under way finish); a FIFO this daemon made is removed. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.queue;
    if (this.made) await rm(this.options.path, { force: true });
  }

  /** Wait for the commands read so far (tests). */
  idle(): Promise<void> {
    return this.queue;
  }

  private take(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      this.queue = this.queue.then(() => this.runLine(line));
    }
  }

  private async runLine(line: string): Promise<void> {
    const { log, call } = this.options;
    let command: FifoCommand | undefined;
    try {
      command = parseFifoCommand(line);
      if (!command) return;
      const answer = await call(command.method, command.params);
      log.info(`fifo: ${line.trim()}: ok ${summarise(command.method, answer)}`);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      log.warn(`fifo: ${line.trim()}: failed${typeof code === 'string' ? ` ${code}` : ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** What a log line says of an answer: stats as a few counts, the rest as JSON (the records are small). */
function summarise(method: string, answer: unknown): string {
  if (method === 'stats' && typeof answer === 'object' && answer !== null) {
    const a = answer as Record<string, unknown>;
    const pick = ['frames', 'free_count', 'active_count', 'inactive_count', 'dirty_count', 'pageins', 'pageouts', 'faults'];
    return JSON.stringify(Object.fromEntries(pick.filter((k) => k in a).map((k) => [k, a[k]])));
  }
  return JSON.stringify(answer);
}

/** Make the FIFO when nothing is at PATH (true: made here); refuse anything that is not one. */
async function ensureFifo(path: string): Promise<boolean> {
  const st = await lstat(path).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  });
  if (st) {
    if (!st.isFIFO()) throw new ControlError('ENOTSUP', `${path} exists and is not a FIFO`);
    return false;
  }
  // Node has no mkfifo(3); coreutils' does it.
  await run('mkfifo', ['-m', '600', path]);
  return true;
}
