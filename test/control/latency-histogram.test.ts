/**
 * Fault latency as a Prometheus histogram: the kernel's cumulative buckets
 * at fixed bounds (a value on a bound counts in it: `le`), and the scraped
 * text parsed back: bounds rising, counts cumulative, the +Inf bucket equal
 * to _count, _sum the sum; and the process metrics a Node exporter has.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { metricsText, startMetrics, type MetricsEndpoint } from '../../daemon/control/metrics.js';
import { checkStatsRecord } from '../../daemon/control/stats-record.js';
import { LatencyHistogram } from '../../kernel/vm/latency.js';
import { LATENCY_BOUNDS_US } from '../../kernel/index.js';
import { statsRecord } from './fake-daemon.js';

let endpoint: MetricsEndpoint | undefined;

afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

interface Parsed {
  types: Map<string, string>;
  /** `name{labels}` → value */
  values: Map<string, number>;
}

function parse(text: string): Parsed {
  const types = new Map<string, string>();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { types, values };
}

/** A histogram's buckets as [le, count], in the order of the text, and its _sum and _count. */
function histogram(text: string, name: string): { buckets: [number, number][]; sum: number; count: number } {
  const buckets: [number, number][] = [];
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) {
    buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  }
  const { values } = parse(text);
  return { buckets, sum: values.get(`${name}_sum`) ?? NaN, count: values.get(`${name}_count`) ?? NaN };
}

function expectHistogramInvariants(h: ReturnType<typeof histogram>): void {
  expect(h.buckets.length).toBeGreaterThan(1);
  expect(h.buckets.at(-1)?.[0]).toBe(Infinity);
  for (let i = 1; i < h.buckets.length; i++) {
    expect(h.buckets[i][0]).toBeGreaterThan(h.buckets[i - 1][0]);
    expect(h.buckets[i][1]).toBeGreaterThanOrEqual(h.buckets[i - 1][1]);
  }
  expect(h.buckets.at(-1)?.[1]).toBe(h.count);
}

describe('the kernel counts cumulative buckets at fixed bounds', () => {
  it('a value on a bound counts in it; values above the last bound only in the count; sum_us the sum', () => {
    const h = new LatencyHistogram();
    for (const us of [3, 10, 10.5, 25, 99, 100, 101, 20_000_000]) h.record(us);
    const s = h.summary();
    const at = (le: number): number | undefined => s.buckets.find((b) => b.le_us === le)?.count;
    expect(s.buckets.map((b) => b.le_us)).toEqual(LATENCY_BOUNDS_US);
    expect([at(10), at(25), at(50), at(100), at(250), at(10_000_000)]).toEqual([2, 4, 4, 6, 7, 7]);
    expect(s.count).toBe(8);
    expect(s.sum_us).toBeCloseTo(3 + 10 + 10.5 + 25 + 99 + 100 + 101 + 20_000_000, 1);
  });

  it('an empty histogram has every bucket at 0', () => {
    const s = new LatencyHistogram().summary();
    expect(s.buckets.every((b) => b.count === 0)).toBe(true);
    expect([s.count, s.sum_us]).toEqual([0, 0]);
  });

  it('the stats record check refuses buckets that are not cumulative', () => {
    const good = statsRecord();
    expect(() => checkStatsRecord(good)).not.toThrow();
    const bad = statsRecord({ fault_latency: { buckets: [{ le_us: 10, count: 5 }, { le_us: 25, count: 4 }] } });
    expect(() => checkStatsRecord(bad)).toThrow(/fault_latency\.buckets\[1\]/);
    const without: Partial<typeof good.fault_latency> = { ...good.fault_latency };
    delete without.buckets;
    expect(() => checkStatsRecord({ ...good, fault_latency: without })).toThrow(/fault_latency\.buckets is missing/);
  });
});

describe('machpager_fault_latency_seconds in the exposition text', () => {
  it('is a histogram whose buckets are cumulative and whose +Inf bucket is its _count', async () => {
    const h = new LatencyHistogram();
    // A spread over the whole range: fast hits, pager round trips, a slow store, a timeout.
    for (let i = 0; i < 500; i++) h.record(5 + ((i * 7919) % 400));
    for (let i = 0; i < 40; i++) h.record(1_000 + i * 250);
    h.record(3_000_000);
    h.record(45_000_000);
    const text = await metricsText(statsRecord({ fault_latency: h.summary() }));
    expect(parse(text).types.get('machpager_fault_latency_seconds')).toBe('histogram');
    const hist = histogram(text, 'machpager_fault_latency_seconds');
    expectHistogramInvariants(hist);
    expect(hist.count).toBe(542);
    expect(hist.buckets.map(([le]) => le)).toEqual([...LATENCY_BOUNDS_US.map((us) => us / 1e6), Infinity]);
    // The last finite bucket (10 s) leaves out only the 45 s fault.
    expect(hist.buckets.at(-2)?.[1]).toBe(541);
    expect(hist.sum).toBeCloseTo(h.summary().sum_us / 1e6, 6);
    // The quantiles stay, under a name of their own.
    expect(parse(text).types.get('machpager_fault_latency_quantile_seconds')).toBe('gauge');
  });

  it('an endpoint with no fault yet shows zeros, and the invariants hold', async () => {
    const hist = histogram(await metricsText(statsRecord()), 'machpager_fault_latency_seconds');
    expectHistogramInvariants(hist);
    expect([hist.count, hist.sum]).toEqual([0, 0]);
  });
});

describe('the process metrics', () => {
  it('the endpoint serves what a Node exporter gives by default: start time, CPU, memory, heap, event loop', async () => {
    endpoint = await startMetrics('127.0.0.1:0', () => statsRecord());
    const text = await (await fetch(endpoint.url)).text();
    const { types, values } = parse(text);
    expect(types.get('process_start_time_seconds')).toBe('gauge');
    expect(values.get('process_start_time_seconds')).toBeCloseTo(Math.round(performance.timeOrigin / 1000), -1);
    expect(types.get('process_cpu_seconds_total')).toBe('counter');
    expect(values.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(values.get('process_resident_memory_bytes')).toBeGreaterThan(1 << 20);
    expect(values.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    // The mount's own metrics are there too, beside them.
    expectHistogramInvariants(histogram(text, 'machpager_fault_latency_seconds'));
  });

  it('metricsText leaves them out unless asked', async () => {
    expect(parse(await metricsText(statsRecord())).types.has('process_start_time_seconds')).toBe(false);
    expect(parse(await metricsText(statsRecord(), { processMetrics: true })).types.has('process_start_time_seconds')).toBe(true);
  });
});
