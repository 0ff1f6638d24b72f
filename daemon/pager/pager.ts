/**
 * One pager: the memory manager of one memory object (a file), as
 * libpager's struct pager. It owns the object's port (a receive right in
 * the pager task's space); the kernel talks to it with memory_object_*
 * messages, handled by the files in messages/, one at a time in arrival
 * order. The public verbs are libpager's: sync, flush, return (thin verbs
 * over lockObject), offerPage, changeAttributes, shutdown, getError.
 */
import {
  MACH_PORT_NULL,
  MEMORY_OBJECT_COPY_DELAY,
  MEMORY_OBJECT_RETURN_ALL,
  MEMORY_OBJECT_RETURN_DIRTY,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_NO_CHANGE,
  VM_PROT_NONE,
  VM_PROT_WRITE,
  type CopyStrategy,
  type IpcSpace,
  type MemoryObjectDataSupply,
  type PagerToKernelMessage,
  type PortName,
  type VmProt,
} from '../../kernel/index.js';
import type { PagerCallbacks } from './callbacks.js';
import type { PagerGate } from './coherence/gate.js';
import { pagerError } from './errors.js';
import { lockObject } from './lock-object.js';
import { changeAttributes } from './pager-attr.js';
import { Pagemap, PM_INCORE } from './pagemap.js';
import { pagerMemcpy, type VmMapper } from './pager-memcpy.js';
import type { PagerRequests } from './requests.js';
import { WriteBehind } from './write-behind.js';

export type PagerState = 'notinit' | 'normal' | 'shutdown';

export interface PagerOptions {
  /** memory_object_ready's may_cache: the kernel keeps the object's pages after the last unmap. */
  mayCache?: boolean;
  copyStrategy?: CopyStrategy;
  /** Supply pages precious and call notifyEvict when the kernel drops them. */
  notifyOnEvict?: boolean;
  /** A label for logs (a path, an inode). */
  label?: string;
  /**
   * Coherence with other mounts of the same store (coherence/): the kernel's
   * requests for pages pass this gate first, pages are supplied read-only,
   * and write access is granted only through an unlock the gate allowed.
   */
  gate?: PagerGate;
}

/** A synchronous lock_request this pager is waiting on (libpager's struct lock_request). */
export interface LockRecord {
  readonly start: number;
  readonly end: number;
  locksPending: number;
  waiters: number;
}

/** A change_attributes this pager is waiting on. */
export interface AttributeRecord {
  readonly mayCache: boolean;
  readonly copyStrategy: CopyStrategy;
  pending: number;
  waiters: number;
}

export interface PagerStatistics {
  data_requests: number;
  pages_read: number;
  /** Pages answered with data_unavailable (no data: past a file's end, or nothing stored). */
  pages_unavailable: number;
  read_errors: number;
  /** Page reads that found the stored data damaged (checksum mismatch, missing, corrupt): EIO, never the bytes. Also in read_errors. */
  checksum_errors: number;
  data_returns: number;
  pages_written: number;
  write_errors: number;
  /** Pages written again after a failed write (by a sync, a close or the retry timer). */
  write_retries: number;
  /** Pages whose write failed and that the pager holds until they are stored (a gauge). */
  pages_held: number;
  write_runs: number;
  unlocks: number;
  unlock_errors: number;
  pagein_waits: number;
  evict_notifications: number;
}

/** All counters at zero. */
export function emptyPagerStatistics(): PagerStatistics {
  return {
    data_requests: 0,
    pages_read: 0,
    pages_unavailable: 0,
    read_errors: 0,
    checksum_errors: 0,
    data_returns: 0,
    pages_written: 0,
    write_errors: 0,
    write_retries: 0,
    pages_held: 0,
    write_runs: 0,
    unlocks: 0,
    unlock_errors: 0,
    pagein_waits: 0,
    evict_notifications: 0,
  };
}

/** Add `from`'s counters to `into`. */
export function addPagerStatistics(into: PagerStatistics, from: Readonly<PagerStatistics>): void {
  for (const key of Object.keys(into) as (keyof PagerStatistics)[]) into[key] += from[key];
}

