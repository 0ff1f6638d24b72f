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
 *
 * A write that fails never loses the page (libpager marks it invalid and
 * drops the error; Linux marks it clean and reports once): the pager keeps
 * a copy, PM_HELD, with the store's errno. Requests for it are answered
 * from that copy, a newer return of the page replaces it, a flush (truncate,
 * unlink) drops it, and it is written again by every sync over it and by a
 * timer that backs off; sync, return and the close of a file report the
 * errno for as long as the page is not stored.
 */
import { MACH_PORT_NULL, VM_PROT_NONE,
  VM_PROT_WRITE, type MemoryObjectDataSupply, type OolMemory } from '../../kernel/index.js';
import { pagerErrno, type PagerErrno } from './errors.js';
import { PM_HELD, PM_INCORE, PM_INIT, PM_INVALID, PM_PAGEINWAIT, PM_PAGINGOUT, PM_WRITEWAIT } from './pagemap.js';
import type { Pager } from './pager.js';

/** The longest run written at once, in pages. */
const MAX_RUN_PAGES = 256;

/**
 * The buffer of one data_return, given back (vm_deallocate) when its last
 * page is done: until then the kernel counts its pages as laundry.
 */
interface Returned {
  readonly data: Buffer;
  /** Pages of it not yet written (or replaced by newer data). */
  pending: number;
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

/** A page whose write failed, kept until it is stored. */
interface HeldPage {
  readonly data: Buffer;
  readonly errno: PagerErrno;
  /** writeAttempts when it failed: a sync retries only what failed before it began. */
  readonly attempt: number;
}

/** The retry timer's first and longest wait. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** A held page's buffer: owned by the pager, never given back to the message memory pool. */
const HELD: Returned = { data: Buffer.alloc(0), pending: Infinity };

export class WriteBehind {
  private run: Run | undefined;
  private readonly running = new Set<number>();
  private scheduled = false;
  private inProgress = 0;
  private readonly held = new Map<number, HeldPage>();
  /** Runs started so far: orders failures against syncs. */
  private writeAttempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;

  constructor(private readonly pager: Pager) {}

  /**
   * Queue the pages of a dirty data_return (starting at page `first`). Only
   * waits when one of them is being written right now.
   */
  async add(first: number, data: Buffer, kernelCopy: boolean): Promise<void> {
    const pager = this.pager;
    const pageSize = pager.pageSize;
    const from: Returned = { data, pending: data.length / pageSize };
    for (let i = 0; i * pageSize < data.length; i++) {
      const page = first + i;
      while (this.running.has(page)) {
        pager.pagemap.add(page, PM_WRITEWAIT);
        await pager.waitUntil(() => !this.running.has(page));
      }
      // Newer data for a held page supersedes what was held.
      if (this.held.delete(page)) this.unheld(page);
      this.enqueue(page, { data: data.subarray(i * pageSize, (i + 1) * pageSize), kernelCopy, from });
    }
    this.schedule();
  }

  private enqueue(page: number, entry: QueuedPage): void {
    const run = this.run;
    if (run && page >= run.first && page < run.first + run.pages.length) {
      // Queued but not started: the newer data wins.
      this.done(run.pages[page - run.first]);
      run.pages[page - run.first] = entry;
    } else if (run && page === run.first + run.pages.length && run.pages.length < MAX_RUN_PAGES) {
      run.pages.push(entry);
    } else {
      this.startRun();
      this.run = { first: page, pages: [entry] };
    }
    this.pager.pagemap.add(page, PM_PAGINGOUT | PM_INIT);
  }

  // ------------------------------------------------------------ held pages

  /** Pages held because their write failed. */
  get heldCount(): number {
    return this.held.size;
  }

  /** The errno of the first held page in [first, end), 0 if none is held there. */
  heldErrno(first = 0, end = Infinity): PagerErrno | 0 {
    for (const [page, h] of this.held) if (page >= first && page < end) return h.errno;
    return 0;
  }

