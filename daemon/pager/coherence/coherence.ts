/**
 * Several mounts of one store kept coherent by their pagers, the Mach way:
 * a page may be held by many kernels for reading or by one for writing.
 * The kernels never know; each pager recalls its own kernel's copies with
 * memory_object_lock_request when another mount asks.
 *
 * - Pages are supplied read-only (lock_value WRITE). A write faults, the
 *   kernel sends data_unlock (or a data_request for write access), and
 *   before answering, the pager broadcasts an invalidate (i) for the pages:
 *   every other mount writes its dirty copies to the store, drops them
 *   (lock_request RETURN_DIRTY + flush), remembers that this mount may now
 *   write them, and acknowledges. Only then is write granted.
 * - A read miss on pages some other mount may hold writable (it said so
 *   with an invalidate; or the file was never asked about since this mount
 *   joined) broadcasts a recall (r): the writer returns its dirty pages to
 *   the store and keeps them read-only (lock_request RETURN_DIRTY, lock
 *   WRITE), then acknowledges; the reader then reads the store. A read miss
 *   on pages nobody else may write costs nothing extra.
 * - Order: the channel delivers every message to every mount in one order
 *   (PeerLink). Of two overlapping requests where one wants to write, the
 *   one delivered first wins: a mount holds back its ack to a request that
 *   came after its own (or that met a local request which sent nothing)
 *   until its own has been answered to its kernel, and answers at once a
 *   request that came before its own. Every mount sees the same order, so
 *   no two wait for each other.
 * - A mount that dies stops beating; once declared dead nobody waits for
 *   its acks. Its dirty pages are lost (they were never fsynced).
 *
 * Guarantee: once write() on one mount has returned, a read() on any
 * other mount of the bytes it wrote sees them (within the size that mount
 * knows: names and sizes travel with the catalog, see coherence.md).
 */
import { performance } from 'node:perf_hooks';
import { PagerError } from '../errors.js';
import type { Pager } from '../pager.js';
import type { PagerGate } from './gate.js';
import { parsePeerMessage, type PeerLink, type PeerMessage } from './peer-link.js';
import { addRange, overlaps, removeRange, type Ranges } from './ranges.js';

/** "The whole file" in pages: a recall of a file this mount knows nothing of yet. */
const WHOLE = 2 ** 40;
/** Past this many bytes a names message says only "reload". */
const MAX_NAMES_PAYLOAD = 7000;

export interface CoherenceStatistics {
  /** Other mounts alive (a gauge). */
  peers: number;
  recalls_sent: number;
  invalidations_sent: number;
  recalls_received: number;
  invalidations_received: number;
  /** Dirty pages written to the store because another mount asked for them. */
  pages_recalled: number;
  /** Requests of other mounts held back until a local one was answered. */
  deferred: number;
  /** Faults here that waited for other mounts, and the milliseconds they waited in all. */
  waits: number;
  wait_ms: number;
  /** Namespace changes announced and heard. */
  names_sent: number;
  names_received: number;
  /** Acks no longer waited for: their mount died. */
  acks_abandoned: number;
}

export function emptyCoherenceStatistics(): CoherenceStatistics {
  return {
    peers: 0,
    recalls_sent: 0,
    invalidations_sent: 0,
    recalls_received: 0,
    invalidations_received: 0,
    pages_recalled: 0,
    deferred: 0,
    waits: 0,
    wait_ms: 0,
    names_sent: 0,
    names_received: 0,
    acks_abandoned: 0,
  };
}

interface FileState {
  /** A recall of the whole file was answered since this mount joined: `remote` is all another mount may hold writable. */
  known: boolean;
  remote: Ranges;
}

interface LocalOp {
  readonly ino: number;
  first: number;
  end: number;
  readonly write: boolean;
  readonly seq: number;
  /** Sent nothing (nobody else may hold the pages): it precedes every request heard while it runs. */
  silent: boolean;
  /** Its own message came back on the channel: requests heard from now on come after it. */
  echoed: boolean;
  pending: Set<number>;
  failed: boolean;
  finished: boolean;
  acked: () => void;
  refused: (err: Error) => void;
  done: Promise<void>;
  finish: () => void;
}

