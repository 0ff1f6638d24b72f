/**
 * A deadline on a promise that cannot be cancelled (a stat() of a hung FUSE
 * mount, a child stuck in umount2, a store's close): the caller stops
 * waiting, the operation itself runs on. Where an operation takes an
 * AbortSignal, give it AbortSignal.timeout() instead; to wait, use
 * node:timers/promises.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** `promise`, or a rejection with onTimeout()'s error when it has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  const timer = new AbortController();
  const expired = sleep(ms, undefined, { signal: timer.signal }).then((): never => {
    throw onTimeout();
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    // The race has settled: the timer goes (its AbortError is the race's, already handled).
    timer.abort();
  }
}
