/**
 * The Prometheus endpoint: the exposition text of a known record, scraped
 * over HTTP (counters, gauges, labels, units), the record read once per
 * scrape, loopback only; and `mount --metrics` / `-o metrics=`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { formatMetricsAddress, isLoopback, parseMetricsAddress } from '../../daemon/control/metrics-address.js';
import { metricsText, startMetrics, type MetricsEndpoint } from '../../daemon/control/metrics.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { removeTemp, runInProcess, tempDir } from '../cli/harness.js';
import { statsRecord, WORKLOAD } from './fake-daemon.js';

const RECORD = statsRecord({
  ...WORKLOAD,
  wire_count: 3,
  laundry_count: 1,
  evictions_clean: 7,
  messages_sent: { memory_object_data_request: 110, memory_object_init: 3 },
  messages_received: { memory_object_data_supply: 110 },
  store: { reads: 110, writes: 4, bytes_read: 450560, bytes_written: 16384, syncs: 2 },
  pager: { pages_read: 110, pages_written: 4 },
  fs: { mountpoint: '/mnt/x', store: 'sqlite:/srv/fs.db', files_open: 2 },
});

let endpoint: MetricsEndpoint | undefined;

afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

/** `name{labels} value` lines of an exposition text, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('the exposition text', () => {
  it('counters _total, gauges by state and level, messages by msg, latency in seconds (histogram and quantiles), the info line', async () => {
    const text = await metricsText(RECORD);
    const s = samples(text);
    const expected: [string, number][] = [
      ['machpager_faults_total', 120],
      ['machpager_lookups_total', 400],
      ['machpager_hits_total', 300],
      ['machpager_pageins_total', 110],
      ['machpager_pageouts_total', 5],
      ['machpager_zero_fills_total', 10],
      ['machpager_evictions_total{kind="clean"}', 7],
      ['machpager_evictions_total{kind="dirty"}', 5],
      ['machpager_pages{state="free"}', 392],
      ['machpager_pages{state="active"}', 100],
      ['machpager_pages{state="inactive"}', 20],
      ['machpager_pages{state="wired"}', 3],
      ['machpager_pages{state="laundry"}', 1],
      ['machpager_frames', 512],
      ['machpager_free_target_pages{level="low"}', 16],
      ['machpager_page_size_bytes', 4096],
      ['machpager_cache_size_bytes', 2097152],
      ['machpager_messages_sent_total{msg="data_request"}', 110],
      ['machpager_messages_sent_total{msg="init"}', 3],
      ['machpager_messages_received_total{msg="data_supply"}', 110],
      ['machpager_pager_pages_read_total', 110],
      ['machpager_pager_pages_written_total', 4],
      ['machpager_store_reads_total', 110],
      ['machpager_store_writes_total', 4],
      ['machpager_store_read_bytes_total', 450560],
      ['machpager_store_written_bytes_total', 16384],
      ['machpager_store_syncs_total', 2],
      ['machpager_fault_latency_quantile_seconds{quantile="0.5"}', 0.000035],
      ['machpager_fault_latency_quantile_seconds{quantile="0.99"}', 0.00041],
      ['machpager_fault_latency_seconds_bucket{le="0.00005"}', 70],
      ['machpager_fault_latency_seconds_bucket{le="+Inf"}', 120],
      ['machpager_fault_latency_seconds_sum', 0.00624],
      ['machpager_fault_latency_seconds_count', 120],
      ['machpager_fault_latency_max_seconds', 0.0012],
      ['machpager_fault_latency_observations_total', 120],
      ['machpager_files_open', 2],
      ['machpager_uptime_seconds', 10],
      ['machpager_info{store="sqlite:/srv/fs.db",mountpoint="/mnt/x",cache_mode="direct",policy="mach"}', 1],
    ];
    for (const [name, value] of expected) expect([name, s.get(name)]).toEqual([name, expect.closeTo(value, 12) as unknown]);
    expect(text).toContain('# TYPE machpager_faults_total counter');
    expect(text).toContain('# TYPE machpager_pages gauge');
    expect(text).toContain('# TYPE machpager_fault_latency_quantile_seconds gauge');
    expect(text).toContain('# TYPE machpager_fault_latency_seconds histogram');
    // Every name is a valid Prometheus name; every counter ends in _total.
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      expect(m[1]).toMatch(/^machpager_[a-z_]+$/);
      if (m[2] === 'counter') expect(m[1]).toMatch(/_total$/);
    }
  });

  it('injected faults by operation, only on a mount with --inject', async () => {
    const stats = { reads: 9, writes: 4, syncs: 1, injected: 6, injected_reads: 3, injected_writes: 0, injected_syncs: 1, injected_allocates: 0 };
    const more = { injected_operations: 2, frozen_operations: 0, frozen_waiting: 0, latency_ms: 0 };
    const inject = { spec: 'read=EIO,rename=EIO', enabled: true, frozen: false, stats: { ...stats, ...more }, rules: [{ rule: 'read=EIO', injected: 3 }] };
    const s = samples(await metricsText({ ...RECORD, inject }));
    expect(s.get('machpager_injected_faults_total{op="read"}')).toBe(3);
    expect(s.get('machpager_injected_faults_total{op="sync"}')).toBe(1);
    expect(s.get('machpager_injected_faults_total{op="operation"}')).toBe(2);
    expect([...samples(await metricsText(RECORD)).keys()].filter((k) => k.startsWith('machpager_injected'))).toEqual([]);
  });
});

describe('startMetrics', () => {
  it('serves GET /metrics on a loopback port, reading the record once per scrape', async () => {
    let calls = 0;
    let record: StatsRecord = RECORD;
    endpoint = await startMetrics('127.0.0.1:0', () => {
      calls++;
      return record;
    });
    expect(endpoint.host).toBe('127.0.0.1');
    expect(endpoint.port).toBeGreaterThan(0);
    expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}/metrics`);
    const res = await fetch(endpoint.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(samples(await res.text()).get('machpager_faults_total')).toBe(120);
    expect(calls).toBe(1);
    record = statsRecord({ ...RECORD, faults: 121 });
    const [a, b] = await Promise.all([fetch(endpoint.url).then((r) => r.text()), fetch(endpoint.url).then((r) => r.text())]);
    expect([samples(a).get('machpager_faults_total'), samples(b).get('machpager_faults_total')]).toEqual([121, 121]);
    expect(calls).toBe(3);
    expect((await fetch(`http://127.0.0.1:${endpoint.port}/other`)).status).toBe(404);
    expect((await fetch(endpoint.url, { method: 'POST' })).status).toBe(405);
  });

  it('a record that cannot be read is a 500 with the reason, and the endpoint stays up', async () => {
    let fail = true;
    endpoint = await startMetrics({ host: '127.0.0.1', port: 0 }, () => {
      if (fail) throw new Error('the kernel is gone');
      return Promise.resolve(RECORD);
    });
    const bad = await fetch(endpoint.url);
    expect(bad.status).toBe(500);
    expect(await bad.text()).toBe('machpager: cannot read the statistics: the kernel is gone\n');
    fail = false;
    expect((await fetch(endpoint.url)).status).toBe(200);
  });

  it('refuses a non-loopback address, and a port in use', async () => {
    await expect(startMetrics('0.0.0.0:9464', () => RECORD)).rejects.toThrow(/0\.0\.0\.0 is not a loopback address/);
    await expect(startMetrics('10.1.2.3:9464', () => RECORD)).rejects.toMatchObject({ code: 'EINVAL' });
    endpoint = await startMetrics('127.0.0.1:0', () => RECORD);
    await expect(startMetrics(`127.0.0.1:${endpoint.port}`, () => RECORD)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('parseMetricsAddress: the spellings, and what is refused', () => {
    expect(parseMetricsAddress('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress(':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('localhost:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('127.0.0.2:0')).toEqual({ host: '127.0.0.2', port: 0 });
    expect(parseMetricsAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(formatMetricsAddress({ host: '::1', port: 9464 })).toBe('[::1]:9464');
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    for (const [bad, why] of [
      ['0.0.0.0:9464', /not a loopback address/],
      ['[::]:9464', /not a loopback address/],
      ['example.com:9464', /not an IP address/],
      ['127.0.0.1:70000', /the port is a number from 0 to 65535/],
      ['127.0.0.1', /not ADDR:PORT/],
      ['::1:9464', /in brackets/],
    ] as const) {
      expect(() => parseMetricsAddress(bad)).toThrow(why);
    }
  });
});

describe('mount --metrics', () => {
  let tmp = '';
  afterEach(async () => {
    if (tmp) await removeTemp(tmp);
  });

  it('--metrics and -o metrics= are checked before anything happens, and --dry-run says where it would listen', async () => {
    tmp = await tempDir('metrics-mount');
    await mkdir(path.join(tmp, 'mnt'));
    const env = { MACHPAGER_HOME: path.join(tmp, 'home') };
    const dry = await runInProcess(['mount', '--dry-run', '-o', 'metrics=127.0.0.1:9464', 'mnt'], { cwd: tmp, env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('; metrics on http://127.0.0.1:9464/metrics; in the foreground; nothing was changed');
    const refused = await runInProcess(['mount', '--metrics', '0.0.0.0:9464', 'mnt'], { cwd: tmp, env });
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.lines).toEqual([
      'machpager: --metrics 0.0.0.0:9464: 0.0.0.0 is not a loopback address: the endpoint has no authentication, so it listens on 127.0.0.1 or [::1] only (publish it through a reverse proxy)',
    ]);
    expect(refused.opened).toEqual([]);
    const conflict = await runInProcess(['mount', '--metrics', '9464', '-o', 'metrics=9465', 'mnt'], { cwd: tmp, env });
    expect(conflict.lines).toEqual(['machpager: --metrics 9464: conflicts with -o metrics=9465']);
    const fromEnv = await runInProcess(['mount', '--dry-run', 'mnt'], { cwd: tmp, env: { ...env, MACHPAGER_METRICS: 'nope' } });
    expect(fromEnv.lines).toEqual(["machpager: MACHPAGER_METRICS=nope: not ADDR:PORT (like 127.0.0.1:9464)"]);
  });
});
