/**
 * The simulated Mach kernel's VM: the frame pool and resident page table,
 * memory objects and their pagers, the fault path, the pageout daemon with
 * its replacement policy, the default pager, and the statistics record.
 *
 * Pagers talk to it only through messages: it receives on a port set that
 * holds every control port it made, and handles each object's messages one
 * at a time in arrival order (different objects in parallel).
 */
import { KernError, KERN_INVALID_ADDRESS, KERN_INVALID_ARGUMENT, MACH_SEND_INVALID_DEST } from '../ipc/kern-return.js';
import type { Message, PortName } from '../ipc/message.js';
import { isNotification } from '../ipc/notify.js';
import { serve } from '../ipc/receive-loop.js';
import { IpcSystem, type IpcSpace, type SendOptions } from '../ipc/space.js';
import { DefaultPager } from '../default-pager/default-pager.js';
import { FileSwap, type SwapStore } from '../default-pager/swap.js';
import { INSERT_INTERNAL, INSERT_PREFETCH, type ReplacementPolicy } from '../policy/policy.js';
import { createPolicy, DEFAULT_POLICY } from '../policy/registry.js';
import { SerialQueues } from '../util/serial-queues.js';
import { handleControlMessage } from './memory-object/dispatch.js';
import { isPagerToKernel } from './memory-object-defs.js';
import { noDirtyLeft, noteDirty, VmObject, wakeAll, type ObjectStatistics } from './object.js';
import { enterObject, createInternalObject, failWaitsAtShutdown, pagerDied } from './object-lifecycle.js';
import { PageoutDaemon } from './pageout.js';
import { PagerTimeouts } from './pager-timeout.js';
import { VM_PROT_ALL, type VmProt } from './prot.js';
import { PG_CLUSTERED, PG_DIRTY, PG_INITIAL, PG_PRECIOUS, PG_READAHEAD, PG_TABLED, ResidentTable } from './resident.js';
import { VmStatistics, type VmStatisticsRecord } from './statistics.js';
import type { VmWindow } from './map.js';
import { enterWindow } from './enter-window.js';
import { vmStatistics } from './vm-statistics.js';
import { mincore } from './mincore.js';
import { VM_INHERIT_DEFAULT, type VmInherit } from './inherit.js';
import { mapSpec, type VmMapOptions } from './vm-map-options.js';
import { taskRegions, vmRegion, type VmRegionInfo } from './region.js';
import { TaskMaps } from './task-maps.js';
import type { AddressMap } from './address-map.js';
import { frameMap, type FrameMap } from './frame-map.js';
import type { LatencyBucket } from './latency.js';
import { copyStrategically } from './copy-strategy.js';
import { MAX_OFFSET } from './errno.js';
import { DEFAULT_PAGER_TIMEOUT_MS, framesFor, poolThresholds } from './vm-param.js';

export interface ObjectRecord extends ObjectStatistics {
  object: number;
  pager: PortName;
  internal: boolean;
  state: string;
  cached: boolean;
  references: number;
  resident_count: number;
  dirty_count: number;
}

export interface KernelOptions {
  /** Bytes of physical memory (the frame pool). */
  cacheSize: number;
  /** Page size: a power of two from 512 bytes to 64 KiB. Default 4096. */
  pageSize?: number;
  /** Replacement policy name. Default 'mach'. */
  policy?: string;
  /** The IPC system pagers share with this kernel. Default: a new one. */
  ipc?: IpcSystem;
  /** The default pager's swap. Default: an anonymous temporary file. */
  swap?: SwapStore;
  /** Pages in data_returns an external pager has not received yet, past which the kernel double-pages. */
  externalLaundryMax?: number;
  /** Largest page-in cluster, in pages. Default DEFAULT_MAX_CLUSTER_PAGES (at most a quarter of the pool). */
  maxClusterPages?: number;
  /**
   * How long a fault waits for a pager's answer (data_request, data_unlock,
   * init) before it fails with EIO, in ms; 0: for ever. Default
   * DEFAULT_PAGER_TIMEOUT_MS. The default pager is never timed.
   */
  pagerTimeoutMs?: number;
  /** Where the kernel reports protocol errors and other anomalies. */
  log?: (line: string) => void;
  /** Called with an error a message handler threw (a bug). Default: rethrow asynchronously. */
  onError?: (err: unknown) => void;
}

