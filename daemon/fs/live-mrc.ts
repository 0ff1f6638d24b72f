/**
 * The mount's live miss-ratio curve: every page a read or a write touches
 * (the requests `machpager trace` records) goes through fixed-size SHARDS
 * (kernel/policy/shards.ts): a page is sampled when its hash is below a
 * threshold that starts at "every page" and falls when the sample holds
 * more than MAX_PAGES pages, so a small mount's curve is exact and a big
 * one's is sampled, in bounded memory. A page outside the sample costs one
 * hash and one comparison on the hit path; a sampled one a Map lookup and
 * a Fenwick-tree update (bench/mrc-live.ts measures both).
 *
 * The answer is LRU's hit ratio at cache sizes around the working set and
 * the mount's own cache (½×, 1×, 2×, 4× the frames): "what would twice the
 * cache buy me", for the workload running now (`machpager stats --mrc`,
 * `top`, the web view's curve).
 */
import { Shards } from '../../kernel/index.js';

/** Sampled pages at most: about 1/sqrt(4096) ≈ 0.016 of expected error once the rate falls below 1. */
export const MAX_PAGES = 4096;
/** Points log-spaced over the curve, besides the cache's multiples. */
const POINTS = 24;
/** Pages of a file in a key (the rest of the key is the inode): as the page trace numbers them. */
const PAGE_RANGE = 4294967296;
const INODE_RANGE = 2 ** 21;

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
}

export class LiveMrc {
  private shards = new Shards({ rate: 1, maxPages: MAX_PAGES });
  private since = Date.now();

  constructor(private readonly pageSize: number) {}

  /** A read or write of [offset, offset + length) of inode `ino`. */
  record(ino: number, offset: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(offset / this.pageSize);
    const last = Math.floor((offset + length - 1) / this.pageSize);
    const base = (ino % INODE_RANGE) * PAGE_RANGE;
    const shards = this.shards;
    for (let page = first; page <= last; page++) shards.access(base + (page % PAGE_RANGE));
  }

  /** Start over (a new workload). */
  reset(): void {
    this.shards = new Shards({ rate: 1, maxPages: MAX_PAGES });
    this.since = Date.now();
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
      points: sorted.map((pages, i) => {
        const miss = ratios[i] ?? 1;
        return { pages, hit_ratio: 1 - miss, miss_ratio: miss };
      }),
    };
  }
}
