/**
 * sd_notify(3) for a mount served in the foreground under systemd
 * (Type=notify, systemd/machpager@.service): READY=1 once the mount
 * answers, STOPPING=1 when it starts to sync and unmount, and STATUS=
 * lines that `systemctl status` shows.
 *
 * Why a child process. The protocol is one AF_UNIX datagram to the socket
 * in $NOTIFY_SOCKET, and Node has no AF_UNIX datagram sockets (dgram is
 * UDP only, net is streams only). What is left: a native addon (npm's
 * sd-notify needs libsystemd-dev and a second native build; unix-dgram
 * likewise), python3 or socat (not on every machine), or systemd-notify(1),
 * which ships in the systemd package itself: wherever a service manager
 * sets NOTIFY_SOCKET, systemd-notify is installed. We run it, never
 * synchronously (this process serves the mount), with the assignments as
 * arguments:
 *   - as root it sends with its parent's pid (ours) in the message's
 *     credentials, so systemd attributes it to the main process; otherwise
 *     with its own pid, which the unit accepts with NotifyAccess=all;
 *   - it then waits until the manager has processed the message (a
 *     barrier, systemd ≥ 246), so the message of a short-lived child is not
 *     dropped for want of a live sender to attribute it to;
 *   - systemd 252 (Debian 12) has no --stopping, so every state goes as a
 *     raw assignment (READY=1, STOPPING=1, STATUS=...), which every
 *     version takes.
 * Messages go one at a time, in order (READY=1 before STOPPING=1). Without
 * NOTIFY_SOCKET nothing runs. A failure is logged, never fatal: the mount
 * serves either way, and systemd reports a missing READY=1 itself.
 */
import { execFile } from 'node:child_process';
import { errorMessage } from '../cli/cli-error.js';

export const NOTIFY_SOCKET_ENV = 'NOTIFY_SOCKET';

export interface SdNotifyOptions {
  /** The environment: NOTIFY_SOCKET, and PATH to find the command. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where failures are reported (one line, no "machpager: "). */
  readonly log: (line: string) => void;
  /** The sender (default systemd-notify, found on PATH). */
  readonly command?: string;
  /** Our pid, sent as MAINPID= with READY=1 (default process.pid). */
  readonly pid?: number;
  /** How long one message may take, barrier included (default 10 s; systemd-notify's own barrier gives up after 5 s). */
  readonly timeoutMs?: number;
}

/** A STATUS= value: one line (the protocol separates assignments with newlines). */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

export class SdNotifier {
  /** Whether a service manager listens (NOTIFY_SOCKET is set). */
  readonly active: boolean;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly log: (line: string) => void;
  private readonly command: string;
  private readonly pid: number;
  private readonly timeoutMs: number;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(options: SdNotifyOptions) {
    const socket = options.env[NOTIFY_SOCKET_ENV];
    this.active = socket !== undefined && socket !== '';
    this.env = options.env;
    this.log = options.log;
    this.command = options.command ?? 'systemd-notify';
    this.pid = options.pid ?? process.pid;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The mount answers: READY=1, MAINPID= (in case a wrapper started us) and the status line. */
  ready(status: string): void {
    this.send([`--pid=${this.pid}`, 'READY=1', `STATUS=${oneLine(status)}`]);
  }

  /** Syncing and unmounting has begun. */
  stopping(status: string): void {
    this.send(['STOPPING=1', `STATUS=${oneLine(status)}`]);
  }

  status(status: string): void {
    this.send([`STATUS=${oneLine(status)}`]);
  }

  /** Resolves once every message sent so far has gone (or failed), or after `timeoutMs`. */
  async idle(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.pending === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log(`systemd-notify: ${this.pending} message(s) still unsent after ${timeoutMs / 1000} s; not waiting for them`);
        resolve();
      }, timeoutMs);
    });
    try {
      await Promise.race([this.queue, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private send(args: readonly string[]): void {
    if (!this.active) return;
    this.pending++;
    this.queue = this.queue.then(() => this.run(args)).finally(() => {
      this.pending--;
    });
  }

  /** One systemd-notify; resolves when it has exited (a failure is logged, not thrown). */
  private run(args: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      execFile(this.command, args, { env: this.env, timeout: this.timeoutMs, encoding: 'utf8' }, (err, _stdout, stderr) => {
        if (err) {
          const why = stderr.trim() !== '' ? stderr.trim().split('\n').join('; ') : errorMessage(err);
          const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` (${this.command} not found: it comes with systemd)` : '';
          this.log(`could not tell systemd ${args.filter((a) => !a.startsWith('-')).join(' ')}: ${why}${hint}`);
        }
        resolve();
      });
    });
  }
}
