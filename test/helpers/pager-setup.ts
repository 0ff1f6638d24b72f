/** A kernel, a pager task with one pager over in-memory pages, and a client mapping it. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IpcSpace, IpcSystem, Kernel, KernelOptions, VmWindow } from '../../kernel/index.js';
import { PagerRig } from '../../bench/pager-rig.js';
import { PagerError, type PagerRequests, type Pager, type PagerCallbacks, type PagerOptions, type PagerRequestsOptions, type PageRead } from '../../daemon/pager/index.js';

export const PAGE = 4096;

/** Page data in a Map, with hooks a test can set: errors, latency, write locks, a log of calls. */
export class MemoryCallbacks implements PagerCallbacks {
  readonly pages = new Map<number, Buffer>();
  readonly calls: string[] = [];
  readFault: ((offset: number) => Error | undefined) | undefined;
  writeFault: ((offset: number) => Error | undefined) | undefined;
  unlockFault: ((offset: number) => Error | undefined) | undefined;
  /** Milliseconds each read or write takes. */
  latency = 0;
  writeLockHoles = false;
  bulk = true;
  evicted: number[] = [];
  cleared = false;
  /** Writes in progress, per page: never above 1 (row 29). */
  readonly writing = new Map<number, number>();
  maxConcurrentWritesPerPage = 0;
  readsInFlight = 0;
  maxReadsInFlight = 0;

  constructor(readonly size = 1 << 30) {}

  private async delay(): Promise<void> {
    if (this.latency > 0) await sleep(this.latency);
  }

  async readPage(offset: number, into: Buffer): Promise<PageRead | void> {
    this.calls.push(`read ${offset / PAGE}+${into.length / PAGE}`);
    this.readsInFlight++;
    this.maxReadsInFlight = Math.max(this.maxReadsInFlight, this.readsInFlight);
    try {
      await this.delay();
      const err = this.readFault?.(offset);
      if (err) throw err;
      const locks: boolean[] = [];
      for (let i = 0; i * PAGE < into.length; i++) {
        const page = this.pages.get(offset / PAGE + i);
        if (page) page.copy(into, i * PAGE);
        else into.fill(0, i * PAGE, (i + 1) * PAGE);
        locks.push(this.writeLockHoles && !page);
      }
      return { writeLock: locks };
    } finally {
      this.readsInFlight--;
    }
  }

  async writePage(offset: number, data: Buffer): Promise<void> {
    this.calls.push(`write ${offset / PAGE}`);
    await this.store(offset, data);
  }

  async writePages(offset: number, data: Buffer): Promise<number> {
    if (!this.bulk) return 0;
    this.calls.push(`writePages ${offset / PAGE}+${data.length / PAGE}`);
    await this.store(offset, data);
    return data.length;
  }

  private async store(offset: number, data: Buffer): Promise<void> {
    const pages = data.length / PAGE;
    for (let i = 0; i < pages; i++) {
      const page = offset / PAGE + i;
      const n = (this.writing.get(page) ?? 0) + 1;
      this.writing.set(page, n);
      this.maxConcurrentWritesPerPage = Math.max(this.maxConcurrentWritesPerPage, n);
    }
    try {
      await this.delay();
      const err = this.writeFault?.(offset);
      if (err) throw err;
      for (let i = 0; i < pages; i++) this.pages.set(offset / PAGE + i, Buffer.from(data.subarray(i * PAGE, (i + 1) * PAGE)));
    } finally {
      for (let i = 0; i < pages; i++) this.writing.set(offset / PAGE + i, (this.writing.get(offset / PAGE + i) ?? 1) - 1);
    }
  }

  unlockPage(offset: number): Promise<void> {
    this.calls.push(`unlock ${offset / PAGE}`);
    const err = this.unlockFault?.(offset);
    return err ? Promise.reject(err) : Promise.resolve();
  }

  reportExtent(): { offset: number; size: number } {
    return { offset: 0, size: this.size };
  }

  notifyEvict(offset: number): void {
    this.evicted.push(offset / PAGE);
  }

  clearUserData(): void {
    this.cleared = true;
  }

  page(index: number): Buffer {
    return this.pages.get(index) ?? Buffer.alloc(PAGE);
  }

  /** The pages from `first` on hold `data` (whole pages; a page never written holds zeros). */
  holds(first: number, data: Buffer): boolean {
    for (let i = 0; i * PAGE < data.length; i++) if (!this.page(first + i).equals(data.subarray(i * PAGE, (i + 1) * PAGE))) return false;
    return true;
  }
}

export interface PagerSetup {
  ipc: IpcSystem;
  kernel: Kernel;
  requests: PagerRequests;
  callbacks: MemoryCallbacks;
  pager: Pager;
  client: IpcSpace;
  logged: string[];
  map(pager?: Pager, size?: number): Promise<VmWindow>;
  newPager(callbacks: PagerCallbacks, options?: PagerOptions): Pager;
  close(): Promise<void>;
}

export function pagerSetup(
  kernelOptions: Partial<KernelOptions> = {},
  pagerOptions: PagerOptions = {},
  onError?: (err: unknown) => void,
  requestsOptions: Omit<PagerRequestsOptions, 'log' | 'onError'> = {},
): PagerSetup {
  const logged: string[] = [];
  const rig = new PagerRig({ cacheSize: 64 * PAGE, log: (l) => logged.push(l), kernel: kernelOptions, requests: { onError, ...requestsOptions } });
  const callbacks = new MemoryCallbacks();
  const pager = rig.createPager(callbacks, pagerOptions);
  return {
    ipc: rig.ipc,
    kernel: rig.kernel,
    requests: rig.requests,
    callbacks,
    pager,
    client: rig.client,
    logged,
    map: (p = pager, size = 1 << 30) => rig.map(p, size),
    newPager: (cb, options) => rig.createPager(cb, options),
    close: () => rig.shutdown(),
  };
}

export function fail(code: 'EIO' | 'ENOSPC' | 'EDQUOT'): PagerError {
  return new PagerError(code);
}

export function pattern(pages: number, seed = 0): Buffer {
  const buf = Buffer.alloc(pages * PAGE);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE((seed * 7919 + i) >>> 0, i);
  return buf;
}

export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
