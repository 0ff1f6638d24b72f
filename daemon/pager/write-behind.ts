/**
 * Writing returned pages: libpager's _pager_do_write_request, with the
 * writes gathered into runs. The kernel returns evicted pages one
 * data_return at a time; pages that follow each other are collected into
 * one run and written with one writePages call at the end of the burst.
 *
 * While a page is queued or being written it is PM_PAGINGOUT. A
 * data_request for it meanwhile is not read from the store (which holds the
 * old data): it is marked PM_PAGEINWAIT and answered with the very data
 * being written, once the write is done. A page returned again while its
 * earlier write is running waits for that write (PM_WRITEWAIT), so two
 * writes of one page never run at once; while it is only queued, the newer
 * data simply replaces the older.
 */
import { MACH_PORT_NULL, VM_PROT_NONE, type MemoryObjectDataSupply } from '../../kernel/index.js';
import { pagerErrno } from './errors.js';
import { PM_INCORE, PM_INIT, PM_INVALID, PM_PAGEINWAIT, PM_PAGINGOUT, PM_WRITEWAIT } from './pagemap.js';
import type { Pager } from './pager.js';

/** The longest run written at once, in pages. */
const MAX_RUN_PAGES = 256;

/** The buffer of one data_return, given back (vm_deallocate) when its last page is done. */
interface Returned {
  readonly data: Buffer;
  /** Pages of it not yet written (or replaced by newer data). */
  pending: number;
  /** A page of it went back to the kernel in a data_supply: the buffer is not ours to give back. */
  lent: boolean;
}

interface QueuedPage {
  data: Buffer;
  kernelCopy: boolean;
  from: Returned;
}

interface Run {
  first: number;
  pages: QueuedPage[];
}

export class WriteBehind {
  private run: Run | undefined;
  private readonly running = new Set<number>();
  private scheduled = false;
  private inProgress = 0;

  constructor(private readonly pager: Pager) {}

  /**
   * Queue the pages of a dirty data_return (starting at page `first`). Only
   * waits when one of them is being written right now.
   */
  async add(first: number, data: Buffer, kernelCopy: boolean): Promise<void> {
    const pager = this.pager;
    const pageSize = pager.pageSize;
    const from: Returned = { data, pending: data.length / pageSize, lent: false };
    for (let i = 0; i * pageSize < data.length; i++) {
      const page = first + i;
      while (this.running.has(page)) {
        pager.pagemap.add(page, PM_WRITEWAIT);
        await pager.waitUntil(() => !this.running.has(page));
      }
      const entry: QueuedPage = { data: data.subarray(i * pageSize, (i + 1) * pageSize), kernelCopy, from };
      const run = this.run;
      if (run && page >= run.first && page < run.first + run.pages.length) {
        // Queued but not started: the newer data wins.
        this.done(run.pages[page - run.first], false);
        run.pages[page - run.first] = entry;
      } else if (run && page === run.first + run.pages.length && run.pages.length < MAX_RUN_PAGES) {
        run.pages.push(entry);
      } else {
        this.startRun();
        this.run = { first: page, pages: [entry] };
      }
      pager.pagemap.add(page, PM_PAGINGOUT | PM_INIT);
    }
    this.schedule();
  }

  /** Whether any page in [first, end) is queued or being written. */
  pendingIn(first: number, end: number): boolean {
    const run = this.run;
    if (run && run.first < end && run.first + run.pages.length > first) return true;
    for (const page of this.running) if (page >= first && page < end) return true;
    return false;
  }

  get idle(): boolean {
    return !this.run && this.inProgress === 0;
  }

  /** Write everything queued and wait for every write. */
  async drain(): Promise<void> {
    this.startRun();
    await this.pager.waitUntil(() => this.idle);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // At the end of the burst: every data_return already queued is in the run by then.
    setImmediate(() => {
      this.scheduled = false;
      this.startRun();
    });
  }

  private startRun(): void {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    for (let i = 0; i < run.pages.length; i++) this.running.add(run.first + i);
    this.inProgress++;
    this.pager.noterm++;
    this.write(run).then(
      () => this.finished(),
      (err: unknown) => {
        this.finished();
        this.pager.requests.onError(err);
      },
    );
  }

  private finished(): void {
    this.inProgress--;
    this.pager.noterm--;
    this.pager.wakeup();
  }