export class Pager {
  readonly port: PortName;
  state: PagerState = 'notinit';
  /** The kernel's control port for the current incarnation of the object (from init). */
  control: PortName = MACH_PORT_NULL;
  name: PortName = MACH_PORT_NULL;
  pageSize = 0;
  mayCache: boolean;
  copyStrategy: CopyStrategy;
  readonly notifyOnEvict: boolean;
  readonly label: string;
  /** Set when other mounts share the store (PagerOptions.gate). */
  readonly gate: PagerGate | undefined;
  /** @internal libpager's pagemap (pagemap.ts): kept by the message handlers and the write-behind. */
  readonly pagemap = new Pagemap();
  /** @internal Synchronous lock_requests waiting (lock-object.ts, lock-completed.ts). */
  readonly lockRequests: LockRecord[] = [];
  /** @internal change_attributes waiting (pager-attr.ts, change-completed.ts). */
  readonly attributeRequests: AttributeRecord[] = [];
  /**
   * @internal Operations in progress that keep terminate waiting (libpager's
   * noterm): counted by the message handlers and the write-behind.
   */
  noterm = 0;
  /** Send rights made so far: the port's make-send count, to tell a stale no-senders notification. */
  #mscount = 0;
  /** A no-senders notification is requested and has not come yet. */
  #noSendersArmed = false;
  /** The owner's references (pager_create gives one; release() drops it). */
  #userReferences = 1;
  /** @internal Returned pages on their way to the store. */
  readonly writer: WriteBehind;
  readonly stats: PagerStatistics = emptyPagerStatistics();
  /** Woken whenever something a waiter may be waiting for changes (libpager's p->wakeup). */
  private waiters: (() => void)[] = [];
  private destroyed = false;

  constructor(
    readonly requests: PagerRequests,
    readonly callbacks: PagerCallbacks,
    options: PagerOptions = {},
  ) {
    this.mayCache = options.mayCache ?? false;
    this.copyStrategy = options.copyStrategy ?? MEMORY_OBJECT_COPY_DELAY;
    this.notifyOnEvict = options.notifyOnEvict ?? false;
    this.label = options.label ?? '';
    this.gate = options.gate;
    this.port = requests.space.allocatePort();
    this.writer = new WriteBehind(this);
  }

  get space(): IpcSpace {
    return this.requests.space;
  }