export class PagerCoherence {
  private readonly files = new Map<number, FileState>();
  private readonly pagers = new Map<number, Pager>();
  private readonly ops = new Map<number, LocalOp>();
  private seq = 0;
  readonly stats = emptyCoherenceStatistics();
  /** Another mount changed catalog rows (their keys as JSON; undefined: too many, reload). */
  onNames: ((keys: string | undefined) => void) | undefined;

  constructor(
    private readonly link: PeerLink,
    private readonly log: (line: string) => void,
  ) {
    link.onMessage((payload) => this.receive(payload));
    link.onLiveChange((live) => this.liveChanged(live));
    this.stats.peers = link.live.size;
  }

  get id(): number {
    return this.link.id;
  }

  /** The gate of inode `ino`'s pager. */
  gateFor(ino: number): PagerGate {
    return { acquire: (first, end, write) => this.acquire(ino, first, end, write) };
  }

  /** The pager serving `ino` now (recalls go to it). */
  attach(ino: number, pager: Pager): void {
    this.pagers.set(ino, pager);
  }

  detach(ino: number, pager: Pager): void {
    if (this.pagers.get(ino) === pager) this.pagers.delete(ino);
  }

  /** The file is gone here (unlinked and freed): forget what was known of it. */
  forget(ino: number): void {
    this.files.delete(ino);
  }

  /** Tell the other mounts that catalog rows changed (after they were committed). */
  async announceNames(keys: readonly { tbl: string; key: string }[]): Promise<void> {
    // Sent even when no other mount is known: one may have joined since the last heartbeat scan.
    if (keys.length === 0) return;
    const text = JSON.stringify(keys);
    const message: PeerMessage = { k: 'n', f: this.link.id, s: 0, ...(text.length <= MAX_NAMES_PAYLOAD ? { n: text } : {}) };
    this.stats.names_sent++;
    await this.link.send(JSON.stringify(message));
  }

  private file(ino: number): FileState {
    let state = this.files.get(ino);
    if (!state) {
      state = { known: false, remote: [] };
      this.files.set(ino, state);
    }
    return state;
  }

