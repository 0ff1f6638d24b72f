/**
 * Kernel benchmarks: the simulated Mach VM with the in-memory pager of
 * memory-pager.ts, so that what is measured is the kernel (fault path,
 * messages, page table, pageout), not a store. Figures only: nothing here
 * asserts on time.
 *
 * Each scenario gets a fresh kernel, so its statistics (pageins, pageouts,
 * fault latency) are its own. The memory scenario runs first, while the
 * process is still small, so that its RSS baseline means something.
 */
import { performance } from 'node:perf_hooks';
import {
  IpcSystem,
  Kernel,
  MemorySwap,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type VmStatisticsRecord,
  type VmWindow,
} from '../kernel/index.js';
import { MemoryPager, type MemoryPagerOptions } from './memory-pager.js';
import { KiB, MiB, printTable, type BenchRow, type Print } from './table.js';
import { xorshift32 } from './xorshift.js';

const PAGE = 4 * KiB;
const BIG_READ = 128 * KiB;

export interface KernelBenchOptions {
  print?: Print;
  /** How long each timed loop runs. Default 2000 ms. */
  durationMs?: number;
  /** Divide every pool and object size by this (a quick run). Default 1. */
  shrink?: number;
}

interface Setup {
  readonly kernel: Kernel;
  readonly pager: MemoryPager;
  readonly window: VmWindow;
  close(): Promise<void>;
}

/** A kernel with `cacheBytes` of frames, an in-memory pager, and a client's window on `objectBytes` of its object. */
async function setup(cacheBytes: number, objectBytes: number, pagerOptions?: MemoryPagerOptions): Promise<Setup> {
  const ipc = new IpcSystem();
  const kernel = new Kernel({ ipc, cacheSize: cacheBytes, pageSize: PAGE, swap: new MemorySwap(PAGE) });
  const pager = new MemoryPager(ipc, pagerOptions);
  const client = ipc.createSpace('bench-client');
  const memoryObject = pager.giveSendRight(client);
  const window = await kernel.vmMap(client, memoryObject, 0, objectBytes);
  return {
    kernel,
    pager,
    window,
    async close() {
      // Let go of the object and wait for its terminate, so that no page is still on its way when the kernel stops.
      window.deallocate();
      await pager.terminated;
      await kernel.shutdown();
      await pager.stop();
      client.terminate();
    },
  };
}


function check(result: { bytes: number; error: number }, wanted: number, what: string): void {
  if (result.error !== 0 || result.bytes !== wanted)
    throw new Error(`${what}: ${result.bytes} of ${wanted} bytes, errno ${result.error}`);
}

function latency(stats: VmStatisticsRecord): string {
  const l = stats.fault_latency;
  return `fault p50 ${Math.round(l.p50_us)} µs, p99 ${Math.round(l.p99_us)} µs`;
}

const mib = (bytes: number): string => `${bytes / MiB} MiB`;

// ---------------------------------------------------------------- faults

/** Random page-aligned 4 KiB reads, `concurrency` at a time, over an object 32x the pool. */
async function randomFaults(cacheBytes: number, durationMs: number, concurrency: number): Promise<BenchRow> {
  const objectBytes = cacheBytes * 32;
  const s = await setup(cacheBytes, objectBytes);
  const pages = objectBytes / PAGE;
  const next = xorshift32();
  const reader = async (deadline: number, limit: number): Promise<number> => {
    const buffer = Buffer.alloc(PAGE);
    let reads = 0;
    while (reads < limit && performance.now() < deadline) {
      const offset = (next() % pages) * PAGE;
      check(await s.window.memcpy(offset, buffer, VM_PROT_READ), PAGE, 'random read');
      reads++;
    }
    return reads;
  };
  // Untimed: fill the pool, so that the timed part evicts as it faults (the steady state).
  await reader(Infinity, s.kernel.frameCount);
  const before = s.kernel.statistics();
  const started = performance.now();
  const deadline = started + durationMs;
  const counts = await Promise.all(Array.from({ length: concurrency }, () => reader(deadline, Infinity)));
  const seconds = (performance.now() - started) / 1000;
  const after = s.kernel.statistics();
  await s.close();
  const reads = counts.reduce((a, b) => a + b, 0);
  const pageins = after.pageins - before.pageins;
  return {
    name: `faults: random 4 KiB reads, ${concurrency} in flight`,
    value: pageins / seconds,
    unit: 'pages/s',
    detail: `${Math.round(reads / seconds)} reads/s, hit ${pct(reads - pageins, reads)}, ${latency(after)}, pool ${mib(cacheBytes)}, object ${mib(objectBytes)}`,
  };
}

