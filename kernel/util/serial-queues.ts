/**
 * Run jobs one at a time per key, in submission order, different keys in
 * parallel: libpager's rule that messages for one object are handled in
 * arrival order (demuxer.c), and the kernel's per-object serialisation of
 * pager calls. A job that finishes synchronously costs no promise.
 */
import { Deque } from './deque.js';

export type Job = () => void | Promise<void>;

export class SerialQueues<K> {
  /** Keys with a job running; null while nothing waits behind it (no queue made for the common case). */
  private readonly pending = new Map<K, Deque<Job> | null>();
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  run(key: K, job: Job): void {
    if (this.closed) return;
    if (this.pending.has(key)) {
      let queue = this.pending.get(key);
      if (!queue) this.pending.set(key, (queue = new Deque<Job>()));
      queue.push(job);
      return;
    }
    // Marked running before it starts: a job that submits for its own key
    // while it runs (terminate from inside lock_request) is queued behind it.
    this.pending.set(key, null);
    const result = this.start(job);
    if (result) this.continueAfter(key, result);
    else this.next(key);
  }

  /**
   * Take no more jobs, and drop those waiting (as Mach destroys the messages
   * queued on a dead task's ports); jobs already running go on to their end.
   */
  close(): void {
    this.closed = true;
    for (const key of this.pending.keys()) this.pending.set(key, null);
  }

  /** True when no job for `key` is running or waiting. */
  idle(key: K): boolean {
    return !this.pending.has(key);
  }

  /** Jobs for `key` running or waiting (0 when idle). */
  depth(key: K): number {
    if (!this.pending.has(key)) return 0;
    return (this.pending.get(key)?.length ?? 0) + 1;
  }

  /** Keys with work running or queued. */
  get busyKeys(): number {
    return this.pending.size;
  }

  private start(job: Job): Promise<void> | undefined {
    try {
      const result = job();
      return result instanceof Promise ? result : undefined;
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  private continueAfter(key: K, running: Promise<void>): void {
    running.then(
      () => this.next(key),
      (err: unknown) => {
        this.onError(err);
        this.next(key);
      },
    );
  }

  /** The running job is done: start the next one, or mark the key idle. */
  private next(key: K): void {
    for (;;) {
      const job = this.pending.get(key)?.shift();
      if (!job) {
        this.pending.delete(key);
        return;
      }
      const result = this.start(job);
      if (result) {
        this.continueAfter(key, result);
        return;
      }
    }
  }
}
