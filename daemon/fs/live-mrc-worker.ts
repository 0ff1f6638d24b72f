/**
 * The live curve's worker thread: owns the SHARDS histogram and the
 * miniature simulations (LiveMrc), takes sampled page keys off the ring
 * (live-mrc-ring.ts) as they come, and answers snapshots by message.
 *
 * Between batches it sleeps with Atomics.waitAsync on the ring's HEAD, not
 * Atomics.wait: the thread's event loop stays free for the feed's messages.
 * While keys keep coming it only naps (POLL_MS, nobody needs to wake it:
 * an Atomics.notify is a futex call, and one a push cost the hit path more
 * than the curve it saved); after a nap with nothing new it sets SLEEPING
 * and waits for the writer's notify, so an idle mount's worker costs nothing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LiveMrc } from './live-mrc.js';
import { HEAD, LIMIT, RING_MASK, SLEEPING, TAIL, ringViews, type LiveMrcWorkerData, type SnapshotAnswer, type SnapshotAsk } from './live-mrc-ring.js';

/** Keys taken off the ring before TAIL is published and messages get a turn. */
const BATCH = 4096;
/** A nap while keys keep coming: the ring's 64 Ki keys last longer than this at any rate FUSE reaches. */
const POLL_MS = 10;

type WaitAsync = (array: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };

const data = workerData as LiveMrcWorkerData;
const { control, limit, keys } = ringViews(data.ring);
const curve = new LiveMrc(data.pageSize, data.cachePages);
/** Requests the feed had counted when the curve (re)started. */
let base = 0;
let tail = Atomics.load(control, TAIL);
let published = Math.max(0, curve.hashThreshold - 1);

/** Take keys off the ring up to `head` (at most `max` of them). */
function drain(head: number, max: number): void {
  let t = tail;
  for (let n = 0; t !== head && n < max; n++) {
    curve.access(keys[t & RING_MASK]);
    t = (t + 1) | 0;
  }
  tail = t;
  Atomics.store(control, TAIL, t);
  const threshold = Math.max(0, curve.hashThreshold - 1);
  if (threshold !== published) {
    published = threshold;
    Atomics.store(limit, LIMIT, threshold);
  }
}

function answer(ask: SnapshotAsk): SnapshotAnswer {
  // Every key written before the question: the ring holds at most RING_CAPACITY, so this ends.
  while (((ask.head - tail) | 0) > 0) drain(ask.head, BATCH);
  curve.setRequests(ask.requests - base);
  const record = curve.snapshot(ask.cachePages);
  if (ask.reset) {
    curve.reset();
    base = ask.requests;
    published = Math.max(0, curve.hashThreshold - 1);
    Atomics.store(limit, LIMIT, published);
  }
  return { id: ask.id, record };
}

async function run(): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  for (;;) {
    const head = Atomics.load(control, HEAD);
    if (head !== tail) {
      drain(head, BATCH);
      // A long backlog: let a snapshot question in between batches.
      if (Atomics.load(control, HEAD) !== tail) await nextTurn();
      continue;
    }
    const napped = waitAsync(control, HEAD, tail, POLL_MS);
    if (napped.async) await napped.value;
    if (Atomics.load(control, HEAD) !== tail) continue;
    Atomics.store(control, SLEEPING, 1);
    // waitAsync compares HEAD with tail itself: a key written since the look above ends the wait at once.
    const waited = waitAsync(control, HEAD, tail);
    if (waited.async) await waited.value;
    Atomics.store(control, SLEEPING, 0);
  }
}

const port = parentPort;
if (port) {
  port.on('message', (ask: SnapshotAsk) => port.postMessage(answer(ask)));
  // A throw here ends the thread with an 'error' event: the feed logs it and marks the curve unavailable.
  run().catch((err: unknown) => {
    process.nextTick(() => {
      throw err;
    });
  });
}