function objectRecord(object: VmObject): ObjectRecord {
  return {
    object: object.id,
    pager: object.pager,
    internal: object.internal,
    state: object.state,
    cached: object.cached,
    references: object.refCount,
    resident_count: object.residentCount,
    dirty_count: object.dirtyCount,
    ...object.stats,
  };
}

export class Kernel {
  readonly ipc: IpcSystem;
  /** The kernel's own IPC space (it holds pager send rights, control receive rights). */
  readonly space: IpcSpace;
  readonly pageSize: number;
  readonly pages: ResidentTable;
  policy: ReplacementPolicy;
  readonly stats = new VmStatistics();
  /** Free-frame thresholds (vm_page_seg min/low/high), from the pool size. */
  freeMin = 0;
  freeLow = 0;
  freeHigh = 0;
  externalLaundryMax = 0;
  maxClusterPages = 0;
  readonly pageout: PageoutDaemon;
  /** The pager timeout: waits on pagers' answers that ran out of time fail with EIO. */
  readonly timeouts: PagerTimeouts;
  readonly defaultPager: DefaultPager;
  /** Send right (in this space) to the default pager's port. */
  readonly defaultPagerPort: PortName;

  /** Every task's address map: where each window sits, with its protection and inheritance. */
  readonly maps: TaskMaps;

  readonly objects = new Map<number, VmObject>();
  readonly objectsByPager = new Map<PortName, VmObject>();
  readonly objectsByControl = new Map<PortName, VmObject>();
  /** Unreferenced objects kept for may_cache, oldest first. */
  readonly cachedObjects = new Set<VmObject>();
  private readonly freeObjectIds: number[] = [];
  private nextObjectId = 1;

  /** Port set of every control port, plus the notify port. */
  readonly controlSet: PortName;
  /** Dead-name notifications for pager ports arrive here. */
  readonly notifyPort: PortName;
  readonly serial: SerialQueues<number>;
  readonly log: (line: string) => void;
  readonly onError: (err: unknown) => void;
  private readonly loop: Promise<void>;

  /** Unprivileged allocation is paused (free frames fell to the minimum). */
  allocPaused = false;
  private readonly frameWaiters: (() => void)[] = [];
  /** Frames holding data of data_returns not yet received, per destination. */
  externalLaundry = 0;
  defaultLaundry = 0;
  /** Pages external pagers received in data_returns and have not written yet (not given back the memory). */
  externalWriting = 0;
  /** Frames with a non-zero wire count. */
  wiredPages = 0;
  /**
   * Error and unavailable placeholders answers left since the last reclaim
   * (an upper bound: faults take most of them): a hint that reclaiming can
   * free some when placeholders run low.
   */
  stalePlaceholders = 0;
  private shutDown = false;
  private readonly tuning: Pick<KernelOptions, 'externalLaundryMax' | 'maxClusterPages'>;
  private readonly resizeWaiters: (() => void)[] = [];

