/**
 * The FUSE requests a fault suspends, now and in total. A read or write
 * whose pages are all resident is answered inside the FUSE callback and
 * never lands here; one that has to fault is suspended until the kernel
 * has the pages, as Minix's kernel holds a process with RTS_PAGEFAULT until
 * its VM server replies. Each suspended request keeps who asked (the FUSE
 * context's pid), which file and offset, when it was suspended, and the
 * kernel's FaultWait (what its fault waits for at this moment).
 *
 * Counted for `stats` and the metrics: how many were ever suspended, how
 * long each waited (a histogram: percentiles), and the longest wait, of
 * those done and those still waiting.
 */
import { performance } from 'node:perf_hooks';
import { FaultWait, LatencyHistogram, type LatencySummary } from '../../kernel/index.js';

export interface SuspendedRequest {
  /** A number for this request, unique in the mount's life. */
  readonly id: number;
  readonly op: 'read' | 'write';
  /** The requester, from the FUSE request context (0: the kernel itself). */
  readonly pid: number;
  readonly uid: number;
  readonly ino: number;
  readonly offset: number;
  readonly length: number;
  /** When it was suspended: ms since the epoch. */
  readonly since: number;
  /** The same, performance.now() ms (for its age). */
  readonly started: number;
  /** What its fault waits for now (undefined for a moment between two waits). */
  readonly wait: FaultWait;
}

export interface SuspendedStatistics {
  /** Requests suspended by a fault since the mount started. */
  suspended: number;
  /** Suspended now. */
  suspended_now: number;
  /** The longest wait, done or still going, in µs. */
  longest_us: number;
  /** The waits of the requests done (µs). */
  wait: LatencySummary;
}

export class SuspendedRequests {
  private readonly live = new Map<number, SuspendedRequest>();
  private nextId = 1;
  private total = 0;
  private longestDoneUs = 0;
  private readonly waits = new LatencyHistogram();

  /** A request that has to fault: it is suspended from now until end(). */
  begin(op: 'read' | 'write', who: { pid: number; uid: number }, ino: number, offset: number, length: number): SuspendedRequest {
    const request: SuspendedRequest = {
      id: this.nextId++,
      op,
      pid: who.pid,
      uid: who.uid,
      ino,
      offset,
      length,
      since: Date.now(),
      started: performance.now(),
      wait: new FaultWait(),
    };
    this.live.set(request.id, request);
    this.total++;
    return request;
  }

  /** The request is answered (data, or an error): its wait is counted. */
  end(request: SuspendedRequest): void {
    if (!this.live.delete(request.id)) return;
    const us = (performance.now() - request.started) * 1000;
    this.waits.record(us);
    if (us > this.longestDoneUs) this.longestDoneUs = us;
  }

  /** The requests suspended now, the oldest first. */
  now(): SuspendedRequest[] {
    return [...this.live.values()];
  }

  statistics(): SuspendedStatistics {
    const at = performance.now();
    let longest = this.longestDoneUs;
    for (const request of this.live.values()) longest = Math.max(longest, (at - request.started) * 1000);
    return { suspended: this.total, suspended_now: this.live.size, longest_us: Math.round(longest * 10) / 10, wait: this.waits.summary() };
  }
}