  private async write(run: Run): Promise<void> {
    const pager = this.pager;
    const pageSize = pager.pageSize;
    const callbacks = pager.callbacks;
    const failed = new Set<number>();
    for (const span of spans(run)) {
      let done = 0;
      if (callbacks.writePages && span.pages > 1) {
        try {
          const written = await callbacks.writePages(span.first * pageSize, span.data);
          done = Math.max(0, Math.min(span.pages, Math.floor(written / pageSize)));
        } catch (err) {
          // A failed bulk write leaves the span to the per-page path, which reports per page.
          pager.requests.log(`pager ${pager.label}: writePages at ${span.first * pageSize}: ${String(err)}`);
        }
        if (done > 0) pager.stats.write_runs++;
      }
      for (let i = done; i < span.pages; i++) {
        const page = span.first + i;
        try {
          await callbacks.writePage(page * pageSize, span.data.subarray(i * pageSize, (i + 1) * pageSize));
        } catch (err) {
          failed.add(page);
          pager.stats.write_errors++;
          pager.requests.log(`pager ${pager.label}: writePage at ${page * pageSize}: ${String(err)} (errno ${pagerErrno(err)})`);
        }
      }
    }
    pager.stats.pages_written += run.pages.length - failed.size;
    for (let i = 0; i < run.pages.length; i++) {
      // One page's trouble (a throwing notifyEvict) must not leave the others "being written" for ever.
      try {
        this.complete(run.first + i, run.pages[i], failed.has(run.first + i));
      } catch (err) {
        pager.requests.onError(err);
      }
    }
  }

  /** After the write of one page: hand it to a waiting request, or note the kernel dropped it. */
  private complete(page: number, entry: QueuedPage, failed: boolean): void {
    const pager = this.pager;
    const pagemap = pager.pagemap;
    const state = pagemap.get(page);
    try {
      this.handOver(page, entry, failed, state);
    } finally {
      if (!failed) pagemap.clear(page, PM_INVALID);
      pagemap.clear(page, PM_PAGINGOUT | PM_PAGEINWAIT | PM_WRITEWAIT);
      this.running.delete(page);
      this.done(entry, (state & PM_PAGEINWAIT) !== 0);
    }
  }

  private handOver(page: number, entry: QueuedPage, failed: boolean, state: number): void {
    const pager = this.pager;
    const pagemap = pager.pagemap;
    if (state & PM_PAGEINWAIT) {
      // A request came while the page was being written: answer it with this data. If the
      // write failed, the page goes back precious, so that the kernel returns it again.
      pager.stats.pagein_waits++;
      pager.send<MemoryObjectDataSupply>({
        id: 'memory_object_data_supply',
        dest: pager.control,
        offset: page * pager.pageSize,
        data: entry.data,
        lockValue: VM_PROT_NONE,
        precious: pager.notifyOnEvict || failed,
        replyTo: MACH_PORT_NULL,
      });
    } else {
      if (failed) pagemap.add(page, PM_INVALID);
      if (!entry.kernelCopy) {
        pagemap.clear(page, PM_INCORE);
        if (pager.notifyOnEvict) notifyEvict(pager, page);
      }
    }
  }

  /** One page of a returned buffer is finished with; the last one gives the buffer back. */
  private done(entry: QueuedPage, lent: boolean): void {
    const from = entry.from;
    if (lent) from.lent = true;
    if (--from.pending === 0 && !from.lent) this.pager.space.system.memory.deallocate(from.data);
  }
}

/** pager_notify_evict, once per page the kernel dropped; the page's recorded errors go with it. */
export function notifyEvict(pager: Pager, page: number): void {
  pager.stats.evict_notifications++;
  pager.callbacks.notifyEvict?.(page * pager.pageSize);
  pager.pagemap.setError(page, 0);
  pager.pagemap.setNextError(page, 0);
}

/** Pages joined by copying into one buffer, at most: past this a span is written as it lies. */
const JOIN_PAGES = 32;

interface Span {
  first: number;
  pages: number;
  data: Buffer;
}

/**
 * A run cut into buffers to write: pages that lie side by side in one
 * received buffer (a multi-page data_return) stay views of it; single pages
 * from separate data_returns are copied together, up to JOIN_PAGES, so that
 * the store still sees large writes without copying what needs none.
 */
function spans(run: Run): Span[] {
  const out: Span[] = [];
  const pages = run.pages;
  let pending: { first: number; parts: Buffer[] } | undefined;
  const flushPending = (): void => {
    if (!pending) return;
    const data = pending.parts.length === 1 ? (pending.parts[0]) : Buffer.concat(pending.parts);
    out.push({ first: pending.first, pages: pending.parts.length, data });
    pending = undefined;
  };
  let i = 0;
  while (i < pages.length) {
    const first = (pages[i]).data;
    let j = i + 1;
    while (j < pages.length) {
      const data = (pages[j]).data;
      if (data.buffer !== first.buffer || data.byteOffset !== first.byteOffset + (j - i) * first.length) break;
      j++;
    }
    if (j - i >= JOIN_PAGES) {
      flushPending();
      out.push({ first: run.first + i, pages: j - i, data: Buffer.from(first.buffer, first.byteOffset, first.length * (j - i)) });
    } else {
      for (let k = i; k < j; k++) {
        if (pending && pending.parts.length >= JOIN_PAGES) flushPending();
        pending ??= { first: run.first + k, parts: [] };
        pending.parts.push((pages[k]).data);
      }
    }
    i = j;
  }
  flushPending();
  return out;
}
