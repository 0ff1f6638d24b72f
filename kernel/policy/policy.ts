/**
 * The replacement-policy interface the pageout daemon asks for victims.
 *
 * A policy tracks pages by *slot*: a small integer below its capacity (the
 * kernel uses the frame number; the trace simulator hands out slots itself).
 * All per-page bookkeeping lives in typed arrays indexed by slot, so the hot
 * path (access on every cache hit) allocates nothing. `key` identifies the
 * page's contents (the same page comes back with the same key after an
 * eviction), which policies with ghost lists need.
 *
 * Each policy splits its pages into *active* and *inactive* the way its own
 * structure does (Mach's queues, ARC's T2/T1, 2Q's Am/A1in, ...); the
 * kernel's active_count / inactive_count are those numbers, and a
 * reactivation is a page moving from the inactive to the active part.
 */

/** insert() flag: the page was supplied without being asked for now (prefetch, offer). */
export const INSERT_PREFETCH = 1;
/** insert() flag: the page belongs to an internal (default-pager) object. */
export const INSERT_INTERNAL = 2;

export interface ReplacementPolicy {
  readonly name: string;
  /** Pages the cache holds (what policies that size their lists by the cache, like ARC, go by). */
  readonly capacity: number;
  /** Slots are numbers in [0, slots): at least capacity (more while a shrink is evicting). */
  readonly slots: number;
  /** Pages tracked now. */
  readonly size: number;
  readonly activeCount: number;
  readonly inactiveCount: number;
  /** Inactive pages moved back to active so far (on access or at a second chance). */
  readonly reactivations: number;
  /** A page became resident and evictable in `slot`. */
  insert(slot: number, key: number, flags: number): void;
  /** A cache hit on a tracked page. Returns true when it counted as a reactivation. */
  access(slot: number): boolean;
  /** The page left the policy's care (freed, wired, busy) without being chosen. */
  remove(slot: number): void;
  /** Choose the next page to evict and stop tracking it. -1 when nothing is tracked. */
  victim(): number;
  /** Whether `slot` is tracked now. */
  has(slot: number): boolean;

  // Optional hooks. The trace replay (replay.ts) calls them to follow
  // cache-policies.md exactly; the live kernel calls miss() before it
  // inserts a page that came in (its evictions happen earlier, in the
  // pageout daemon, so they cannot depend on the incoming page).

  /** A request for `key` missed; evictions for it (victim()) and then insert() follow. Ghost lists look here. */
  miss?(key: number): void;
  /** The policy wants a page evicted before the next insert even though the cache is not full (2Q's Am). Replay only. */
  needsRoom?(): boolean;
  /** The page in `slot` is next asked for at request `time` (Belady's oracle; offline replay only). */
  nextAccess?(slot: number, time: number): void;
}

export interface PolicyFactory {
  readonly name: string;
  readonly description: string;
  /** Needs to know the future (Belady): trace replay only, never the live kernel. */
  readonly offline?: boolean;
  create(capacity: number, slots?: number): ReplacementPolicy;
}