  /** Pages whose write failed and that this pager holds until the store takes them. */
  get heldPages(): number {
    return this.writer.heldCount;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /**
   * Make a send right to the pager's port in `to` (what clients vm_map).
   * It arms the no-senders notification that, once the owner has released
   * the pager too, frees it.
   */
  makeSendRight(to: IpcSpace): PortName {
    if (this.destroyed) throw new Error(`pager ${this.label} is gone`);
    this.space.makeSend(this.port);
    this.#mscount++;
    if (!this.#noSendersArmed) {
      this.#noSendersArmed = true;
      this.space.requestNotification(this.port, 'no_senders', this.port, this.#mscount);
    }
    this.space.copyRightTo(this.port, 'move_send', to);
    return this.port;
  }

  /**
   * Drop the owner's reference (ports_port_deref). The pager is freed, with
   * clearUserData, when no reference and no send right is left.
   */
  release(): void {
    if (this.#userReferences <= 0) throw new Error(`pager ${this.label}: released too often`);
    this.#userReferences--;
    if (this.#userReferences === 0 && !this.#noSendersArmed) this.free();
  }

  /** Take another owner's reference. */
  reference(): void {
    this.#userReferences++;
  }

  /**
   * @internal mach_notify_no_senders for the pager's port (messages/no-senders.ts).
   * A stale one (a send right was made since it was sent) is asked for again.
   */
  noSenders(mscount: number): void {
    if (mscount < this.#mscount) {
      this.space.requestNotification(this.port, 'no_senders', this.port, this.#mscount);
      return;
    }
    this.#noSendersArmed = false;
    if (this.#userReferences === 0) this.free();
  }

  /**
   * No references and no senders left: destroy the port and tell the owner
   * (libpager's _pager_clean). Not while it holds pages whose write failed:
   * those would be lost; it is freed once they are written.
   */
  private free(): void {
    if (this.destroyed || this.writer.heldCount > 0) return;
    this.destroy();
    this.callbacks.clearUserData?.();
  }

  /** @internal The last held page was written: a free put off for it happens now. */
  heldWritten(): void {
    if (this.#userReferences === 0 && !this.#noSendersArmed) queueMicrotask(() => this.free());
  }

  // ------------------------------------------------------------------ verbs

  /** pager_sync: write back dirty and precious pages; the kernel keeps clean copies. */
  sync(wait = true): Promise<void> {
    const { offset, size } = this.callbacks.reportExtent();
    return this.syncSome(offset, size, wait);
  }

  /**
   * Write back [offset, offset + length). With `wait`, it rejects with the
   * store's errno (ENOSPC, EDQUOT, EIO) while any page there is not stored:
   * a page whose write failed is held and written again first.
   */
  syncSome(offset: number, length: number, wait = true): Promise<void> {
    return this.writeBack(offset, length, false, wait);
  }

  /**
   * Write the held pages in the range again (those that failed before
   * attempt `since`): rejects with the errno of what is still not stored.
   * What a close (FUSE flush) asks: any write-back failure not yet mended.
   */
  async writeHeld(offset = 0, length = Infinity, since = Infinity): Promise<void> {
    if (this.writer.heldCount === 0 || this.pageSize === 0) return;
    const first = Math.floor(offset / this.pageSize);
    const end = length === Infinity ? Infinity : Math.ceil((offset + length) / this.pageSize);
    const errno = await this.writer.retry(first, end, since);
    if (errno !== 0) {
      const count = this.writer.heldCount;
      throw pagerError(errno, `pager ${this.label}: ${count} page(s) not stored (errno ${errno}); kept in memory and retried`);
    }
  }

  /** pager_flush: drop the kernel's pages. Dirty data is discarded. */
  flush(wait = true): Promise<void> {
    const { offset, size } = this.callbacks.reportExtent();
    return this.flushSome(offset, size, wait);
  }

  /** The data in the range is discarded (truncate, unlink): so are pages held after a failed write. */
  async flushSome(offset: number, length: number, wait = true): Promise<void> {
    await lockObject(this, offset, length, MEMORY_OBJECT_RETURN_NONE, true, VM_PROT_NO_CHANGE, wait);
    if (this.pageSize > 0) this.writer.dropHeld(Math.floor(offset / this.pageSize), Math.ceil((offset + length) / this.pageSize));
  }

  /**
   * Another mount wants these pages: dirty ones are written to the store,
   * then the kernel's copies are dropped (`flush`: the other mount will
   * write) or made read-only (it will read: a later write here faults and
   * asks again). Resolves when the store has them; rejects with the
   * store's errno if a page could not be stored.
   */
  async recall(offset: number, length: number, flush: boolean): Promise<void> {
    const since = this.writer.nextAttempt;
    await lockObject(this, offset, length, MEMORY_OBJECT_RETURN_DIRTY, flush, flush ? VM_PROT_NO_CHANGE : VM_PROT_WRITE, true);
    await this.writeHeld(offset, length, since);
  }

  /** pager_return: write back, then drop. */
  return(wait = true): Promise<void> {
    const { offset, size } = this.callbacks.reportExtent();
    return this.returnSome(offset, size, wait);
  }

  returnSome(offset: number, length: number, wait = true): Promise<void> {
    return this.writeBack(offset, length, true, wait);
  }

  /** sync and return: dirty pages back (and dropped with `flush`); with `wait`, held pages written again first. */
  private async writeBack(offset: number, length: number, flush: boolean, wait: boolean): Promise<void> {
    const since = this.writer.nextAttempt;
    await lockObject(this, offset, length, MEMORY_OBJECT_RETURN_ALL, flush, VM_PROT_NO_CHANGE, wait);
    if (wait) await this.writeHeld(offset, length, since);
  }

  /**
   * pager_offer_page: give the kernel a page it did not ask for. Ignored by
   * the kernel if the page is resident. The buffer is copied.
   */
  offerPage(precious: boolean, writeLock: boolean, offset: number, data: Buffer): void {
    if (this.state !== 'normal') return;
    this.pagemap.add(offset / this.pageSize, PM_INCORE);
    this.send<MemoryObjectDataSupply>({
      id: 'memory_object_data_supply',
      dest: this.control,
      offset,
      data: Buffer.from(data),
      lockValue: writeLock ? VM_PROT_WRITE : VM_PROT_NONE,
      precious,
      replyTo: MACH_PORT_NULL,
    });
  }

  /** pager_change_attributes; with `wait`, until the kernel's change_completed. */
  changeAttributes(mayCache: boolean, copyStrategy: CopyStrategy, wait = true): Promise<void> {
    return changeAttributes(this, mayCache, copyStrategy, wait);
  }

  /**
   * pager_shutdown: sync and flush (waiting), then refuse further requests
   * and destroy the port (the kernel sees it die).
   */
  async shutdown(): Promise<void> {
    if (this.state === 'normal') {
      await this.sync(true);
      await this.flush(true);
    }
    this.state = 'shutdown';
    await this.writer.drain();
    this.destroy();
  }

  /** pager_memcpy: copy in or out of this pager's object through a mapping the kernel makes. */
  memcpy(vm: VmMapper, task: IpcSpace, offset: number, buffer: Buffer, prot: VmProt): Promise<{ bytes: number; error: number }> {
    return pagerMemcpy(vm, this, task, offset, buffer, prot);
  }

  /** What this pager waits on (lock_completed, change_completed, writes, operations that hold terminate), or undefined when nothing. */
  describeWaits(): string | undefined {
    const waits: string[] = [];
    for (const r of this.lockRequests) if (r.locksPending > 0) waits.push(`lock_completed for [${r.start}, ${r.end}) x${r.locksPending}`);
    for (const r of this.attributeRequests) if (r.pending > 0) waits.push(`change_completed (may_cache ${String(r.mayCache)}) x${r.pending}`);
    if (!this.writer.idle) waits.push('page writes');
    if (this.writer.heldCount > 0) waits.push(`${this.writer.heldCount} page(s) held after a failed write (errno ${this.writer.heldErrno()})`);
    if (this.noterm > 0) waits.push(`${this.noterm} operation(s) holding terminate`);
    return waits.length === 0 ? undefined : `pager ${this.label} (${this.state}): ${waits.join(', ')}`;
  }

  /** pager_get_error: the last error given to the kernel for the page at `offset`, 0 if none. */
  getError(offset: number): number {
    return this.pageSize === 0 ? 0 : this.pagemap.error(Math.floor(offset / this.pageSize));
  }

  // ------------------------------------------------------------------ internals

  /** Send a pager → kernel call. A dead control port means the object is gone: nothing to do. */
  send<M extends PagerToKernelMessage>(msg: M): boolean {
    return this.requests.send(msg);
  }

  /** Wait until `ready()` holds, re-checking at every wakeup. */
  async waitUntil(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** condition_broadcast(&p->wakeup). */
  wakeup(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The pager is freed: its port is destroyed and the requests forget it. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.state = 'shutdown';
    this.writer.stop();
    if (this.writer.heldCount > 0)
      this.requests.log(`pager ${this.label}: destroyed holding ${this.writer.heldCount} page(s) its store refused (errno ${this.writer.heldErrno()}): their data is lost`);
    for (const record of this.lockRequests) record.locksPending = 0;
    for (const record of this.attributeRequests) record.pending = 0;
    this.wakeup();
    this.requests.forget(this);
    if (this.space.hasName(this.port)) this.space.destroyName(this.port);
  }
}