  private async acquire(ino: number, first: number, end: number, write: boolean): Promise<() => void> {
    const state = this.file(ino);
    const live = [...this.link.live];
    let finish = (): void => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const op: LocalOp = {
      ino,
      first,
      end,
      write,
      seq: ++this.seq,
      silent: true,
      echoed: false,
      pending: new Set(live),
      failed: false,
      finished: false,
      acked: () => undefined,
      refused: () => undefined,
      done,
      finish: () => {
        if (op.finished) return;
        op.finished = true;
        this.ops.delete(op.seq);
        finish();
      },
    };
    this.ops.set(op.seq, op);
    let kind: 'r' | 'i' | undefined;
    if (live.length === 0) {
      // Nobody else: nobody holds anything. A mount that joins later recalls the whole file first.
      state.known = true;
      state.remote.length = 0;
    } else if (write) kind = 'i';
    else if (!state.known) {
      kind = 'r';
      op.first = 0;
      op.end = WHOLE;
    } else if (overlaps(state.remote, first, end)) kind = 'r';
    if (kind === undefined) return op.finish;
    op.silent = false;
    const answered = new Promise<void>((resolve, reject) => {
      op.acked = resolve;
      op.refused = reject;
    });
    const started = performance.now();
    try {
      if (kind === 'i') this.stats.invalidations_sent++;
      else this.stats.recalls_sent++;
      await this.link.send(JSON.stringify({ k: kind, f: this.link.id, s: op.seq, o: ino, a: op.first, b: op.end } satisfies PeerMessage));
      // Peers that died meanwhile are not waited for.
      this.dropDead(op, this.link.live);
      await answered;
    } catch (err) {
      op.finish();
      throw err instanceof PagerError ? err : new PagerError('EIO', `asking the other mounts for pages of inode ${ino}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.stats.waits++;
      this.stats.wait_ms += performance.now() - started;
    }
    if (op.first === 0 && op.end === WHOLE) {
      state.known = true;
      state.remote.length = 0;
    } else removeRange(state.remote, op.first, op.end);
    return op.finish;
  }

  private receive(payload: string): void {
    const m = parsePeerMessage(payload);
    if (!m) {
      this.log(`coherence: a message not understood: ${payload.slice(0, 200)}`);
      return;
    }
    // A mount heard from is alive, before the next heartbeat scan says so: a write here must ask it too.
    if (m.f !== this.link.id && !this.link.live.has(m.f)) this.link.noteAlive(m.f);
    if (m.f === this.link.id) {
      const op = this.ops.get(m.s);
      if (op && (m.k === 'r' || m.k === 'i')) op.echoed = true;
      return;
    }
    switch (m.k) {
      case 'a':
        if (m.t === this.link.id) this.ack(m);
        return;
      case 'n':
        this.stats.names_received++;
        this.onNames?.(m.n);
        return;
      case 'r':
      case 'i':
        this.request(m);
        return;
    }
  }

  private ack(m: PeerMessage): void {
    const op = this.ops.get(m.s);
    if (!op) return;
    if (m.e === 1) op.failed = true;
    op.pending.delete(m.f);
    this.settle(op);
  }

  private settle(op: LocalOp): void {
    if (op.pending.size > 0 || op.silent) return;
    if (op.failed) op.refused(new PagerError('EIO', `another mount could not store its dirty pages of inode ${op.ino}`));
    else op.acked();
  }

  private request(m: PeerMessage): void {
    if (m.k === 'i') this.stats.invalidations_received++;
    else this.stats.recalls_received++;
    const ino = m.o ?? -1;
    const a = m.a ?? 0;
    const b = m.b ?? WHOLE;
    const before = [...this.ops.values()].filter(
      (op) => !op.finished && op.ino === ino && op.first < b && a < op.end && (op.write || m.k === 'i') && (op.silent || op.echoed),
    );
    if (before.length === 0) {
      void this.serve(m, ino, a, b);
      return;
    }
    this.stats.deferred++;
    void Promise.all(before.map((op) => op.done)).then(() => this.serve(m, ino, a, b));
  }

  /** Give back (and for a writer, drop) this kernel's copies of pages [a, b) of `ino`, then acknowledge. */
  private async serve(m: PeerMessage, ino: number, a: number, b: number): Promise<void> {
    if (m.k === 'i') addRange(this.file(ino).remote, a, b);
    const pager = this.pagers.get(ino);
    let failed = false;
    if (pager && pager.pageSize > 0) {
      const written = pager.stats.pages_written;
      try {
        await pager.recall(a * pager.pageSize, (Math.min(b, WHOLE) - a) * pager.pageSize, m.k === 'i');
      } catch (err) {
        failed = true;
        this.log(`coherence: recalling pages ${a}..${b} of inode ${ino} for mount ${m.f}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.stats.pages_recalled += pager.stats.pages_written - written;
    }
    const ack: PeerMessage = { k: 'a', f: this.link.id, t: m.f, s: m.s, ...(failed ? { e: 1 as const } : {}) };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.link.send(JSON.stringify(ack));
        return;
      } catch (err) {
        if (attempt >= 20 || !this.link.live.has(m.f)) {
          this.log(`coherence: acknowledging mount ${m.f}: ${err instanceof Error ? err.message : String(err)}; given up`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private liveChanged(live: ReadonlySet<number>): void {
    this.stats.peers = live.size;
    for (const op of this.ops.values()) this.dropDead(op, live);
  }

  private dropDead(op: LocalOp, live: ReadonlySet<number>): void {
    for (const peer of op.pending) {
      if (!live.has(peer)) {
        op.pending.delete(peer);
        this.stats.acks_abandoned++;
      }
    }
    this.settle(op);
  }
}
