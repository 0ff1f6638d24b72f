/**
 * The FUSE thread's side of the live miss-ratio curve (live-mrc.ts): on the
 * hit path, per page, one hash and one comparison against the sample's
 * threshold and, for a sampled page, one store of its key into a shared
 * ring (live-mrc-ring.ts). No allocation, promise or timer per access: a
 * read that hits still completes in its FUSE callback. A worker thread
 * (live-mrc-worker.ts) owns the histogram and the miniature simulations
 * and answers snapshots by message, on the machine's other core.
 *
 * When the ring is full (the worker behind), a sampled page is dropped and
 * counted (`dropped` in the snapshot) rather than waited for. A worker that
 * fails is logged and the curve is then unavailable; the mount goes on.
 * The worker is unref'd (it keeps no daemon alive) and ended by close().
 */
import { Worker } from 'node:worker_threads';
import { spatialHash } from '../../kernel/index.js';
import { FsError } from './errors.js';
import { INODE_RANGE, PAGE_RANGE, type LiveMrcRecord } from './live-mrc.js';
import { HEAD, LIMIT, PUBLISH_EVERY, RING_CAPACITY, RING_MASK, SLEEPING, TAIL, allocateRing, ringViews, type LiveMrcWorkerData, type SnapshotAnswer, type SnapshotAsk } from './live-mrc-ring.js';

export interface LiveMrcFeedOptions {
  readonly pageSize: number;
  /** The mount's cache, in pages (the miniatures' sizes go by it). */
  readonly cachePages: number;
  /** false: no curve at all (mount -o live_mrc=off); record() returns at once. */
  readonly enabled: boolean;
  readonly log: (line: string) => void;
  /** The worker's script (tests); default live-mrc-worker.js beside this file. */
  readonly workerUrl?: URL;
}

/**
 * live-mrc-worker.js beside this module; from the TypeScript sources (vitest)
 * the built one in dist/, as node cannot start a worker from a .ts file.
 */
function workerScript(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./live-mrc-worker.js', here);
  return new URL('../../dist/daemon/fs/live-mrc-worker.js', here);
}

interface Pending {
  resolve: (record: LiveMrcRecord) => void;
  reject: (err: Error) => void;
}

export class LiveMrcFeed {
  private readonly pageSize: number;
  private readonly control: Int32Array;
  private readonly limit: Uint32Array;
  private readonly keys: Float64Array;
  private worker: Worker | undefined;
  /** Why there is no curve (off, or the worker failed); undefined while there is one. */
  private unavailable: string | undefined;
  /** Every page request recorded, sampled or not (the worker's SHARDS counts them through this). */
  private requests = 0;
  private dropped = 0;
  private head = 0;
  /** TAIL as last read: re-read only when the ring looks full. */
  private tailSeen = 0;
  private nextAsk = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;

  constructor(private readonly options: LiveMrcFeedOptions) {
    this.pageSize = options.pageSize;
    const ring = allocateRing();
    ({ control: this.control, limit: this.limit, keys: this.keys } = ringViews(ring));
    if (!options.enabled) {
      this.unavailable = 'the live miss-ratio curve is off (mounted with -o live_mrc=off)';
      return;
    }
    const workerData: LiveMrcWorkerData = { ring, pageSize: options.pageSize, cachePages: options.cachePages };
    const worker = new Worker(options.workerUrl ?? workerScript(), { workerData });
    worker.unref();
    worker.on('message', (answer: SnapshotAnswer) => this.answered(answer));
    worker.on('error', (err) => this.lost(err));
    worker.on('exit', (code) => this.lost(new Error(`its thread exited with code ${code}`)));
    this.worker = worker;
  }

  /** A read or write of [offset, offset + length) of inode `ino`: the hit path's whole cost. */
  record(ino: number, offset: number, length: number): void {
    if (length <= 0 || this.worker === undefined) return;
    const first = Math.floor(offset / this.pageSize);
    const last = Math.floor((offset + length - 1) / this.pageSize);
    const base = (ino % INODE_RANGE) * PAGE_RANGE;
    this.requests += last - first + 1;
    const limit = Atomics.load(this.limit, LIMIT);
    for (let page = first; page <= last; page++) {
      const key = base + (page % PAGE_RANGE);
      if (spatialHash(key) <= limit) this.push(key);
    }
  }

  private push(key: number): void {
    const h = this.head;
    if (((h - this.tailSeen) | 0) >= RING_CAPACITY) {
      this.tailSeen = Atomics.load(this.control, TAIL);
      if (((h - this.tailSeen) | 0) >= RING_CAPACITY) {
        this.dropped++;
        return;
      }
    }
    this.keys[h & RING_MASK] = key;
    this.head = (h + 1) | 0;
    if ((this.head & (PUBLISH_EVERY - 1)) === 0) this.publish();
  }

  /** Let the worker see the keys written so far (and wake it if it sleeps). */
  private publish(): void {
    Atomics.store(this.control, HEAD, this.head);
    if (Atomics.load(this.control, SLEEPING) !== 0 && Atomics.exchange(this.control, SLEEPING, 0) !== 0) Atomics.notify(this.control, HEAD);
  }

  /** Whether there is a curve (not off, the worker alive). */
  get available(): boolean {
    return this.unavailable === undefined;
  }

  /**
   * The curve with every request recorded so far in it (the worker drains
   * the ring up to now first: no wait decides what it holds), the cache of
   * `cachePages` placed on it; `reset` starts a new one after answering.
   * ENOTSUP when the curve is off or its worker failed.
   */
  snapshot(cachePages: number, reset = false): Promise<LiveMrcRecord> {
    const worker = this.worker;
    if (worker === undefined) return Promise.reject(new FsError('ENOTSUP', this.unavailable ?? 'no live miss-ratio curve'));
    // The keys since the last PUBLISH_EVERY: published first, so the worker never finds its tail past HEAD.
    Atomics.store(this.control, HEAD, this.head);
    const ask: SnapshotAsk = { id: this.nextAsk++, head: this.head, requests: this.requests, cachePages, reset };
    return new Promise<LiveMrcRecord>((resolve, reject) => {
      this.pending.set(ask.id, { resolve, reject });
      worker.ref(); // an answer owed keeps the loop up until it comes
      worker.postMessage(ask);
    });
  }

  private answered(answer: SnapshotAnswer): void {
    const p = this.pending.get(answer.id);
    if (!p) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker?.unref();
    p.resolve({ ...answer.record, dropped: this.dropped });
  }

  private lost(err: Error): void {
    if (this.worker === undefined) return;
    this.worker = undefined;
    if (this.closing) return;
    this.unavailable = `the live miss-ratio curve is unavailable: its worker failed (${err.message})`;
    this.options.log(`live-mrc: worker failed, the curve is off from now on: ${err.stack ?? err.message}`);
    for (const p of this.pending.values()) p.reject(new FsError('ENOTSUP', this.unavailable));
    this.pending.clear();
  }

  /** End the worker (unmount). */
  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    this.worker = undefined;
    this.unavailable ??= 'the live miss-ratio curve stopped with the mount';
    for (const p of this.pending.values()) p.reject(new FsError('ENOTSUP', this.unavailable));
    this.pending.clear();
    if (worker) await worker.terminate();
  }
}