  /** The number the next run gets: a failure with it or later is newer than a sync starting now. */
  get nextAttempt(): number {
    return this.writeAttempts + 1;
  }

  /**
   * Write the held pages in [first, end) again (those that failed in a run
   * before `since`; later failures were tried by the caller's own sync) and
   * wait. A page leaves the held set only once it is written; one being
   * written right now is not queued again (two writes of one page never
   * run at once), only waited for. Resolves with the errno of what is
   * still held there.
   */
  async retry(first = 0, end = Infinity, since = Infinity): Promise<PagerErrno | 0> {
    const due = [...this.held].filter(([page, h]) => page >= first && page < end && h.attempt < since);
    if (due.length > 0) {
      const pages = due.filter(([page]) => !this.running.has(page)).sort((a, b) => a[0] - b[0]);
      for (const [page, h] of pages) this.enqueue(page, { data: h.data, kernelCopy: true, from: HELD });
      this.pager.stats.write_retries += pages.length;
      await this.drain();
    }
    return this.heldErrno(first, end);
  }

  /** The data in [first, end) is discarded (truncate, unlink): held copies go too. */
  dropHeld(first: number, end: number): void {
    for (const page of [...this.held.keys()]) if (page >= first && page < end && this.held.delete(page)) this.unheld(page);
  }

  /** data_request for a held page: supply the held copy (the store does not have it). */
  supplyHeld(page: number): void {
    const pager = this.pager;
    const held = this.held.get(page);
    if (!held) throw new Error(`pager ${pager.label}: page ${page} is not held`);
    pager.pagemap.add(page, PM_INCORE);
    pager.stats.pagein_waits++;
    this.supplyCopy(page, held.data);
  }

  /** data_supply of a copy of `source` for `page`, in memory of its own (the caller keeps `source`). */
  private supplyCopy(page: number, source: Buffer): void {
    const pager = this.pager;
    const data = pager.space.system.memory.allocate(source.length);
    source.copy(data);
    pager.send<MemoryObjectDataSupply>({
      id: 'memory_object_data_supply',
      dest: pager.control,
      offset: page * pager.pageSize,
      data,
      // A coherent pager grants write only through an unlock (which asks the other mounts first).
      lockValue: pager.gate ? VM_PROT_WRITE : VM_PROT_NONE,
      precious: pager.notifyOnEvict,
      replyTo: MACH_PORT_NULL,
      deallocate: true,
    });
  }

  private hold(page: number, data: Buffer, errno: PagerErrno, attempt: number): void {
    const again = this.held.has(page);
    this.held.set(page, { data: Buffer.from(data), errno, attempt });
    this.pager.requests.heldChanged(again ? 0 : 1, errno);
    this.pager.pagemap.add(page, PM_HELD);
    this.pager.stats.pages_held = this.held.size;
    this.retryLater();
  }

  private unheld(page: number): void {
    this.pager.requests.heldChanged(-1);
    this.pager.pagemap.clear(page, PM_HELD);
    this.pager.stats.pages_held = this.held.size;
    if (this.held.size === 0) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.retryMs = RETRY_FIRST_MS;
      this.pager.heldWritten();
    }
  }

