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
  /**
   * Whether the page in `slot` is tracked and counted inactive now (the
   * part inactiveCount counts): the frame map of the web view colours each
   * frame by it. False for a slot not tracked.
   */
  isInactive(slot: number): boolean;

  // Optional hooks. The trace replay (replay.ts) calls them to follow
  // cache-policies.md exactly; the live kernel calls miss() before it
  // inserts a page that came in (its evictions happen earlier, in the
  // pageout daemon, so they cannot depend on the incoming page).

  /** A request for `key` missed; evictions for it (victim()) and then insert() follow. Ghost lists look here. */
  miss?(key: number): void;
  /** The policy wants a page evicted before the next insert even though the cache is not full (2Q's Am; LIRS by its own occupancy). Replay only. */
  needsRoom?(): boolean;
  /** The page in `slot` is next asked for at request `time` (Belady's oracle; offline replay only). */
  nextAccess?(slot: number, time: number): void;
  /**
   * A page the policy evicted on its own, outside victim(): one slot per
   * call (the caller frees it), -1 when there is none. libCacheSim's LIRS
   * and S4LRU evict during some hits (a LIR block demoted into a full Q
   * pushes Q's LRU block out; a promotion whose demotions cascade down to an
   * over-full segment 0 evicts there), and LIRS also in miss() (its
   * can_insert makes room). The replay frees these after every call, so
   * that the next request sees exactly libCacheSim's cache. The live kernel
   * does not call it: there such a page stays tracked, counted inactive, and
   * victim() hands it out first.
   */
  evicted?(): number;
  /**
   * Whether the page missed in miss() is inserted at all (§5.0's
   * can_insert). S3-FIFO, 2Q, S4LRU and LIRS refuse every page when the
   * cache is too small for their smallest part. Replay only: the live
   * kernel keeps every page it has read.
   */
  canInsert?(): boolean;
}

export interface PolicyFactory {
  readonly name: string;
  readonly description: string;
  /** Needs to know the future (Belady): trace replay only, never the live kernel. */
  readonly offline?: boolean;
  /**
   * Its choices do not depend on the capacity it is given (it orders pages;
   * how many stay is the cache's business), so a cache counted in bytes can
   * run it (replay-bytes.ts, sim --by-bytes).
   */
  readonly byBytes?: boolean;
  create(capacity: number, slots?: number): ReplacementPolicy;
  /**
   * Slots the trace replay gives a cache of `capacity` pages (default:
   * capacity). LIRS asks for more: libCacheSim's LIRS can keep a page its
   * occupancy no longer counts, so it may hold more than `capacity` pages
   * (it says when it is full with needsRoom()).
   */
  replaySlots?(capacity: number): number;
}
