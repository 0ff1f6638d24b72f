/**
 * The kernel objects behind port names: ports (a message queue with one
 * receiver and counted send rights) and port sets (one queue over many ports).
 * Only the IPC files (space.ts, port-rights.ts, message-transit.ts) change
 * them; everything else goes through an IpcSpace.
 */
import { Deque } from '../util/deque.js';
import type { Message, PortName } from './message.js';
import type { IpcSpace, IpcSystem } from './space.js';

/** A right carried by a queued message, waiting to be copied out to the receiver. */
export interface TransitRight {
  readonly port: Port;
  readonly kind: 'send' | 'send_once' | 'receive';
}

export interface QueuedMessage {
  readonly msg: Message;
  readonly rights: readonly TransitRight[];
  /**
   * The message holds a send right to its own destination (Mach's remote
   * port right, taken by copy_send / make_send / move_send). It counts in
   * the port's srights until the message leaves the queue, so no-senders
   * cannot fire while a message sent with the last send right is queued.
   */
  readonly destSend: boolean;
  /** Run once when the message leaves the queue, delivered or destroyed. */
  readonly onRelease: ((delivered: boolean) => void) | undefined;
}

export interface ReceiveWaiter {
  readonly space: IpcSpace;
  resolve(msg: Message): void;
  reject(err: Error): void;
}

export class Port {
  /** Space holding the receive right; null while it is in transit or after death. */
  receiver: IpcSpace | null;
  dead = false;
  readonly queue = new Deque<QueuedMessage>();
  readonly waiters = new Deque<ReceiveWaiter>();
  set: PortSet | null = null;
  /** Bumped whenever the port changes set, so stale arrival tokens are ignored. */
  setGeneration = 0;
  /** Send rights in existence: one per space holding any, plus one per right in transit. */
  srights = 0;
  /** Send-once rights in existence. */
  sorights = 0;
  /** Make-send count, as reported by the no-senders notification. */
  mscount = 0;
  seqno = 0;
  /** Port to notify when srights drops to zero (the request holds a send-once right to it). */
  noSendersNotify: Port | null = null;
  /** Per space that asked: the port to tell when this port dies. */
  readonly deadNameRequests = new Map<IpcSpace, Port>();
  /** Spaces holding send or send-once rights to this port. */
  readonly holders = new Set<IpcSpace>();
  /**
   * The IPC system the port belongs to. Kept here because `receiver` is null
   * while the receive right is in transit, and notifications to the port
   * (send-once, no-senders) must still be delivered then.
   */
  readonly system: IpcSystem;

  constructor(
    readonly name: PortName,
    receiver: IpcSpace,
  ) {
    this.receiver = receiver;
    this.system = receiver.system;
  }
}

export class PortSet {
  readonly members = new Set<Port>();
  /** One token per message queued on a member, in arrival order across members. */
  readonly arrivals = new Deque<{ port: Port; generation: number }>();
  readonly waiters = new Deque<ReceiveWaiter>();
  dead = false;

  constructor(
    readonly name: PortName,
    readonly owner: IpcSpace,
  ) {}
}
