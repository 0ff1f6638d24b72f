/**
 * The mount's live miss-ratio curve: every page a read or a write touches
 * (the requests `machpager trace` records) goes through fixed-size SHARDS
 * (kernel/policy/shards.ts): a page is sampled when its hash is below a
 * threshold that starts at "every page" and falls when the sample holds
 * more than MAX_PAGES pages, so a small mount's curve is exact and a big
 * one's is sampled, in bounded memory.
 *
 * This class is the curve itself; it runs in a worker thread
 * (live-mrc-worker.ts), fed the sampled pages through a shared ring by
 * live-mrc-feed.ts, so that the FUSE thread's hit path costs one hash, one
 * comparison and, for a sampled page, one store into the ring.
 *
 * The answer is LRU's hit ratio at cache sizes around the working set and
 * the mount's own cache (½×, 1×, 2×, 4× the frames): "what would twice the
 * cache buy me", for the workload running now (`machpager stats --mrc`,
 * `top`, the web view's curve).
 *
 * Beside it, miniature simulations of a few other policies (LIVE_POLICIES)
 * at ½×, 1×, 2× and 4× the cache (kernel/policy/miniatures.ts): each a
 * cache scaled by the sampling rate, fed only the sampled requests, so a
 * request outside the sample costs them nothing. They start over when the
 * mount's cache is resized (their sizes follow it).
 */
import { MiniatureSimulations, policyFactory, Shards, type PolicyFactory } from '../../kernel/index.js';

/** Sampled pages at most: about 1/sqrt(4096) ≈ 0.016 of expected error once the rate falls below 1. */
export const MAX_PAGES = 4096;
/** Points log-spaced over the curve, besides the cache's multiples. */
const POINTS = 24;
/** Pages of a file in a key (the rest of the key is the inode): as the page trace numbers them. */
export const PAGE_RANGE = 4294967296;
export const INODE_RANGE = 2 ** 21;
/** The policies simulated live besides LRU: the mount's default, and three that libCacheSim users compare. */
export const LIVE_POLICIES = ['mach', 'clock', 'arc', '2q'] as const;
/** Their cache sizes: these multiples of the mount's cache. */
export const LIVE_MULTIPLES = [0.5, 1, 2, 4] as const;

/** One policy's live curve at the miniatures' sizes. */
export interface LiveMiniCurve {
  policy: string;
  points: LiveMrcPoint[];
}

/** What the miniature simulations say (`mrc`'s `miniatures`). */
export interface LiveMiniRecord {
  /** Their own sampling rate (a power of two at or below the curve's rate). */
  rate: number;
  sample_pages: number;
  sampled: number;
  /** Expected mean absolute error (0 while every page is sampled). */
  expected_error: number;
  /** The cache they were sized by, in pages, and when they started (ms since the epoch). */
  cache_pages: number;
  since: number;
  /** The sizes, in pages (LIVE_MULTIPLES × cache_pages). */
  sizes: number[];
  /** LRU (from the stack-distance histogram) first, then each of LIVE_POLICIES. */
  curves: LiveMiniCurve[];
}

export interface LiveMrcPoint {
  pages: number;
  /** LRU's hit ratio at this size (1 - miss ratio). */
  hit_ratio: number;
  miss_ratio: number;
}

/** What `mrc` answers. */
export interface LiveMrcRecord {
  /** Page requests seen since the curve (re)started. */
  requests: number;
  /** Of those, requests of sampled pages. */
  sampled: number;
  /** The sampling rate now (1: every page, the curve is exact). */
  rate: number;
  sample_pages: number;
  max_pages: number;
  /** The working set, estimated: distinct pages touched (sampled / rate). */
  working_set_pages: number;
  /** The mount's cache now, in pages (frames). */
  cache_pages: number;
  page_size: number;
  /** Expected mean absolute error of the curve (0 while every page is sampled). */
  expected_error: number;
  /** When the curve started (ms since the epoch). */
  since: number;
  points: LiveMrcPoint[];
  /** Absent from a daemon of before them. */
  miniatures?: LiveMiniRecord;
  /** Sampled requests the hit path dropped because the worker's ring was full (absent from a daemon of before it). */
  dropped?: number;
}

function factories(): PolicyFactory[] {
  return LIVE_POLICIES.map((name) => {
    const f = policyFactory(name);
    if (!f) throw new Error(`no policy ${name}`);
    return f;
  });
}

function point(pages: number, miss: number): LiveMrcPoint {
  return { pages, hit_ratio: 1 - miss, miss_ratio: miss };
}

