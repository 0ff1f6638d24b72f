/**
 * The live miss-ratio curve as `machpager stats --mrc` prints it and `top`
 * draws it: LRU's hit ratio at cache sizes around the mount's own, for the
 * workload running now (daemon/fs/live-mrc.ts keeps it).
 */
import type { LiveMrcRecord } from '../fs/live-mrc.js';
import { humanSize, table } from './format.js';

/** Where a size stands against the mount's cache: "this cache", "2x", "1/2x". */
function mark(pages: number, cache: number): string {
  if (cache < 1) return '';
  if (pages === cache) return '<- this cache';
  for (const [m, label] of [
    [0.5, '1/2x'],
    [2, '2x'],
    [4, '4x'],
  ] as const) {
    if (pages === Math.round(cache * m)) return `<- ${label} this cache`;
  }
  return '';
}

/** The heading: what the curve is of, and how far to trust it. */
export function liveMrcHeading(r: LiveMrcRecord): string {
  const sample = r.rate >= 1 ? 'every page counted (exact)' : `sampled at rate ${r.rate.toPrecision(3)} (${r.sample_pages} pages, at most ${r.max_pages}): expected error about ±${r.expected_error.toFixed(3)}`;
  const dropped = r.dropped !== undefined && r.dropped > 0 ? `; ${r.dropped} sampled requests dropped (the curve's worker fell behind: they count as hits)` : '';
  return `LRU hit ratio by cache size, live: ${r.requests} page requests since ${new Date(r.since).toISOString()}, working set about ${r.working_set_pages} pages (${humanSize(r.working_set_pages * r.page_size)}); ${sample}${dropped}`;
}

/** The table: CACHE (pages), SIZE, HIT RATIO, MISS RATIO, and the marks; then the policies' table. */
export function renderLiveMrc(r: LiveMrcRecord): string {
  if (r.requests === 0) return 'no page requests yet: the curve starts with the first read or write\n';
  const rows = r.points.map((p) => [String(p.pages), humanSize(p.pages * r.page_size), p.hit_ratio.toFixed(4), p.miss_ratio.toFixed(4), mark(p.pages, r.cache_pages)]);
  const lru = `${liveMrcHeading(r)}\n${table(['CACHE', 'SIZE', 'HIT RATIO', 'MISS RATIO', ''], rows, ['right', 'right', 'right', 'right', 'left']).map((l) => l.trimEnd()).join('\n')}\n`;
  return r.miniatures ? `${lru}\n${renderLiveMinis(r)}` : lru;
}

/** The policies side by side: hit ratio of each (a column each) at ½×, 1×, 2×, 4× the cache. */
export function renderLiveMinis(r: LiveMrcRecord): string {
  const m = r.miniatures;
  if (!m) return '';
  const sample = m.rate >= 1 ? 'every page simulated (exact)' : `miniature caches sampled at rate ${m.rate.toPrecision(3)} (${m.sample_pages} pages): expected error about ±${m.expected_error.toFixed(3)}`;
  const heading = `hit ratio by policy, live (LRU by stack distances, the others by miniature simulations since ${new Date(m.since).toISOString()}); ${sample}`;
  const rows = m.sizes.map((pages, k) => [String(pages), humanSize(pages * r.page_size), ...m.curves.map((c) => (c.points[k]?.hit_ratio ?? NaN).toFixed(4)), mark(pages, r.cache_pages)]);
  const head = ['CACHE', 'SIZE', ...m.curves.map((c) => c.policy.toUpperCase()), ''];
  return `${heading}\n${table(head, rows, head.map((_, i) => (i === head.length - 1 ? 'left' : 'right'))).map((l) => l.trimEnd()).join('\n')}\n`;
}

/** top's second line: each policy's hit ratio at this cache and at twice it. */
export function liveMinisLine(r: LiveMrcRecord): string {
  const m = r.miniatures;
  if (!m || r.requests === 0) return '';
  const at = (pages: number): string =>
    m.curves
      .map((c) => {
        const p = c.points.find((q) => q.pages === pages);
        return `${c.policy} ${p ? `${(100 * p.hit_ratio).toFixed(1)}%` : '-'}`;
      })
      .join(' ');
  return `live policies${m.rate < 1 ? ` (miniatures ±${m.expected_error.toFixed(3)})` : ''}: this cache: ${at(m.cache_pages)}; 2x: ${at(2 * m.cache_pages)}`;
}

/** The hit ratio at the mount's cache and at twice it: top's one line. */
export function liveMrcLine(r: LiveMrcRecord): string {
  if (r.requests === 0) return 'live MRC: no page requests yet';
  const at = (pages: number): string => {
    const p = r.points.find((q) => q.pages === pages);
    return p ? `${(100 * p.hit_ratio).toFixed(1)}%` : '-';
  };
  const c = r.cache_pages;
  return `live MRC (LRU${r.rate < 1 ? `, sampled ±${r.expected_error.toFixed(3)}` : ''}): hit ratio ${at(Math.round(c / 2))} at 1/2x cache, ${at(c)} at this cache, ${at(2 * c)} at 2x, ${at(4 * c)} at 4x; working set ~${humanSize(r.working_set_pages * r.page_size)}`;
}
