/**
 * The pager task and its workers (libpager's demuxer.c and
 * pager_start_workers / inhibit / resume). One IPC space holds the ports of
 * every pager; one receive loop takes their messages from a port set.
 * Messages to one pager are handled one at a time in arrival order;
 * different pagers are handled in parallel. No handler waits for a later
 * message on its own pager (sync waits are for callers, not handlers).
 */
import {
  EIO,
  KernError,
  MACH_SEND_INVALID_DEST,
  SerialQueues,
  serve,
  type IpcSpace,
  type IpcSystem,
  type Message,
  type PagerToKernelMessage,
  type PortName,
} from '../../kernel/index.js';
import type { PagerCallbacks } from './callbacks.js';
import type { PagerErrno } from './errors.js';
import { handlePagerMessage } from './messages/dispatch.js';
import { gatedRequest, refuseRequest } from './messages/gated.js';
import { addPagerStatistics, emptyPagerStatistics, Pager, type PagerOptions, type PagerStatistics } from './pager.js';

export interface PagerRequestsOptions {
  /** Where anomalies go (protocol errors, callback errors reported as EIO). */
  log?: (line: string) => void;
  /** A handler threw (a bug). Default: rethrow asynchronously. */
  onError?: (err: unknown) => void;
  label?: string;
}

export class PagerRequests {
  /** The pager task's space. */
  readonly space: IpcSpace;
  private readonly set: PortName;
  private readonly pagers = new Map<PortName, Pager>();
  private readonly serial: SerialQueues<PortName>;
  private loop: Promise<void> | undefined;
  /** Messages that arrived while inhibited, to handle on resume. */
  private held: Message[] | undefined;
  /** Handlers dispatched and not finished. */
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private heldCount = 0;
  private lastHeldErrno: PagerErrno = EIO;
  /** Counters of pagers already freed. */
  private readonly freedStats = emptyPagerStatistics();
  readonly log: (line: string) => void;
  readonly onError: (err: unknown) => void;

  constructor(ipc: IpcSystem, options: PagerRequestsOptions = {}) {
    this.space = ipc.createSpace(options.label ?? 'pager');
    this.set = this.space.allocatePortSet();
    this.log = options.log ?? ((line) => process.stderr.write(`machpager pager: ${line}\n`));
    this.onError =
      options.onError ??
      ((err) =>
        queueMicrotask(() => {
          throw err;
        }));
    this.serial = new SerialQueues<PortName>(this.onError);
  }

  /** pager_create: a new pager with its own port, served by these workers. */
  createPager(callbacks: PagerCallbacks, options?: PagerOptions): Pager {
    const pager = new Pager(this, callbacks, options);
    this.pagers.set(pager.port, pager);
    this.space.moveMember(pager.port, this.set);
    return pager;
  }

  get pagerCount(): number {
    return this.pagers.size;
  }

  allPagers(): IterableIterator<Pager> {
    return this.pagers.values();
  }

  /** Every pager's counters summed, freed pagers' included. */
  statistics(): PagerStatistics {
    const sum = { ...this.freedStats };
    for (const pager of this.pagers.values()) addPagerStatistics(sum, pager.stats);
    return sum;
  }

  /** pager_start_workers. */
  start(): void {
    this.loop ??= serve(this.space, this.set, (msg) => this.dispatch(msg));
  }

  /** Pages whose write failed, held by their pagers, over every pager. */
  get heldPages(): number {
    return this.heldCount;
  }

  /** The errno the store gave for the latest held page. */
  get heldErrno(): PagerErrno {
    return this.lastHeldErrno;
  }

  /** @internal Pages became held (+, with the store's errno) or were written (-). */
  heldChanged(delta: number, errno?: PagerErrno): void {
    this.heldCount += delta;
    if (errno !== undefined) this.lastHeldErrno = errno;
  }

  /**
   * pager_inhibit_workers: messages arriving from now on are held; resolves
   * when every message received before has been handled.
   */
  async inhibit(): Promise<void> {
    this.held ??= [];
    while (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** pager_resume_workers: handle what was held, in order, and go on. */
  resume(): void {
    const held = this.held;
    this.held = undefined;
    if (held) for (const msg of held) this.dispatch(msg);
  }

  /** Stop: every pager's port dies with the task. */
  async shutdown(): Promise<void> {
    for (const pager of [...this.pagers.values()]) pager.destroy();
    if (this.space.hasName(this.set)) this.space.modRefs(this.set, 'port_set', -1);
    await this.loop;
    this.space.terminate();
  }

  /** Send a pager → kernel call; false if the kernel's port is gone. */
  send(msg: PagerToKernelMessage): boolean {
    try {
      this.space.send(msg);
      return true;
    } catch (err) {
      if (err instanceof KernError && err.code === MACH_SEND_INVALID_DEST) return false;
      throw err;
    }
  }

  /** @internal The pager was freed. */
  forget(pager: Pager): void {
    if (this.pagers.delete(pager.port)) addPagerStatistics(this.freedStats, pager.stats);
  }

  private dispatch(msg: Message): void {
    if (this.held) {
      this.held.push(msg);
      return;
    }
    const pager = this.pagers.get(msg.dest);
    if (!pager) return; // a message for a pager that is gone: its port's queue dies with it
    this.active++;
    const gated = pager.gate && gatedRequest(pager, msg);
    if (!gated) {
      this.handle(pager, msg);
      return;
    }
    // Other mounts are asked outside the pager's serial queue: answering them takes lock_completed
    // and data_return messages that queue behind this one's handler.
    pager.noterm++;
    gated.then(
      (release) => {
        pager.noterm--;
        this.handle(pager, msg, release);
      },
      (err: unknown) => {
        pager.noterm--;
        this.handle(pager, msg, undefined, err);
      },
    );
  }

  private handle(pager: Pager, msg: Message, release?: () => void, refused?: unknown): void {
    this.serial.run(pager.port, async () => {
      try {
        if (refused === undefined) await handlePagerMessage(pager, msg);
        else refuseRequest(pager, msg, refused);
      } finally {
        release?.();
        this.active--;
        if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      }
    });
  }
}