export class LiveMrc {
  private shards = new Shards({ rate: 1, maxPages: MAX_PAGES });
  private since = Date.now();
  private minis!: MiniatureSimulations;
  private minisSince = 0;
  /** The requests SHARDS had seen when the miniatures started. */
  private minisFrom = 0;

  constructor(
    private readonly pageSize: number,
    /** The mount's cache, in pages: the miniatures' sizes go by it. */
    private cachePages: number,
  ) {
    this.startMinis(cachePages);
  }

  private startMinis(cachePages: number): void {
    this.cachePages = cachePages;
    const sizes = [...new Set(LIVE_MULTIPLES.map((m) => Math.max(1, Math.round(cachePages * m))))];
    this.minis = new MiniatureSimulations(factories(), sizes, MAX_PAGES + 2);
    // Pages already sampled: the miniatures see them from their next request on (a cold miss each, as at a reset).
    this.minis.follow(this.shards.hashThreshold);
    this.minis.attach(this.shards);
    this.minisSince = Date.now();
    this.minisFrom = this.shards.requests;
  }

  /** A request of page `key` ((inode % INODE_RANGE) × PAGE_RANGE + page, as the page trace numbers them). */
  access(key: number): void {
    this.shards.access(key);
  }

  /** The threshold now: a page is sampled when spatialHash(key) is below it (it only falls, until a reset). */
  get hashThreshold(): number {
    return this.shards.hashThreshold;
  }

  /**
   * Every request since the curve started, sampled or not: the feed counts
   * them and hands only sampled pages on, so SHARDS' own count (sampled
   * ones) is set to it before the curve is read.
   */
  setRequests(requests: number): void {
    this.shards.requests = requests;
  }

  /** Start over (a new workload). */
  reset(): void {
    this.shards = new Shards({ rate: 1, maxPages: MAX_PAGES });
    this.since = Date.now();
    this.startMinis(this.cachePages);
  }

  /** The miniatures now; they start over first if the cache is no longer the size they were made for. */
  private miniRecord(cachePages: number): LiveMiniRecord {
    if (cachePages !== this.cachePages && cachePages >= 1) this.startMinis(cachePages);
    const m = this.minis;
    const requests = this.shards.requests - this.minisFrom;
    const lru = this.shards.requests > 0 ? this.shards.missRatios(m.sizes) : m.sizes.map(() => 1);
    const ratios = m.missRatios(requests);
    return {
      rate: m.rate,
      sample_pages: m.pages,
      sampled: m.sampled,
      expected_error: m.rate >= 1 ? 0 : 1 / Math.sqrt(Math.max(1, m.pages)),
      cache_pages: this.cachePages,
      since: this.minisSince,
      sizes: [...m.sizes],
      curves: [
        { policy: 'lru', points: m.sizes.map((pages, k) => point(pages, lru[k] ?? 1)) },
        ...LIVE_POLICIES.map((policy, p) => ({ policy, points: m.sizes.map((pages, k) => point(pages, requests > 0 ? (ratios[p]?.[k] ?? 1) : 1)) })),
      ],
    };
  }

  /** The curve now, with the cache of `cachePages` pages placed on it. */
  snapshot(cachePages: number): LiveMrcRecord {
    const shards = this.shards;
    const wss = Math.round(shards.estimatedPages);
    const top = Math.max(wss, 4 * cachePages, 1);
    const sizes = new Set<number>();
    for (let i = 0; i < POINTS; i++) sizes.add(Math.max(1, Math.round(top ** (i / (POINTS - 1)))));
    for (const m of [0.5, 1, 2, 4]) if (cachePages * m >= 1) sizes.add(Math.round(cachePages * m));
    if (wss >= 1) sizes.add(wss);
    const sorted = [...sizes].sort((a, b) => a - b);
    const ratios = shards.requests > 0 ? shards.missRatios(sorted) : sorted.map(() => 1);
    return {
      requests: shards.requests,
      sampled: shards.sampled,
      rate: shards.rate,
      sample_pages: shards.pages,
      max_pages: MAX_PAGES,
      working_set_pages: wss,
      cache_pages: cachePages,
      page_size: this.pageSize,
      expected_error: shards.rate >= 1 ? 0 : 1 / Math.sqrt(Math.max(1, shards.pages)),
      since: this.since,
      points: sorted.map((pages, i) => point(pages, ratios[i] ?? 1)),
      miniatures: this.miniRecord(cachePages),
    };
  }
}
