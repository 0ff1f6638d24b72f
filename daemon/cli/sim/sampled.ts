/**
 * `sim --mrc --sample RATE`: approximate curves from a spatially hashed
 * sample of the trace, read as a stream (memory follows the sample, never
 * the trace): LRU's from the SHARDS histogram of sampled stack distances,
 * every other policy's from a miniature simulation (its cache scaled by the
 * rate) on the sampled sub-trace. `--sample-pages N` (and stdin, whose
 * length is unknown) bounds the sample: fixed-size SHARDS, the rate falls
 * as the sample fills.
 */
import { miniCapacity, miniSimulation, SampledTrace, Shards, type PolicyFactory } from '../../../kernel/index.js';
import { usageError } from '../cli-error.js';
import { ONE_PASS_POLICY, type SimCell } from './plan.js';
import { readRequests, type TraceFormat } from './trace-file.js';

/** The bound of a sample of a stream whose length is unknown (stdin), in pages, when --sample-pages is not given. */
export const DEFAULT_STREAM_SAMPLE_PAGES = 1 << 20;

/** Below this many pages a miniature cache is too small to say much: such points are marked rough. */
export const MIN_MINI_PAGES = 32;

export interface SampleSpec {
  readonly rate: number;
  readonly maxPages?: number;
}

/** --sample RATE (0 < RATE ≤ 1: 0.01, 1%) and --sample-pages N. */
export function parseSample(rate: string, pages: string | undefined): SampleSpec {
  const t = rate.trim();
  const pct = /^(\d+(?:\.\d*)?|\.\d+)%$/.exec(t);
  const value = pct ? Number(pct[1]) / 100 : /^(\d+(?:\.\d*)?|\.\d+)(?:e-?\d+)?$/i.test(t) ? Number(t) : NaN;
  if (!(value > 0 && value <= 1)) throw usageError(`--sample ${rate}`, 'a sampling rate is above 0 and at most 1 (0.01, or 1%)');
  if (pages === undefined) return { rate: value };
  if (!/^\d+$/.test(pages.trim()) || Number(pages) < 16) throw usageError(`--sample-pages ${pages}`, 'a sample of at least 16 pages (a whole number)');
  return { rate: value, maxPages: Number(pages) };
}

export interface Sample {
  readonly shards: Shards;
  /** The sampled sub-trace, for the miniature simulations (absent when LRU alone is asked for). */
  readonly sub?: SampledTrace;
}

/** Read `input` once, sampling it; `onBytes` hears the input bytes read so far (for a progress bar). */
export async function sampleTrace(input: AsyncIterable<Buffer | string>, format: TraceFormat, spec: SampleSpec, keepSubTrace: boolean, onBytes?: (bytes: number) => void): Promise<Sample> {
  const shards = new Shards({ rate: spec.rate, ...(spec.maxPages !== undefined ? { maxPages: spec.maxPages } : {}) });
  const sub = keepSubTrace ? new SampledTrace() : undefined;
  if (sub) {
    shards.onSample = (id) => sub.add(id);
    shards.onRateChange = () => sub.keepBelow(shards.hashThreshold);
  }
  await readRequests(input, format, { add: (id) => shards.access(id) }, onBytes);
  return { shards, ...(sub ? { sub } : {}) };
}

/**
 * The expected mean absolute error of a sampled curve: the SHARDS paper's
 * and our own measurements (test/kernel/sampled-mrc.test.ts) put it near
 * 1/sqrt(sampled pages) (about 0.015 at 4,500 pages), more for the points
 * whose miniature cache is under MIN_MINI_PAGES pages.
 */
export function expectedError(sample: Sample): number {
  return 1 / Math.sqrt(Math.max(1, sample.shards.pages));
}

/** The cells of the sampled curve: `requests` and `misses` are the whole trace's estimates. */
export function sampledCells(sample: Sample, policies: readonly PolicyFactory[], sizes: readonly number[], onPolicy?: (done: number) => void): SimCell[] {
  const { shards } = sample;
  const n = shards.requests;
  const rate = shards.rate;
  const cells: SimCell[] = [];
  const sub = sample.sub?.build();
  const cell = (policy: string, pages: number, ratio: number, seconds: number, replayed: number): SimCell => ({
    policy,
    cache_pages: pages,
    requests: n,
    misses: Math.round(ratio * n),
    miss_ratio: ratio,
    requests_per_second: seconds > 0 ? replayed / seconds : null,
  });
  policies.forEach((factory, i) => {
    if (factory.name === ONE_PASS_POLICY) {
      shards.missRatios(sizes).forEach((ratio, j) => cells.push(cell(factory.name, sizes[j] ?? 0, ratio, 0, 0)));
    } else if (sub) {
      for (const pages of sizes) {
        const r = miniSimulation(sub, factory, pages, rate, n * rate);
        cells.push(cell(factory.name, pages, r.missRatio, r.seconds, sub.ids.length));
      }
    }
    onPolicy?.(i + 1);
  });
  return cells;
}

/** The line that says how the curve was sampled and how far to trust it. */
export function sampleNote(sample: Sample, sizes: readonly number[], miniatures: boolean): string {
  const { shards } = sample;
  const rate = shards.rate;
  const rough = miniatures ? sizes.filter((s) => miniCapacity(s, rate) < MIN_MINI_PAGES) : [];
  const parts = [
    `sampled at rate ${+rate.toPrecision(4)} (${shards.sampled} of ${shards.requests} requests, ${shards.pages} pages${shards.options.maxPages !== undefined ? `, at most ${shards.options.maxPages}` : ''})`,
    `LRU by SHARDS${miniatures ? ', the other policies by miniature simulations' : ''}`,
    `expected error about ±${expectedError(sample).toFixed(3)} (mean absolute)`,
  ];
  if (rough.length > 0) parts.push(`rougher below ${Math.ceil(MIN_MINI_PAGES / rate)} pages (a miniature cache of under ${MIN_MINI_PAGES} pages): sample more there`);
  return parts.join('; ');
}
