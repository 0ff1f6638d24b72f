/**
 * A notify socket for tests: fixtures/notify-listener.py (python3, from
 * scripts/setup) binds an AF_UNIX datagram socket, as systemd does for a
 * Type=notify unit, and reports each message with its sender's pid. Node
 * cannot bind such a socket itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { until } from '../cli/harness.js';

const LISTENER = path.join(import.meta.dirname, 'fixtures', 'notify-listener.py');

export interface NotifyMessage {
  /** The assignments, in the order sent (KEY=VALUE). */
  readonly fields: string[];
  /** The sender's pid, from its credentials. */
  readonly pid: number | null;
}

export class NotifySocket {
  readonly messages: NotifyMessage[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private listening = false;
  private errors = '';

  private constructor(readonly path: string) {
    this.child = spawn('python3', [LISTENER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    let buffered = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const record = JSON.parse(buffered.slice(0, nl)) as { listening?: string; message?: string; pid?: number | null };
        buffered = buffered.slice(nl + 1);
        if (record.listening !== undefined) this.listening = true;
        if (record.message !== undefined) this.messages.push({ fields: record.message.split('\n').filter((f) => f !== ''), pid: record.pid ?? null });
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.errors += chunk.toString();
    });
  }

  /** Bind `socketPath` and resolve once it listens. */
  static async open(socketPath: string): Promise<NotifySocket> {
    const s = new NotifySocket(socketPath);
    await until(() => {
      if (s.child.exitCode !== null) throw new Error(`the notify listener exited: ${s.errors}`);
      return s.listening;
    }, `the notify listener on ${socketPath}`);
    return s;
  }

  /** The messages with field `field` (e.g. 'READY=1'), barrier messages left out. */
  with(field: string): NotifyMessage[] {
    return this.messages.filter((m) => m.fields.includes(field));
  }

  /** Wait for a message with `field`, after the first `skip` such messages. */
  async waitFor(field: string, skip = 0, timeoutMs?: number): Promise<NotifyMessage> {
    await until(() => this.with(field).length > skip, `${field} on the notify socket (so far: ${JSON.stringify(this.messages)})`, timeoutMs);
    const m = this.with(field)[skip];
    if (!m) throw new Error(`no ${field}`);
    return m;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }
}

/** The value of `KEY=` in a message, or undefined. */
export function field(m: NotifyMessage, key: string): string | undefined {
  const f = m.fields.find((x) => x.startsWith(`${key}=`));
  return f === undefined ? undefined : f.slice(key.length + 1);
}