/** Sequential 128 KiB reads of pages never read before (cold), over an object far larger than the pool. */
async function sequentialFaults(cacheBytes: number, durationMs: number): Promise<BenchRow[]> {
  // Sparse: pages never written cost the pager nothing, so the object can be far bigger than one run reads.
  const objectBytes = cacheBytes * 1024;
  const s = await setup(cacheBytes, objectBytes);
  const buffer = Buffer.alloc(BIG_READ);
  const before = s.kernel.statistics();
  const started = performance.now();
  const deadline = started + durationMs;
  let offset = 0;
  while (offset + BIG_READ <= objectBytes && performance.now() < deadline) {
    check(await s.window.memcpy(offset, buffer, VM_PROT_READ), BIG_READ, 'sequential read');
    offset += BIG_READ;
  }
  const seconds = (performance.now() - started) / 1000;
  const after = s.kernel.statistics();
  await s.close();
  const pageins = after.pageins - before.pageins;
  const requests = after.data_requests - before.data_requests;
  const name = 'faults: sequential 128 KiB reads, cold';
  return [
    {
      name,
      value: pageins / seconds,
      unit: 'pages/s',
      detail: `${(pageins / Math.max(1, requests)).toFixed(1)} pages per data_request, ${latency(after)}, pool ${mib(cacheBytes)}`,
    },
    { name, value: offset / MiB / seconds, unit: 'MiB/s', detail: `${(offset / MiB).toFixed(0)} MiB read` },
  ];
}

// ---------------------------------------------------------------- hits

/** Reads of resident pages: copySync (no promise) at 4 KiB and 128 KiB, and the awaited memcpy at 4 KiB. */
async function hits(cacheBytes: number, durationMs: number): Promise<BenchRow[]> {
  const objectBytes = cacheBytes / 2;
  const s = await setup(cacheBytes, objectBytes);
  const w = s.window;
  const warm = Buffer.alloc(BIG_READ);
  for (let offset = 0; offset < objectBytes; offset += BIG_READ) check(await w.memcpy(offset, warm, VM_PROT_READ), BIG_READ, 'warm-up read');

  const rows: BenchRow[] = [];
  const where = `${mib(objectBytes)} resident, pool ${mib(cacheBytes)}`;
  const syncLoop = (size: number): { reads: number; seconds: number } => {
    const buffer = Buffer.alloc(size);
    const slots = objectBytes / size;
    const next = xorshift32();
    const started = performance.now();
    const deadline = started + durationMs;
    let reads = 0;
    do {
      for (let i = 0; i < 256; i++) {
        if (w.copySync((next() % slots) * size, buffer, VM_PROT_READ) !== size) throw new Error('copySync missed a resident page');
      }
      reads += 256;
    } while (performance.now() < deadline);
    return { reads, seconds: (performance.now() - started) / 1000 };
  };

  const small = syncLoop(PAGE);
  rows.push(
    { name: 'hits: random 4 KiB reads, copySync', value: small.reads / small.seconds, unit: 'hits/s', detail: where },
    { name: 'hits: random 4 KiB reads, copySync', value: (small.reads * PAGE) / MiB / small.seconds, unit: 'MiB/s' },
  );
  const big = syncLoop(BIG_READ);
  rows.push(
    {
      name: 'hits: random 128 KiB reads, copySync',
      value: (big.reads * (BIG_READ / PAGE)) / big.seconds,
      unit: 'hits/s',
      detail: `${Math.round(big.reads / big.seconds)} reads/s (32 pages each)`,
    },
    { name: 'hits: random 128 KiB reads, copySync', value: (big.reads * BIG_READ) / MiB / big.seconds, unit: 'MiB/s' },
  );

  // The same 4 KiB hits through the promise API a file system would await.
  const buffer = Buffer.alloc(PAGE);
  const slots = objectBytes / PAGE;
  const next = xorshift32();
  const started = performance.now();
  const deadline = started + durationMs / 2;
  let reads = 0;
  do {
    check(await w.memcpy((next() % slots) * PAGE, buffer, VM_PROT_READ), PAGE, 'memcpy hit');
    reads++;
  } while (performance.now() < deadline);
  const seconds = (performance.now() - started) / 1000;
  rows.push({ name: 'hits: random 4 KiB reads, await memcpy', value: reads / seconds, unit: 'hits/s', detail: `${((reads * PAGE) / MiB / seconds).toFixed(0)} MiB/s` });
  await s.close();
  return rows;
}

// ---------------------------------------------------------------- pageout

/** Sequential 128 KiB writes over an object 10x the pool: every page is faulted in, dirtied, and evicted with data_return. */
async function pageout(cacheBytes: number): Promise<BenchRow> {
  const objectBytes = cacheBytes * 10;
  const s = await setup(cacheBytes, objectBytes);
  const buffer = Buffer.alloc(BIG_READ, 0x5a);
  const before = s.kernel.statistics();
  const started = performance.now();
  for (let offset = 0; offset < objectBytes; offset += BIG_READ) check(await s.window.memcpy(offset, buffer, VM_PROT_WRITE), BIG_READ, 'write');
  const seconds = (performance.now() - started) / 1000;
  const after = s.kernel.statistics();
  await s.close();
  const pageouts = after.pageouts - before.pageouts;
  return {
    name: 'pageout: dirty pages returned (data_return)',
    value: pageouts / seconds,
    unit: 'pages/s',
    detail:
      `${(objectBytes / MiB / seconds).toFixed(0)} MiB/s written, ${after.data_returns - before.data_returns} data_returns, ` +
      `double-paged ${after.double_paged}, pool ${mib(cacheBytes)}, object ${mib(objectBytes)}`,
  };
}

