/**
 * What every Mount of the API does through the daemon's control socket
 * (control/client.ts): the fault rules, crashes, stats, residency, sync and
 * evict, each call recorded with its outcome (ActionRecord) so that a
 * failing test can say what it did and what it dropped or failed. A mount
 * the API started (mount.ts) and one it found (attach.ts) differ only in
 * their daemon and how they go.
 */
import path from 'node:path';
import { ControlClient, ControlError, innerPath, type MachpagerMount } from '../control/client.js';
import type { ControlMethods, CrashParams } from '../control/protocol.js';
import { checkResult } from '../control/stats-record.js';
import type { ActionRecord, CrashOptions, CrashResult, FileRecord, InjectChange, InjectResult, StatsRecord } from './types.js';

export abstract class ControlledMount {
  readonly actions: ActionRecord[] = [];
  protected client: ControlClient | undefined;

  constructor(
    readonly mountpoint: string,
    readonly store: string,
    private readonly sink: ((a: ActionRecord) => void) | undefined,
  ) {}

  path(inner: string): string {
    return path.join(this.mountpoint, inner);
  }

  /** A path as the daemon takes it: inside the mount, from its root ('/a/b'). */
  private inner(p: string): string {
    if (path.isAbsolute(p) && (p === this.mountpoint || p.startsWith(`${this.mountpoint}/`))) return innerPath(this.mountpoint, p);
    return path.posix.join('/', p);
  }

  inject(change: string | InjectChange = {}): Promise<InjectResult> {
    const params: InjectChange = typeof change === 'string' ? { spec: change } : { ...change };
    return this.act('inject', { ...params }, async (c) => checkResult<InjectResult>(await c.call('inject', params), 'inject', [], ['spec']));
  }

  freeze(): Promise<InjectResult> {
    return this.inject({ freeze: true });
  }

  thaw(): Promise<InjectResult> {
    return this.inject({ freeze: false });
  }

  crash(options: CrashOptions = {}): Promise<CrashResult> {
    const params: CrashParams = {
      action: options.action ?? (options.at === undefined ? 'crash' : 'arm'),
      dry_run: options.dryRun,
      keep: options.keep,
      torn: options.torn,
      seed: options.seed,
      at: options.at,
      nth: options.nth,
      unmount: options.unmount,
    };
    return this.act('crash', params, async (c) => checkResult<CrashResult>(await c.call('crash', params), 'crash', [], ['action']));
  }

  stats(): Promise<StatsRecord> {
    return this.act('stats', {}, async (c) => checkResult<StatsRecord>(await c.call('stats', {}), 'stats', ['pagesize']), { quiet: true });
  }

  files(paths?: readonly string[]): Promise<FileRecord[]> {
    const params = paths === undefined ? {} : { paths: paths.map((p) => this.inner(p)) };
    return this.act('files', params, async (c) => (await c.call('files', params)) as FileRecord[], { quiet: true });
  }

  sync(p?: string): Promise<{ synced: string }> {
    const params = p === undefined ? {} : { path: this.inner(p) };
    return this.act('sync', params, async (c) => checkResult<{ synced: string }>(await c.call('sync', params), 'sync', [], ['synced']));
  }

  evict(p?: string): Promise<{ evicted_pages: number; files: number; locked_files?: number }> {
    const params: ControlMethods['evict']['params'] = p === undefined ? { all: true } : { path: this.inner(p), recursive: true };
    return this.act('evict', params, async (c) => checkResult<{ evicted_pages: number; files: number }>(await c.call('evict', params), 'evict', ['evicted_pages', 'files']));
  }

  protected async connect(): Promise<ControlClient> {
    if (this.client) return this.client;
    const mount: MachpagerMount = { mountpoint: this.mountpoint, source: this.store, owner: process.getuid?.() };
    const client = await ControlClient.connect(mount, { runtime: { uid: process.getuid?.() ?? 0, env: process.env }, timeoutMs: 60_000 });
    // A connection that fails is dropped; the next action connects again.
    void client.closed.then(() => {
      if (this.client === client) this.client = undefined;
    });
    this.client = client;
    return client;
  }

  protected async act<T>(action: string, params: Record<string, unknown>, work: (c: ControlClient) => Promise<T>, opts: { quiet?: boolean } = {}): Promise<T> {
    const startedAt = Date.now();
    try {
      const result = await work(await this.connect());
      this.record({ action, params, ok: true, ...(opts.quiet === true ? {} : { result }), startedAt, ms: Date.now() - startedAt });
      return result;
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'EIO';
      const message = err instanceof Error ? err.message : String(err);
      this.record({ action, params, ok: false, error: { code, message }, startedAt, ms: Date.now() - startedAt });
      throw err instanceof ControlError ? err : new ControlError(code, message, { cause: err });
    }
  }

  record(a: ActionRecord): void {
    this.actions.push(a);
    this.sink?.(a);
    if (process.env.MACHPAGER_API_LOG === '1') process.stderr.write(`machpager ${describeAction(a)}\n`);
  }

}

/** One line for a log: "crash {"keep":"random:1:0.5"} -> ok {...} (12 ms)". */
export function describeAction(a: ActionRecord): string {
  const outcome = a.ok ? `ok${a.result === undefined ? '' : ` ${JSON.stringify(a.result)}`}` : `failed ${a.error?.code}: ${a.error?.message}`;
  return `${a.action} ${JSON.stringify(a.params)} -> ${outcome} (${a.ms} ms)`;
}
