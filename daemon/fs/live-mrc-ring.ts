/**
 * The ring the FUSE thread hands sampled pages to the live curve's worker
 * through (live-mrc-feed.ts writes, live-mrc-worker.ts reads): one
 * SharedArrayBuffer, a few Int32 control words and a power-of-two array of
 * page keys. One writer, one reader: the writer owns HEAD, the reader TAIL;
 * both count on for ever in 32 bits (wrapping), so `(head - tail) | 0` is
 * the fill and `index & MASK` the slot. The messages they exchange besides
 * are here too.
 *
 * Each control word has a cache line of its own, and the writer publishes
 * HEAD once every PUBLISH_EVERY keys (a snapshot question carries its own
 * head): with the words on one line and HEAD stored at every key, the two
 * cores passed the lines to and fro and a sampled hit cost 180 ns instead
 * of 90 (bench/mrc-live.ts, 2048 pages).
 */
import type { LiveMrcRecord } from './live-mrc.js';

/** Page keys the ring holds: 64 Ki × 8 bytes = 512 KiB; at the worker's ~1 µs a page, 65 ms of backlog. */
export const RING_CAPACITY = 65_536;
export const RING_MASK = RING_CAPACITY - 1;

/** Keys written between two stores of HEAD (a power of two). */
export const PUBLISH_EVERY = 64;

/** Control words (Int32Array indices), 64 bytes apart. */
export const HEAD = 0;
export const TAIL = 16;
/** 1 while the worker waits on HEAD: the writer then wakes it (Atomics.notify), and only then. */
export const SLEEPING = 32;
/** The largest hash still sampled (Uint32: the worker's threshold - 1); the writer hands on pages at or below it. Beside SLEEPING: the writer reads both, the worker seldom writes them. */
export const LIMIT = 33;
const CONTROL_WORDS = 48;
const CONTROL_BYTES = CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT;

export interface RingViews {
  readonly control: Int32Array;
  /** The same words, unsigned (LIMIT). */
  readonly limit: Uint32Array;
  readonly keys: Float64Array;
}

export function allocateRing(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(CONTROL_BYTES + RING_CAPACITY * Float64Array.BYTES_PER_ELEMENT);
  new Uint32Array(buffer, 0, CONTROL_WORDS)[LIMIT] = 0xffff_ffff; // every page, until the sample is full
  return buffer;
}

export function ringViews(buffer: SharedArrayBuffer): RingViews {
  return {
    control: new Int32Array(buffer, 0, CONTROL_WORDS),
    limit: new Uint32Array(buffer, 0, CONTROL_WORDS),
    keys: new Float64Array(buffer, CONTROL_BYTES, RING_CAPACITY),
  };
}

/** What the worker starts with. */
export interface LiveMrcWorkerData {
  readonly ring: SharedArrayBuffer;
  readonly pageSize: number;
  readonly cachePages: number;
}

/**
 * Feed → worker: answer the curve once the ring is drained up to `head`
 * (the writer's HEAD when it asked: every request before the question is
 * in the answer), with `requests` counted until then; `reset` starts a new
 * curve after answering.
 */
export interface SnapshotAsk {
  readonly id: number;
  readonly head: number;
  readonly requests: number;
  readonly cachePages: number;
  readonly reset: boolean;
}

/** Worker → feed. */
export interface SnapshotAnswer {
  readonly id: number;
  readonly record: LiveMrcRecord;
}
