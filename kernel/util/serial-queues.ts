/**
 * Run jobs one at a time per key, in submission order, different keys in
 * parallel: libpager's rule that messages for one object are handled in
 * arrival order (demuxer.c), and the kernel's per-object serialisation of
 * pager calls. A job that finishes synchronously costs no promise.
 */
import { Deque } from './deque.js';

export type Job = () => void | Promise<void>;

export class SerialQueues<K> {
  private readonly pending = new Map<K, Deque<Job>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  run(key: K, job: Job): void {
    const queue = this.pending.get(key);
    if (queue) {
      queue.push(job);
      return;
    }
    const result = this.start(job);
    if (result) {
      this.pending.set(key, new Deque<Job>());
      this.continueAfter(key, result);
    }
  }

  /** True when no job for `key` is running or waiting. */
  idle(key: K): boolean {
    return !this.pending.has(key);
  }

  /** Jobs for `key` running or waiting (0 when idle). */
  depth(key: K): number {
    const queue = this.pending.get(key);
    return queue ? queue.length + 1 : 0;
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

  private next(key: K): void {
    const queue = this.pending.get(key);
    if (!queue) return;
    for (;;) {
      const job = queue.shift();
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
