/**
 * Every live policy drives a real mount's pageout daemon (issue 6): the same
 * workload under each, with a cache far smaller than the data, and the
 * figures must agree with each other: the daemon's evictions are the files'
 * evictions, each file's pages in minus pages out is what is resident, every
 * frame is free or holds a tracked page, pageouts are the dirty evictions
 * plus what sync returned. The page-access trace recorded meanwhile has one
 * request per page lookup.
 *
 * Needs /dev/fuse and the build (npm run build).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyNames } from '../../kernel/index.js';
import { parseTrace } from '../../kernel/policy/trace.js';
import type { FileRecord } from '../../daemon/control/protocol.js';
import type { StatsRecord } from '../../daemon/control/stats-record.js';
import { MACHPAGER, machpager, machpagerJson, mount } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';

const dir = mountsDir('policies');

// 2 MiB of data through a 256 KiB cache (64 pages): written, read sequentially twice, then read at random.
// The files stay open throughout (fds 3-5), and the figures are read before they close: an object the
// cache has emptied and nobody maps is terminated, and its counts go with it.
const WORKLOAD = [
  ': > a && : > b && : > sums && exec 3<a 4<b 5<sums',
  'head -c 1048576 /dev/urandom > a',
  'head -c 1048576 /dev/urandom > b',
  'sha256sum a b > sums',
  'cat a b > /dev/null',
  'cat b a > /dev/null',
  'for i in $(seq 1 200); do dd if=a of=/dev/null bs=4096 skip=$(( (i * 37) % 256 )) count=1 status=none; done',
  'sha256sum -c --quiet sums',
].join(' && ');

/** The CLI as the workload's shell runs it (JSON into `out`). */
function cliLine(args: string, out: string): string {
  return `${JSON.stringify(process.execPath)} ${JSON.stringify(MACHPAGER)} ${args} --json > ${JSON.stringify(out)}`;
}

describe.each(policyNames())('policy %s on a live mount', (policy) => {
  it('runs the workload; evictions, pageins and residency add up in stats and files', async () => {
    const m = await mount({ store: `sqlite:${path.join(dir(), `${policy}.db`)}`, mnt: path.join(dir(), policy), cacheSize: '256K', pageSize: '4K', policy });
    const stats = (): Promise<StatsRecord> => machpagerJson<StatsRecord>(['stats', m.mnt]);
    const traceFile = path.join(dir(), `${policy}.trace`);
    const s0 = await stats();
    expect(s0.policy).toBe(policy);
    const started = await machpager(['trace', 'start', traceFile, m.mnt]);
    expect(started.code, started.stderr).toBe(0);

    const out = (name: string): string => path.join(dir(), `${policy}.${name}.json`);
    const mnt = JSON.stringify(m.mnt);
    await m.shOk(
      [WORKLOAD, cliLine(`trace stop ${mnt}`, out('trace')), cliLine(`stats ${mnt}`, out('stats')), cliLine(`files ${mnt}`, out('files'))].join(' && '),
      { timeoutMs: 180_000 },
    );
    const json = async <T>(name: string): Promise<T> => JSON.parse(await readFile(out(name), 'utf8')) as T;
    const stopped = await json<{ requests: number; dropped: number }>('trace');
    const s1 = await json<StatsRecord>('stats');
    const files = await json<FileRecord[]>('files');
    expect(files.map((f) => f.path).sort()).toEqual(['/a', '/b', '/sums']);

    // The pageout daemon ran, under this policy, and chose every victim through it.
    const evicted = s1.evictions_clean + s1.evictions_dirty - (s0.evictions_clean + s0.evictions_dirty);
    expect(evicted).toBeGreaterThan(500);
    expect(s1.policy).toBe(policy);
    const sum = (get: (f: FileRecord) => number): number => files.reduce((n, f) => n + get(f), 0);
    // Every eviction the daemon counted is one of the files' (no other objects hold file pages).
    expect(sum((f) => f.evictions)).toBe(s1.evictions_clean + s1.evictions_dirty);
    // Per file: what came in and did not go out is resident.
    for (const f of files) expect(f.pageins + f.zero_fills - f.evictions, f.path).toBe(f.resident_pages);
    // Every frame is free, or holds a page the policy tracks (nothing wired, no laundry left).
    expect(s1.laundry_count).toBe(0);
    expect(s1.wire_count).toBe(0);
    expect(s1.active_count + s1.inactive_count).toBe(sum((f) => f.resident_pages));
    expect(s1.free_count + s1.active_count + s1.inactive_count).toBe(s1.frames);
    // Dirty pages went back to the pager only by eviction (no sync, no evict yet). A pager that fell
    // behind under load has some double-paged: returned to swap first, then again to the pager.
    expect(s1.pageouts - s0.pageouts).toBe(s1.evictions_dirty - s0.evictions_dirty + s1.double_paged_delivered - s0.double_paged_delivered);
    expect(s1.pages_lost).toBe(0);

    // The trace has one request per page lookup.
    expect(stopped.dropped).toBe(0);
    expect(stopped.requests).toBe(s1.lookups - s0.lookups);
    const trace = parseTrace(await readFile(traceFile, 'utf8'));
    expect(trace.ids.length).toBe(stopped.requests);
    expect(trace.distinct).toBe(256 + 256 + 1);

    // sync returns the rest: pageouts then equal dirty evictions plus the pages sync wrote.
    const dirty = s1.dirty_count;
    expect((await machpager(['sync', m.mnt])).code).toBe(0);
    const s2 = await stats();
    expect(s2.dirty_count).toBe(0);
    expect(s2.pageouts - s1.pageouts).toBe(dirty);
    expect(await m.stop()).toBe(0);
  });
});