  constructor(options: KernelOptions) {
    const pageSize = options.pageSize ?? 4096;
    if (!Number.isInteger(pageSize) || pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
      throw new RangeError(`page size must be a power of two from 512 to 65536 bytes, not ${pageSize}`);
    this.pageSize = pageSize;
    this.maps = new TaskMaps(pageSize);
    const frames = framesFor(this.pageSize, options.cacheSize);
    // Fictitious descriptors: request placeholders and holding pages. Faults wait when they run out.
    this.pages = new ResidentTable(frames, Math.max(1024, frames), pageSize);
    this.pages.onRetired = () => wakeAll(this.resizeWaiters);
    this.tuning = { externalLaundryMax: options.externalLaundryMax, maxClusterPages: options.maxClusterPages };
    this.setThresholds();
    this.policy = createPolicy(options.policy ?? DEFAULT_POLICY, frames, this.pages.frameSlots);
    this.log = options.log ?? ((line) => process.stderr.write(`machpager kernel: ${line}\n`));
    this.onError =
      options.onError ??
      ((err) =>
        queueMicrotask(() => {
          throw err;
        }));
    this.serial = new SerialQueues<number>(this.onError);

    this.ipc = options.ipc ?? new IpcSystem();
    this.space = this.ipc.createSpace('kernel');
    this.controlSet = this.space.allocatePortSet();
    this.notifyPort = this.space.allocatePort();
    this.space.moveMember(this.notifyPort, this.controlSet);

    this.defaultPager = new DefaultPager(this.ipc, options.swap ?? new FileSwap(pageSize), pageSize, this.onError);
    this.defaultPager.space.copyRightTo(this.defaultPager.port, 'make_send', this.space);
    this.defaultPagerPort = this.defaultPager.port;

    this.pageout = new PageoutDaemon(this);
    const pagerTimeoutMs = options.pagerTimeoutMs ?? DEFAULT_PAGER_TIMEOUT_MS;
    if (!Number.isFinite(pagerTimeoutMs) || pagerTimeoutMs < 0)
      throw new RangeError(`the pager timeout is 0 (none) or a positive number of ms, not ${pagerTimeoutMs}`);
    this.timeouts = new PagerTimeouts(this, pagerTimeoutMs);
    this.loop = serve(this.space, this.controlSet, (msg) => this.dispatch(msg));
  }

  // ------------------------------------------------------------------ public API

  /** Frames in the pool (the cache size in pages). */
  get frameCount(): number {
    return this.pages.frameCount;
  }

  /**
   * vm_map: map [offset, offset+size) of the memory object `memoryObject`
   * (a send right in `caller`) into `caller`'s address map, with a
   * protection (a number) or the options of vm_map. The first map of an
   * object sends memory_object_init; faults wait until the pager is ready.
   */
  async vmMap(caller: IpcSpace, memoryObject: PortName, offset: number, size: number, options: VmProt | VmMapOptions = VM_PROT_ALL): Promise<VmWindow> {
    this.checkRange(offset, size);
    const spec = mapSpec(options, size, this.pageSize);
    caller.copyRightTo(memoryObject, 'copy_send', this.space);
    const object = await enterObject(this, memoryObject);
    return enterWindow(this, caller, object, offset, size, spec);
  }

  /**
   * A private (copy-on-write) copy of [address, address + size) of a
   * window, made as the object's copy strategy says
   * (vm_object_copy_strategically, copy-strategy.ts): what vm_map with
   * copy=TRUE, vm_copy and vm_read give. The copy is a new window at 0.
   */
  vmCopy(window: VmWindow, address = 0, size = window.size - address): Promise<VmWindow> {
    this.checkRange(window.offset + address, size);
    if (window.isDeallocated || address + size > window.size)
      throw new KernError(KERN_INVALID_ARGUMENT, `copy of ${address}+${size} from a window of ${window.size} bytes`);
    return copyStrategically(this, window.object, window.offset + address, size);
  }

  /** vm_allocate: anonymous zero-filled memory in `task`'s map (default: the kernel's own), paged by the default pager. */
  vmAllocate(size: number, task: IpcSpace = this.space): VmWindow {
    this.checkRange(0, size);
    const object = createInternalObject(this, size);
    object.refCount++;
    return enterWindow(this, task, object, 0, size, { size, protection: VM_PROT_ALL, maxProtection: VM_PROT_ALL, inheritance: VM_INHERIT_DEFAULT });
  }

  /** The window of a private copy (copy-strategy.ts) on `object`, in the kernel's own map, read-write, at 0. */
  mapCopy(object: VmObject, size: number): VmWindow {
    return enterWindow(this, this.space, object, 0, size, { size, protection: VM_PROT_ALL, maxProtection: VM_PROT_ALL, inheritance: VM_INHERIT_DEFAULT });
  }

  /** vm_region: the region of `task`'s map at or after `address` (KERN_NO_SPACE past the last). */
  vmRegion(task: IpcSpace, address: number): VmRegionInfo {
    return vmRegion(this.maps, task, address);
  }

  /** Every region of `task`, lowest first. */
  regions(task: IpcSpace): VmRegionInfo[] {
    return taskRegions(this.maps, task);
  }

  /**
   * vm_protect: set the protection of [address, address + size) of `task`'s
   * map, or with setMaximum its maximum; entries it cuts are split (clipped).
   */
  vmProtect(task: IpcSpace, address: number, size: number, setMaximum: boolean, protection: VmProt): void {
    this.mapOf(task).protect(address, size, setMaximum, protection);
  }

  /** vm_inherit: set the inheritance of [address, address + size); entries it cuts are split (clipped). */
  vmInherit(task: IpcSpace, address: number, size: number, inheritance: VmInherit): void {
    this.mapOf(task).inherit(address, size, inheritance);
  }

  private mapOf(task: IpcSpace): AddressMap {
    const map = this.maps.find(task);
    if (!map) throw new KernError(KERN_INVALID_ADDRESS, `task ${task.label} maps nothing`);
    return map;
  }

  statistics(): VmStatisticsRecord {
    return vmStatistics(this);
  }

  /** Every frame of the pool: its state (free, active, inactive, dirty, busy, wired) and whose page it holds. */
  frameMap(): FrameMap {
    return frameMap(this);
  }

  /** The fault service latency histogram's non-empty buckets (µs). */
  faultLatencyBuckets(): LatencyBucket[] {
    return this.stats.faultLatency.buckets();
  }

  /** Per-object figures: resident and dirty pages, faults, hits, pageins, pageouts. */
  objectStatistics(): ObjectRecord[] {
    return [...this.objects.values()].map(objectRecord);
  }

  /**
   * The figures of the object whose control port is `control` (as its
   * pager knows it from init; port names are system-wide here), or
   * undefined when no object has that port now.
   */
  objectStatisticsByControl(control: PortName): ObjectRecord | undefined {
    const object = this.objectsByControl.get(control);
    return object && objectRecord(object);
  }

  /**
   * mincore of [offset, offset + size) of the object whose control port is
   * `control` (mincore.ts: one byte a page), or undefined when no object has
   * that port now. For a pager's client that holds no window (vmtouch).
   */
  mincoreByControl(control: PortName, offset: number, size: number): Uint8Array | undefined {
    const object = this.objectsByControl.get(control);
    if (!object) return undefined;
    this.checkRange(offset, size);
    return mincore(this, object, offset, size);
  }

  /**
   * Switch the replacement policy while running: the old policy is drained
   * in its own eviction order into the new one, so no resident page is lost
   * and the oldest stay oldest.
   */
  setPolicy(name: string): void {
    const next = createPolicy(name, this.frameCount, this.pages.frameSlots);
    this.stats.reactivations_before += this.policy.reactivations;
    const F = this.pages.fictitiousCount;
    for (let d = this.victim(); d >= 0; d = this.victim()) {
      const object = this.objectOf(d);
      next.insert(d - F, object.pageKey(this.pages.pageIndex[d]), object.internal ? INSERT_INTERNAL : 0);
    }
    this.policy = next;
  }

  /**
   * Change the cache size while running. Growing adds free frames at once;
   * shrinking retires free frames and has the pageout daemon evict, in the
   * policy's order, until the pool is down to size. The policy is rebuilt
   * for the new size (as setPolicy: resident pages keep their order). The
   * promise resolves when the pool has its new size (a shrink waits for
   * the evictions, and for wired pages to be unwired).
   */
  resize(cacheSize: number): Promise<void> {
    const frames = framesFor(this.pageSize, cacheSize);
    this.pages.resize(frames);
    this.setThresholds();
    this.setPolicy(this.policy.name);
    this.pageout.wake();
    this.resumeAllocation();
    if (this.pages.retireDebt === 0) return Promise.resolve();
    return new Promise((resolve) => this.resizeWaiters.push(resolve));
  }

  /**
   * What the kernel is in the middle of, one line per object with pager
   * calls queued or paging in progress: what a stop that does not finish
   * waits on.
   */
  describeWaits(): string[] {
    const lines: string[] = [];
    for (const object of this.objectsByControl.values()) {
      const queued = this.serial.depth(object.id);
      if (queued === 0 && object.pagingInProgress === 0) continue;
      lines.push(`kernel object ${object.id} (${object.state}): ${queued} pager call(s) being handled or queued, ${object.pagingInProgress} paging operation(s) in progress`);
    }
    return lines;
  }

  /**
   * Stop the kernel: the default pager and the receive loop end. Objects are
   * not terminated. What still runs afterwards ends harmlessly: pager calls
   * queued and not started are dropped, a job already running finds its
   * sends failing (the kernel's space is gone, as a dead task's), and faults
   * fail with EIO rather than wait for answers that can no longer arrive.
   */
  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    this.pageout.stop();
    this.timeouts.stop();
    this.serial.close();
    failWaitsAtShutdown(this);
    this.space.terminate();
    await this.loop;
    await this.defaultPager.shutdown();
  }

