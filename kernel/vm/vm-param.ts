/**
 * The VM's tunables in one place, as GNU Mach keeps its own in
 * vm/vm_param.h and at the top of vm_pageout.c and vm_object.c. Values only:
 * this module imports nothing, so the files that read it (fault, pageout,
 * the kernel) do not depend on each other through it.
 */

/** vm_object_absent_max: outstanding page requests per object. */
export const ABSENT_MAX = 50;
/** VM_PAGE_MAX_LAUNDRY: pages out to the default pager before pageout pauses. */
export const MAX_DEFAULT_LAUNDRY = 5;
/** VM_PAGEOUT_TIMEOUT: the longest pause of a throttled pageout daemon (ms). */
export const PAGEOUT_TIMEOUT_MS = 50;

/** The smallest frame pool, in pages. */
export const MIN_FRAMES = 4;

/**
 * The default pager timeout: 60 s. Longer than any answer a working pager
 * gives: a store read waiting out SQLite's busy timeout (5 s) on a disk
 * that Linux gives 30 s per command before it resets and retries it
 * (/sys/block/.../device/timeout) must not become EIO. Shorter than the
 * 120 s after which Linux reports a task blocked on the mount as hung, and
 * than most people wait before they give up on a program.
 */
export const DEFAULT_PAGER_TIMEOUT_MS = 60_000;

/** The largest page-in cluster and read-ahead window unless the kernel is told otherwise, in pages (192 KiB of 4 KiB pages). */
export const DEFAULT_MAX_CLUSTER_PAGES = 48;

/** Free-frame thresholds in percent of the pool (vm_page_seg's min, low and high are percentages of the segment). */
const FREE_MIN_PERCENT = 5;
const FREE_LOW_PERCENT = 6;
const FREE_HIGH_PERCENT = 10;

/** What follows the pool size: recomputed when the pool is resized. */
export interface PoolThresholds {
  /** Below this many free frames, unprivileged allocation pauses. */
  readonly freeMin: number;
  /** At or below this many, the pageout daemon wakes. */
  readonly freeLow: number;
  /** The daemon frees up to this many (allocation resumes there). */
  readonly freeHigh: number;
  /** Pages in data_returns an external pager has not received yet, past which the kernel double-pages. */
  readonly externalLaundryMax: number;
  /** Largest page-in cluster, in pages. */
  readonly maxClusterPages: number;
}

/** The thresholds of a pool of `frames`, with the kernel's options where it was given them. */
export function poolThresholds(frames: number, tuning: { externalLaundryMax?: number; maxClusterPages?: number }): PoolThresholds {
  const freeMin = Math.max(1, Math.floor((frames * FREE_MIN_PERCENT) / 100));
  const freeLow = Math.max(freeMin + 1, Math.floor((frames * FREE_LOW_PERCENT) / 100));
  const freeHigh = Math.max(freeLow + 1, Math.floor((frames * FREE_HIGH_PERCENT) / 100));
  // A quarter of the pool: laundry and one cluster may not take more of it.
  const quarter = Math.floor(frames / 4);
  return {
    freeMin,
    freeLow,
    freeHigh,
    externalLaundryMax: tuning.externalLaundryMax ?? Math.max(2, quarter),
    maxClusterPages: Math.max(1, Math.min(tuning.maxClusterPages ?? DEFAULT_MAX_CLUSTER_PAGES, quarter)),
  };
}

/** The frames a cache of `cacheSize` bytes holds; a RangeError below MIN_FRAMES. */
export function framesFor(pageSize: number, cacheSize: number): number {
  const frames = Math.floor(cacheSize / pageSize);
  if (!Number.isFinite(frames) || frames < MIN_FRAMES) throw new RangeError(`cache size must hold at least ${MIN_FRAMES} pages of ${pageSize} bytes`);
  return frames;
}
