/**
 * Fault service latency as a Prometheus histogram,
 * `machpager_fault_latency_seconds` (_bucket{le}, _sum, _count), read from
 * the statistics record's fault_latency at each scrape: the kernel counts
 * the buckets (kernel/vm/latency.ts, LATENCY_BOUNDS_US), this file only
 * shows them in seconds. A histogram, unlike the quantile gauges, can be
 * summed across mounts and rated over any window
 * (histogram_quantile(0.99, rate(..._bucket[5m]))).
 *
 * prom-client's Histogram counts its own observations; here the counts come
 * made, so what it answers is replaced by the record's: get() (the JSON
 * view) and getForPromString() (what Registry.metrics() prints, in the
 * histogram's text format; not in prom-client's types, hence no `override`).
 */
import { Histogram, type MetricType, type Registry } from 'prom-client';
import { LATENCY_BOUNDS_US, type LatencySummary } from '../../kernel/index.js';

export const FAULT_LATENCY_HISTOGRAM = 'machpager_fault_latency_seconds';

const HELP = 'Fault service time, in seconds (since the mount started): the time from a page access that faults to its page being usable.';

/** µs to seconds, by division: 10 / 1e6 prints as 0.00001, 10 * 1e-6 does not. */
const seconds = (us: number): number => us / 1e6;

export type HistogramSample = { metricName: string; labels: { le?: string | number }; sharedLabels: Record<string, never>; value: number };

/** The _bucket, _sum and _count samples of one record's fault latency (buckets cumulative, +Inf last). */
export function latencySamples(l: LatencySummary, name = FAULT_LATENCY_HISTOGRAM): HistogramSample[] {
  // sharedLabels: prom-client's own histogram values carry them (empty here), and its printer reads them.
  const sample = (suffix: string, value: number, labels: HistogramSample['labels'] = {}): HistogramSample => ({ metricName: `${name}_${suffix}`, labels, sharedLabels: {}, value });
  return [
    ...l.buckets.map((b) => sample('bucket', b.count, { le: seconds(b.le_us) })),
    sample('bucket', l.count, { le: '+Inf' }),
    sample('sum', seconds(l.sum_us)),
    sample('count', l.count),
  ];
}

/** The histogram of `read()`'s fault latency (nothing while no record is being scraped). */
export class RecordLatencyHistogram extends Histogram {
  constructor(
    registry: Registry,
    private readonly read: () => LatencySummary | undefined,
  ) {
    super({ name: FAULT_LATENCY_HISTOGRAM, help: HELP, buckets: LATENCY_BOUNDS_US.map(seconds), registers: [registry] });
  }

  override async get(): ReturnType<Histogram['get']> {
    return this.getForPromString();
  }

  getForPromString(): ReturnType<Histogram['get']> {
    const l = this.read();
    // prom-client's types call the type an enum; at run time (and in its own histograms) it is the word.
    return Promise.resolve({ name: FAULT_LATENCY_HISTOGRAM, help: HELP, type: 'histogram' as unknown as MetricType, aggregator: 'sum', collect: () => undefined, values: l ? latencySamples(l) : [] });
  }
}