  // ------------------------------------------------------------------ frames

  /** Thresholds follow the pool size (vm-param.ts). */
  private setThresholds(): void {
    const t = poolThresholds(this.frameCount, this.tuning);
    this.freeMin = t.freeMin;
    this.freeLow = t.freeLow;
    this.freeHigh = t.freeHigh;
    this.externalLaundryMax = t.externalLaundryMax;
    this.maxClusterPages = t.maxClusterPages;
  }

  /**
   * Free frames less those a shrink still owes: what the pageout daemon
   * brings up to the high mark (while a shrink is owed, the free list is empty).
   */
  get freeBalance(): number {
    return this.pages.freeFrameCount - this.pages.retireDebt;
  }

  /**
   * vm_page_grab: a free frame, or -1 when allocation must wait. Below the
   * minimum, unprivileged allocation pauses until the daemon has freed up
   * to the high mark; privileged allocations (pageout's own) may go lower.
   */
  grabFrame(privileged = false): number {
    const free = this.pages.freeFrameCount;
    if (free <= this.freeLow) this.pageout.wake();
    if (!privileged && (this.allocPaused || free <= this.freeMin)) {
      this.allocPaused = true;
      return -1;
    }
    return this.pages.allocFrame();
  }

  /**
   * Wait until unprivileged allocation resumes. A waiter pauses allocation
   * even when it found the free list empty as a privileged caller (which
   * does not pause it): only a paused allocation keeps the pageout daemon
   * going until the high mark, and so wakes the waiter.
   */
  waitForFrame(): Promise<void> {
    this.allocPaused = true;
    this.pageout.wake();
    return new Promise((resolve) => this.frameWaiters.push(resolve));
  }