// ---------------------------------------------------------------- memory

/**
 * Write an object 10x the pool sequentially, with a pager that drops what
 * it is given, and watch memory: the process's RSS (sampled at every write
 * and by a timer) and the kernel's own accounting of frames in use
 * (frames - free_count, which includes laundry: frames whose data is in a
 * data_return not yet received).
 */
async function memory(cacheBytes: number): Promise<BenchRow[]> {
  const objectBytes = cacheBytes * 10;
  const rssBefore = process.memoryUsage.rss();
  // Set once the kernel exists (the pager's hook is made before it).
  const watched: { kernel?: Kernel } = {};
  let rssPeak = rssBefore;
  let inUsePeak = 0;
  let laundryPeak = 0;
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (!watched.kernel) return;
    const stats = watched.kernel.statistics();
    inUsePeak = Math.max(inUsePeak, stats.frames - stats.free_count);
    laundryPeak = Math.max(laundryPeak, stats.laundry_count);
  };
  // Sampled also when the pager takes the first data_return of a burst:
  // that is when the most frames are in the laundry (a pageout pass has
  // just sent its victims and the pager has not taken them yet).
  let filling = true;
  let inBurst = false;
  const s = await setup(cacheBytes, objectBytes, {
    keepReturned: false,
    onReceive: (msg) => {
      const isReturn = msg.id === 'memory_object_data_return';
      if (filling && isReturn && !inBurst) sample();
      inBurst = isReturn;
    },
  });
  watched.kernel = s.kernel;
  const frames = s.kernel.frameCount;
  // And by a timer: between writes the kernel and the pager run on their own.
  const timer = setInterval(sample, 5);
  const buffer = Buffer.alloc(BIG_READ, 0xa5);
  const started = performance.now();
  for (let offset = 0; offset < objectBytes; offset += BIG_READ) {
    check(await s.window.memcpy(offset, buffer, VM_PROT_WRITE), BIG_READ, 'write');
    sample();
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  // Termination returns every dirty page at once; that is not the fill.
  filling = false;
  const after = s.kernel.statistics();
  await s.close();
  const rssAfter = process.memoryUsage.rss();
  const maxRss = process.resourceUsage().maxRSS * KiB;
  const fill = `fill of ${mib(objectBytes)} with a ${mib(cacheBytes)} pool`;
  return [
    { name: 'memory: frame pool', value: cacheBytes / MiB, unit: 'MiB', detail: `${frames} frames of ${PAGE / KiB} KiB` },
    {
      name: 'memory: kernel peak frames in use',
      value: (inUsePeak * PAGE) / MiB,
      unit: 'MiB',
      detail: `${inUsePeak} of ${frames} frames (resident + laundry), ${inUsePeak <= frames ? 'never above the pool' : 'ABOVE THE POOL'}`,
    },
    { name: 'memory: kernel peak laundry', value: laundryPeak, unit: 'pages', detail: `laundry_count; double-paged ${after.double_paged}` },
    { name: 'memory: fill throughput', value: objectBytes / MiB / seconds, unit: 'MiB/s', detail: `${after.pageouts} pages returned, ${fill}` },
    { name: 'memory: RSS before the kernel', value: rssBefore / MiB, unit: 'MiB', detail: 'process.memoryUsage().rss' },
    { name: 'memory: RSS peak during the fill', value: rssPeak / MiB, unit: 'MiB', detail: `+${((rssPeak - rssBefore) / MiB).toFixed(0)} MiB over before, sampled` },
    { name: 'memory: RSS after', value: rssAfter / MiB, unit: 'MiB', detail: `process maxRSS so far ${(maxRss / MiB).toFixed(0)} MiB` },
  ];
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * Math.max(0, part)) / whole).toFixed(1)}%` : '-';
}

/** Run every kernel benchmark, print their table, and return the rows. */
export async function benchKernel(options: KernelBenchOptions = {}): Promise<BenchRow[]> {
  const print = options.print ?? ((line: string) => console.log(line));
  const duration = options.durationMs ?? 2000;
  const shrink = options.shrink ?? 1;
  const size = (bytes: number): number => Math.max(64 * PAGE, Math.floor(bytes / shrink / PAGE) * PAGE);

  const memoryRows = await memory(size(64 * MiB));
  const rows: BenchRow[] = [];
  rows.push(await randomFaults(size(32 * MiB), duration, 1));
  rows.push(await randomFaults(size(32 * MiB), duration, 16));
  rows.push(...(await sequentialFaults(size(32 * MiB), duration)));
  rows.push(...(await hits(size(64 * MiB), duration * 0.75)));
  rows.push(await pageout(size(16 * MiB)));
  rows.push(...memoryRows);
  printTable('kernel: simulated Mach VM with an in-memory pager (4 KiB pages)', rows, print);
  return rows;
}