  /** Try the held pages again later, waiting longer after each failure. */
  private retryLater(): void {
    if (this.retryTimer || this.pager.isDestroyed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retry().then(
        (errno) => {
          if (errno === 0 || this.pager.isDestroyed) return;
          this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
          this.retryLater();
        },
        (err: unknown) => this.pager.requests.onError(err),
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /** The pager is destroyed: no more retries (what is still held is said by the caller). */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
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

  /** Start the queued run now (a sync waits for it and no more returns of its own are coming). */
  startQueued(): void {
    this.startRun();
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
    this.writeAttempts++;
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
    const attempt = this.writeAttempts;
    const failed = new Map<number, PagerErrno>();
    const memory = pager.space.system.memory;
    for (const span of spans(run, memory)) {
      try {
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
            const errno = pagerErrno(err);
            failed.set(page, errno);
            pager.stats.write_errors++;
            pager.requests.log(`pager ${pager.label}: writePage at ${page * pageSize}: ${String(err)} (errno ${errno}; kept for retry)`);
          }
        }
      } finally {
        // A joined span is memory of the pager's own: back to the pool once the store has it.
        if (span.joined) memory.deallocate(span.data);
      }
    }
    pager.stats.pages_written += run.pages.length - failed.size;
    for (let i = 0; i < run.pages.length; i++) {
      // One page's trouble (a throwing notifyEvict) must not leave the others "being written" for ever.
      try {
        const page = run.first + i;
        const errno = failed.get(page);
        if (errno !== undefined) this.hold(page, run.pages[i].data, errno, attempt);
        else if (this.held.delete(page)) this.unheld(page);
        this.complete(page, run.pages[i], errno !== undefined);
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
      this.handOver(page, entry, state);
    } finally {
      if (!failed) pagemap.clear(page, PM_INVALID);
      pagemap.clear(page, PM_PAGINGOUT | PM_PAGEINWAIT | PM_WRITEWAIT);
      this.running.delete(page);
      this.done(entry);
    }
  }

  private handOver(page: number, entry: QueuedPage, state: number): void {
    const pager = this.pager;
    const pagemap = pager.pagemap;
    if (state & PM_PAGEINWAIT) {
      // A request came while the page was being written: answer it with this data (held
      // by the pager too if the write failed), in memory of its own, so that the
      // returned buffer can still be given back when its last page is done.
      pager.stats.pagein_waits++;
      this.supplyCopy(page, entry.data);
    } else {
      if (!entry.kernelCopy) {
        pagemap.clear(page, PM_INCORE);
        if (pager.notifyOnEvict) notifyEvict(pager, page);
      }
    }
  }

  /** One page of a returned buffer is finished with; the last one gives the buffer back (the kernel's laundry drains). */
  private done(entry: QueuedPage): void {
    const from = entry.from;
    if (--from.pending === 0) this.pager.space.system.memory.deallocate(from.data);
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
  /** Pages copied together into memory from the pool (given back after the write), not a view of a returned buffer. */
  joined: boolean;
}

/**
 * A run cut into buffers to write: pages that lie side by side in one
 * received buffer (a multi-page data_return) stay views of it; single pages
 * from separate data_returns are copied together, up to JOIN_PAGES, so that
 * the store still sees large writes without copying what needs none.
 */
function spans(run: Run, memory: OolMemory): Span[] {
  const out: Span[] = [];
  const pages = run.pages;
  let pending: { first: number; parts: Buffer[] } | undefined;
  const flushPending = (): void => {
    if (!pending) return;
    const parts = pending.parts;
    if (parts.length === 1) {
      out.push({ first: pending.first, pages: 1, data: parts[0], joined: false });
    } else {
      const data = memory.allocate(parts.length * parts[0].length);
      for (let k = 0; k < parts.length; k++) parts[k].copy(data, k * parts[0].length);
      out.push({ first: pending.first, pages: parts.length, data, joined: true });
    }
    pending = undefined;
  };
  let i = 0;
  while (i < pages.length) {
    const first = pages[i].data;
    let j = i + 1;
    while (j < pages.length) {
      const data = pages[j].data;
      if (data.buffer !== first.buffer || data.byteOffset !== first.byteOffset + (j - i) * first.length) break;
      j++;
    }
    if (j - i >= JOIN_PAGES) {
      flushPending();
      out.push({ first: run.first + i, pages: j - i, data: Buffer.from(first.buffer, first.byteOffset, first.length * (j - i)), joined: false });
    } else {
      for (let k = i; k < j; k++) {
        if (pending && pending.parts.length >= JOIN_PAGES) flushPending();
        pending ??= { first: run.first + k, parts: [] };
        pending.parts.push(pages[k].data);
      }
    }
    i = j;
  }
  flushPending();
  return out;
}