  /** The daemon brought free frames up to the high mark: resume allocation. */
  resumeAllocation(): void {
    const free = this.freeBalance;
    const stuck = this.policy.size === 0 && this.externalLaundry + this.defaultLaundry === 0;
    if (free < this.freeHigh && !(stuck && free > 0)) return;
    this.allocPaused = false;
    wakeAll(this.frameWaiters);
  }

  get frameWaiterCount(): number {
    return this.frameWaiters.length;
  }

  /** Wake every fault waiting for a frame (shutdown: they look again and fail). */
  wakeFrameWaiters(): void {
    wakeAll(this.frameWaiters);
  }

  get isShutDown(): boolean {
    return this.shutDown;
  }

  // ------------------------------------------------------------------ pages

  objectOf(d: number): VmObject {
    const object = this.objects.get(this.pages.objectId[d]);
    if (!object) throw new Error(`page ${d} belongs to no object`);
    return object;
  }

  /** Make a resident page known to the policy (it becomes evictable). Policy slots are frame numbers. */
  track(d: number, object: VmObject, prefetch: boolean): void {
    const key = object.pageKey(this.pages.pageIndex[d]);
    this.policy.insert(d - this.pages.fictitiousCount, key, (prefetch ? INSERT_PREFETCH : 0) | (object.internal ? INSERT_INTERNAL : 0));
    // A shrink waits for evictable pages (an unwired or no longer busy one may be the first).
    if (this.pages.retireDebt > 0) this.pageout.wake();
  }

  /** A page came in (supplied or zero-filled): the policy hears of the miss (its ghost lists), then tracks it. */
  pageIn(d: number, object: VmObject, prefetch: boolean): void {
    this.policy.miss?.(object.pageKey(this.pages.pageIndex[d]));
    this.track(d, object, prefetch);
  }

  /** The page leaves the policy (freed, wired, or handed to pageout). */
  untrack(d: number): void {
    const slot = d - this.pages.fictitiousCount;
    if (this.policy.has(slot)) this.policy.remove(slot);
  }

  /** The policy's next victim, out of the policy now; -1 when nothing is evictable. */
  victim(): number {
    const slot = this.policy.victim();
    return slot < 0 ? slot : slot + this.pages.fictitiousCount;
  }

  setDirty(d: number, object: VmObject): void {
    const flags = this.pages.flags[d];
    if ((flags & PG_DIRTY) === 0) {
      this.pages.flags[d] = flags | PG_DIRTY;
      object.dirtyCount++;
      noteDirty(object, this.pages.pageIndex[d]);
    } else if (flags & PG_INITIAL) {
      // Written after its push: the pager's copy must be overwritten, not only initialised.
      this.pages.flags[d] = flags & ~PG_INITIAL;
    }
  }

  clearDirty(d: number, object: VmObject): void {
    const flags = this.pages.flags[d];
    if ((flags & PG_DIRTY) !== 0) {
      this.pages.flags[d] = flags & ~PG_DIRTY;
      if (--object.dirtyCount === 0) noDirtyLeft(object);
    }
  }

  /**
   * Take a resident page out of its object: out of the policy, the hash and
   * the object's counts. The descriptor is not released (the caller frees
   * it or hands it to the laundry).
   */
  detachPage(d: number, object: VmObject): void {
    this.untrack(d);
    const flags = this.pages.flags[d];
    if ((flags & PG_TABLED) === 0) return;
    if (flags & PG_DIRTY && --object.dirtyCount === 0) noDirtyLeft(object);
    if (flags & PG_READAHEAD) {
      this.stats.readahead_unused++;
      object.stats.readahead_unused++;
    }
    if (!this.pages.isFictitious(d)) object.residentCount--;
    this.pages.remove(d, object);
    this.pages.flags[d] = flags & ~(PG_TABLED | PG_DIRTY | PG_PRECIOUS | PG_READAHEAD | PG_CLUSTERED);
  }

  /** vm_page_free: take the page out of its object and free the frame. */
  freePage(d: number, object: VmObject): void {
    this.detachPage(d, object);
    this.pages.release(d);
    if (this.frameWaiters.length > 0 || this.allocPaused) this.resumeAllocation();
  }

  // ------------------------------------------------------------------ objects

  /** @internal */
  allocateObjectId(): number {
    return this.freeObjectIds.pop() ?? this.nextObjectId++;
  }

  /** @internal */
  releaseObjectId(id: number): void {
    this.freeObjectIds.push(id);
  }

  // ------------------------------------------------------------------ messages

  /** Send a message from the kernel's space, counting it. Returns false if the destination is dead. */
  send<M extends Message>(msg: M, options?: SendOptions): boolean {
    // After shutdown the kernel's space is gone: nothing can be sent, as to a dead port.
    if (this.shutDown) return false;
    try {
      this.space.send(msg, options);
    } catch (err) {
      if (err instanceof KernError && err.code === MACH_SEND_INVALID_DEST) return false;
      throw err;
    }
    this.stats.countSent(msg.id);
    return true;
  }

  /** Answer on a reply port the pager gave us, consuming our right to it. */
  reply<M extends Message>(msg: M): void {
    if (this.shutDown) return;
    const rights = this.space.rights(msg.dest);
    if (rights.sendOnce === 0 && rights.send === 0) return;
    this.send(msg, { destDisposition: rights.sendOnce > 0 ? 'move_send_once' : 'move_send' });
  }

  protocolError(object: VmObject | undefined, what: string): void {
    this.stats.protocol_errors++;
    this.log(`protocol error${object ? ` (object ${object.id})` : ''}: ${what}`);
  }

  private dispatch(msg: Message): void {
    if (isNotification(msg)) {
      if (msg.id === 'mach_notify_dead_name') {
        const object = this.objectsByPager.get(msg.name);
        // The name may be a reply port that died: only pager ports matter here.
        if (object) this.serial.run(object.id, () => pagerDied(this, object));
        if (this.space.isDeadName(msg.name)) this.space.deallocate(msg.name);
      }
      return;
    }
    this.stats.countReceived(msg.id);
    const object = this.objectsByControl.get(msg.dest);
    if (!object || !isPagerToKernel(msg)) {
      this.protocolError(object, `${msg.id} on port ${msg.dest}`);
      return;
    }
    // A call queued behind this object's termination finds it dead: its control
    // port is gone, and Mach destroys what was still queued on a destroyed port.
    // (Acting on it would touch the pages of whatever object reuses the id.)
    this.serial.run(object.id, () => (object.state === 'dead' ? undefined : handleControlMessage(this, object, msg)));
  }

  private checkRange(offset: number, size: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size <= 0 || offset + size > MAX_OFFSET)
      throw new KernError(KERN_INVALID_ARGUMENT, `range ${offset}+${size}`);
    if (offset % this.pageSize !== 0) throw new KernError(KERN_INVALID_ARGUMENT, `offset ${offset} is not page aligned`);
  }
}
