/**
 * IPC spaces: a task's table of port rights. Port names are global to one
 * IpcSystem (so a message can carry them as plain numbers), but rights are
 * per space: a space can use only the names it holds rights for, and rights
 * move between spaces only inside messages (or by copyRightTo, the stand-in
 * for a kernel call such as vm_map taking a send right).
 *
 * The space is the name table and the calls on it (mach_port_*, mach_msg);
 * what a right does to its port is port-rights.ts, and a message's way from
 * send to receive is message-transit.ts.
 */
import { KernError, KERN_INVALID_ARGUMENT, KERN_INVALID_NAME, KERN_INVALID_RIGHT, KERN_INVALID_VALUE,
  KERN_NOT_IN_SET, MACH_RCV_IN_SET, MACH_RCV_INVALID_NAME, MACH_RCV_PORT_CHANGED, MACH_RCV_PORT_DIED,
  MACH_SEND_INVALID_DEST, MACH_SEND_INVALID_RIGHT } from './kern-return.js';
import { MACH_PORT_NULL, messageDef, portField, type Disposition, type Message, type PortName } from './message.js';
import './notify.js';
import { OolMemory } from './ool-memory.js';
import { Port, PortSet, type TransitRight } from './port.js';
import { canTake, deadName, destroyPort, destroySendOnce, destroySet, fireNoSenders, polyDisposition, releaseSendRight,
  type Entry, type RightKind, type RightsInfo } from './port-rights.js';
import { checkSendRights, copyOut, copyOutMessage, defaultDestDisposition, deliverWaiting, enqueue, NO_RIGHTS, takeQueued,
  type SendOptions } from './message-transit.js';

export type { RightKind, RightsInfo } from './port-rights.js';
export type { SendOptions } from './message-transit.js';

/** One IPC name space per system: the port name allocator and the ports it made. */
export class IpcSystem {
  private nextName = 1;
  readonly spaces = new Set<IpcSpace>();
  /** Buffers for out-of-line message data, given back by receivers (vm_deallocate). */
  readonly memory = new OolMemory();

  createSpace(label: string): IpcSpace {
    const space = new IpcSpace(this, label);
    this.spaces.add(space);
    return space;
  }

  /** @internal */
  allocateName(): PortName {
    return this.nextName++;
  }

  /** Deliver a notification through a send-once right held by the IPC system itself. */
  /** @internal */
  notify(to: Port, msg: Message): void {
    to.sorights--;
    if (to.dead) return;
    msg.dest = to.name;
    enqueue(to, { msg, rights: [], destSend: false, onRelease: undefined });
  }
}

export class IpcSpace {
  private readonly entries = new Map<PortName, Entry>();
  private terminated = false;

  constructor(
    readonly system: IpcSystem,
    readonly label: string,
  ) {}

  // ---------------------------------------------------------------- allocation

  /** mach_port_allocate(MACH_PORT_RIGHT_RECEIVE). */
  allocatePort(): PortName {
    this.checkAlive();
    const name = this.system.allocateName();
    this.entries.set(name, { object: new Port(name, this), receive: true, send: 0, sendOnce: 0, dead: 0 });
    return name;
  }

  /** mach_port_allocate(MACH_PORT_RIGHT_PORT_SET). */
  allocatePortSet(): PortName {
    this.checkAlive();
    const name = this.system.allocateName();
    this.entries.set(name, { object: new PortSet(name, this), receive: true, send: 0, sendOnce: 0, dead: 0 });
    return name;
  }

  /** mach_port_insert_right(MAKE_SEND): add a send right from the receive right. */
  makeSend(name: PortName): void {
    const entry = this.entry(name);
    const port = entry.object;
    if (!(port instanceof Port) || !entry.receive) throw new KernError(KERN_INVALID_RIGHT, `make send on ${name}`);
    port.mscount++;
    // addSend() takes a right that already counts in srights (as one in
    // transit does): it keeps it for a space without a send right and merges
    // it away otherwise. So the new right is counted first.
    port.srights++;
    this.addSend(entry, port, 1);
  }

  /** mach_port_move_member: put a port into a set (or out of any set with MACH_PORT_NULL). */
  moveMember(member: PortName, set: PortName): void {
    const entry = this.entry(member);
    const port = entry.object;
    if (!(port instanceof Port) || !entry.receive) throw new KernError(KERN_INVALID_RIGHT, `move member ${member}`);
    // Check the target before taking the port out of its old set: a failed call changes nothing.
    let target: PortSet | null = null;
    if (set !== MACH_PORT_NULL) {
      const object = this.entry(set).object;
      if (!(object instanceof PortSet)) throw new KernError(KERN_INVALID_RIGHT, `${set} is not a port set`);
      target = object;
    } else if (!port.set) {
      throw new KernError(KERN_NOT_IN_SET, `${member} is in no set`);
    }
    if (port.set) {
      port.set.members.delete(port);
      port.set = null;
    }
    port.setGeneration++;
    if (!target) return;
    port.set = target;
    target.members.add(port);
    // Receivers waiting on the port itself can no longer receive there (they
    // would wait forever): as ipc_pset_add does, wake them with MACH_RCV_PORT_CHANGED.
    for (const waiter of port.waiters.drain())
      waiter.reject(new KernError(MACH_RCV_PORT_CHANGED, `port ${port.name} moved into set ${set}`));
    for (let i = 0; i < port.queue.length; i++) target.arrivals.push({ port, generation: port.setGeneration });
    deliverWaiting(port);
  }

  // ---------------------------------------------------------------- references

  /** What this space holds under `name`. */
  rights(name: PortName): RightsInfo {
    const entry = this.entries.get(name);
    if (!entry) return { receive: false, send: 0, sendOnce: 0, deadName: 0, portSet: false };
    return {
      receive: entry.receive && entry.object instanceof Port,
      send: entry.send,
      sendOnce: entry.sendOnce,
      deadName: entry.dead,
      portSet: entry.object instanceof PortSet,
    };
  }

  hasName(name: PortName): boolean {
    return this.entries.has(name);
  }

  /** True when the port behind `name` has died (the name is a dead name here). */
  isDeadName(name: PortName): boolean {
    const entry = this.entries.get(name);
    return entry !== undefined && entry.dead > 0;
  }

  /** mach_port_deallocate: drop one reference to a send, send-once or dead-name right. */
  deallocate(name: PortName): void {
    const entry = this.entry(name);
    if (entry.send > 0) this.modRefs(name, 'send', -1);
    else if (entry.sendOnce > 0) this.modRefs(name, 'send_once', -1);
    else if (entry.dead > 0) this.modRefs(name, 'dead_name', -1);
    else throw new KernError(KERN_INVALID_RIGHT, `deallocate ${name}`);
  }

  /** mach_port_mod_refs. Taking the receive right (or a port set) to zero destroys it. */
  modRefs(name: PortName, right: RightKind, delta: number): void {
    const entry = this.entry(name);
    const object = entry.object;
    if (right === 'receive' || right === 'port_set') {
      if (delta === 0) return;
      if (delta !== -1 || !entry.receive) throw new KernError(KERN_INVALID_VALUE, `mod_refs ${right} ${delta}`);
      if (object instanceof PortSet) {
        if (right !== 'port_set') throw new KernError(KERN_INVALID_RIGHT, `${name} is a port set`);
        destroySet(object);
        this.entries.delete(name);
        return;
      }
      if (right !== 'receive') throw new KernError(KERN_INVALID_RIGHT, `${name} is not a port set`);
      entry.receive = false;
      destroyPort(object);
      this.cleanup(name, entry);
      return;
    }
    if (!(object instanceof Port)) throw new KernError(KERN_INVALID_RIGHT, `${name} is a port set`);
    if (right === 'send') {
      if (entry.send + delta < 0) throw new KernError(KERN_INVALID_VALUE, `send refs of ${name}`);
      if (delta > 0 && entry.send === 0) throw new KernError(KERN_INVALID_RIGHT, `no send right for ${name}`);
      entry.send += delta;
      if (entry.send === 0 && delta < 0) this.dropSend(entry, object);
    } else if (right === 'send_once') {
      if (delta > 0 || entry.sendOnce + delta < 0) throw new KernError(KERN_INVALID_VALUE, `send-once refs of ${name}`);
      for (let i = 0; i < -delta; i++) {
        entry.sendOnce--;
        destroySendOnce(object);
      }
    } else {
      if (entry.dead + delta < 0 || (delta > 0 && entry.dead === 0))
        throw new KernError(KERN_INVALID_VALUE, `dead-name refs of ${name}`);
      entry.dead += delta;
    }
    this.cleanup(name, entry);
  }

  /** mach_port_destroy: drop every right this space holds under `name`. */
  destroyName(name: PortName): void {
    const entry = this.entry(name);
    const object = entry.object;
    if (object instanceof PortSet) {
      destroySet(object);
      this.entries.delete(name);
      return;
    }
    // The name goes first, with this space's dead-name request (cancelled as
    // cleanup() does it): destroying a receive right must not fire this
    // space's own request for the name it is destroying, and a request on a
    // live port must give back its send-once right.
    this.entries.delete(name);
    object.holders.delete(this);
    const request = object.deadNameRequests.get(this);
    if (request) {
      object.deadNameRequests.delete(this);
      destroySendOnce(request);
    }
    if (entry.send > 0) {
      entry.send = 0;
      releaseSendRight(object);
    }
    while (entry.sendOnce > 0) {
      entry.sendOnce--;
      destroySendOnce(object);
    }
    entry.dead = 0;
    if (entry.receive) {
      entry.receive = false;
      destroyPort(object);
    }
  }

  /**
   * mach_port_request_notification. `kind` 'no_senders' needs the receive
   * right for `name`; 'dead_name' needs a send, send-once or dead-name right.
   * The notification goes to `notify` through a send-once right made from it
   * (or moved, if this space holds only a send-once right to it).
   * For no-senders, `sync` as in Mach: if non-zero and there are no senders
   * now and mscount >= sync, the notification is sent at once.
   */
  requestNotification(name: PortName, kind: 'no_senders' | 'dead_name', notify: PortName, sync = 0): void {
    const entry = this.entry(name);
    const port = entry.object;
    if (!(port instanceof Port)) throw new KernError(KERN_INVALID_RIGHT, `notification on port set ${name}`);
    const notifyPort = this.takeSendOnce(notify);
    if (kind === 'no_senders') {
      if (!entry.receive) {
        destroySendOnce(notifyPort);
        throw new KernError(KERN_INVALID_RIGHT, `no-senders request needs the receive right for ${name}`);
      }
      if (port.noSendersNotify) destroySendOnce(port.noSendersNotify);
      port.noSendersNotify = notifyPort;
      if (sync > 0 && port.srights === 0 && port.mscount >= sync) fireNoSenders(port);
      return;
    }
    if (entry.dead > 0) {
      this.system.notify(notifyPort, deadName(name));
      return;
    }
    if (entry.send === 0 && entry.sendOnce === 0) {
      destroySendOnce(notifyPort);
      throw new KernError(KERN_INVALID_RIGHT, `dead-name request needs a send right for ${name}`);
    }
    const previous = port.deadNameRequests.get(this);
    if (previous) destroySendOnce(previous);
    port.deadNameRequests.set(this, notifyPort);
  }

  /**
   * Give `to` a right to the port behind `name`, as a kernel call taking a
   * port argument does (vm_map copies in the memory object's send right).
   */
  copyRightTo(name: PortName, disposition: Disposition, to: IpcSpace): void {
    const entry = this.entry(name);
    // takeRight() trusts its caller to have checked the right, and a right
    // given to a terminated space would never be released.
    if (!canTake(entry, disposition)) throw new KernError(KERN_INVALID_RIGHT, `${name}: no right for ${disposition}`);
    to.checkAlive();
    copyOut(to, this.takeRight(entry, name, disposition));
  }

  // ---------------------------------------------------------------- messages

  /**
   * mach_msg send. The message is queued on its destination port; nothing
   * runs on behalf of the receiver until it receives. The rights the
   * message's definition names are taken from this space now and given to
   * the receiver when it receives. The message object (and any Buffer in it)
   * belongs to the IPC system from here on.
   */
  send<M extends Message>(msg: M, options?: SendOptions): void {
    this.checkAlive();
    const destEntry = this.entries.get(msg.dest);
    if (!destEntry || !(destEntry.object instanceof Port) || destEntry.dead > 0 || destEntry.object.dead)
      throw new KernError(MACH_SEND_INVALID_DEST, `${msg.id} to ${msg.dest} from ${this.label}`);
    const dest = destEntry.object;
    const destDisposition = options?.destDisposition ?? defaultDestDisposition(destEntry, msg);
    const fields = messageDef(msg.id).fields;
    const carriesRights = checkSendRights(this.entries, msg, destEntry, destDisposition, fields);

    // A send right to the destination travels with the message and is
    // released when the message leaves the queue, as in Mach (the kmsg's
    // remote port right): no-senders must not overtake the message that
    // used the last send right.
    const destRight = this.takeRight(destEntry, dest.name, destDisposition);
    // A send-once right is used up by the send itself.
    if (destRight.kind === 'send_once') dest.sorights--;
    let rights = NO_RIGHTS;
    if (carriesRights) {
      const taken: TransitRight[] = [];
      for (const [field, disposition] of fields) {
        const name = portField(msg, field);
        if (name !== MACH_PORT_NULL) taken.push(this.takeRight(this.entry(name), name, disposition));
      }
      rights = taken;
    }
    enqueue(dest, { msg, rights, destSend: destRight.kind === 'send', onRelease: options?.onRelease });
  }

  /**
   * mach_msg receive on a port or port set: the oldest queued message, or the
   * next one to arrive. Rejects with MACH_RCV_PORT_DIED if the port dies while
   * waiting.
   */
  receive(name: PortName): Promise<Message> {
    const object = this.receivable(name);
    const queued = takeQueued(object);
    if (queued) return Promise.resolve(copyOutMessage(this, queued.port, queued.qm));
    return new Promise<Message>((resolve, reject) => {
      object.waiters.push({ space: this, resolve, reject });
    });
  }

  /** Receive without waiting: the oldest queued message, or undefined. */
  tryReceive(name: PortName): Message | undefined {
    const object = this.receivable(name);
    const queued = takeQueued(object);
    return queued ? copyOutMessage(this, queued.port, queued.qm) : undefined;
  }

  /** Messages waiting on a port or port set. */
  queueLength(name: PortName): number {
    const object = this.receivable(name);
    if (object instanceof Port) return object.queue.length;
    let n = 0;
    for (const member of object.members) n += member.queue.length;
    return n;
  }

  /** Task death: every right goes, receive rights destroy their ports. */
  terminate(): void {
    if (this.terminated) return;
    for (const name of [...this.entries.keys()]) if (this.entries.has(name)) this.destroyName(name);
    this.terminated = true;
    this.system.spaces.delete(this);
  }

  // ---------------------------------------------------------------- internals

  private checkAlive(): void {
    if (this.terminated) throw new KernError(KERN_INVALID_ARGUMENT, `space ${this.label} is terminated`);
  }

  private entry(name: PortName): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new KernError(KERN_INVALID_NAME, `${name} in ${this.label}`);
    return entry;
  }

  private receivable(name: PortName): Port | PortSet {
    const entry = this.entries.get(name);
    if (!entry || !entry.receive) {
      if (entry && entry.dead > 0) throw new KernError(MACH_RCV_PORT_DIED, `${name}`);
      throw new KernError(MACH_RCV_INVALID_NAME, `${name} in ${this.label}`);
    }
    const object = entry.object;
    if (object instanceof Port && object.set) throw new KernError(MACH_RCV_IN_SET, `${name}`);
    return object;
  }

  /** Take a right out of this space for a message or a transfer. `canTake` must hold. */
  private takeRight(entry: Entry, name: PortName, disposition: Disposition): TransitRight {
    const port = entry.object;
    if (!(port instanceof Port)) throw new KernError(MACH_SEND_INVALID_RIGHT, `${name} is a port set`);
    const d = disposition === 'poly' ? polyDisposition(entry) : disposition;
    switch (d) {
      case 'copy_send':
        port.srights++;
        return { port, kind: 'send' };
      case 'make_send':
        port.mscount++;
        port.srights++;
        return { port, kind: 'send' };
      case 'move_send':
        // The entry's right moves unless other user references keep it here.
        if (entry.send > 1) port.srights++;
        entry.send--;
        // A space that still holds a send-once right stays a holder: its
        // right must become a dead name when the port dies.
        if (entry.send === 0 && entry.sendOnce === 0) port.holders.delete(this);
        this.cleanup(name, entry);
        return { port, kind: 'send' };
      case 'make_send_once':
        port.sorights++;
        return { port, kind: 'send_once' };
      case 'move_send_once':
        entry.sendOnce--;
        if (entry.send === 0 && entry.sendOnce === 0) port.holders.delete(this);
        this.cleanup(name, entry);
        return { port, kind: 'send_once' };
      case 'move_receive':
        entry.receive = false;
        if (port.set) {
          port.set.members.delete(port);
          port.set = null;
          port.setGeneration++;
        }
        port.receiver = null;
        // As GNU Mach's ipc_port_clear_receiver: receivers waiting in this
        // space are woken with MACH_RCV_PORT_DIED (else they would take
        // messages meant for the new receiver), and the new receiver starts
        // with fresh sequence numbers and mscount.
        for (const waiter of port.waiters.drain())
          waiter.reject(new KernError(MACH_RCV_PORT_DIED, `receive right ${name} moved out of ${this.label}`));
        port.seqno = 0;
        port.mscount = 0;
        this.cleanup(name, entry);
        return { port, kind: 'receive' };
      default:
        throw new KernError(MACH_SEND_INVALID_RIGHT, `${name}: no right for ${disposition}`);
    }
  }

  /** A send-once right to `name` for a notification request. */
  private takeSendOnce(name: PortName): Port {
    const entry = this.entry(name);
    if (!(entry.object instanceof Port)) throw new KernError(KERN_INVALID_RIGHT, `${name} is a port set`);
    if (entry.receive) return this.takeRight(entry, name, 'make_send_once').port;
    if (entry.sendOnce > 0) return this.takeRight(entry, name, 'move_send_once').port;
    throw new KernError(KERN_INVALID_RIGHT, `no right to make a send-once right to ${name}`);
  }

  /** @internal Insert a send right that arrived from elsewhere. */
  addSend(entry: Entry, port: Port, count: number): void {
    if (entry.send === 0) {
      port.holders.add(this);
    } else {
      // Merged into the send right already here: one right fewer in existence.
      port.srights--;
    }
    entry.send += count;
  }

  /** @internal The entry for a port arriving in this space (created if new). */
  entryFor(port: Port): Entry {
    let entry = this.entries.get(port.name);
    if (!entry) {
      entry = { object: port, receive: false, send: 0, sendOnce: 0, dead: 0 };
      this.entries.set(port.name, entry);
    }
    return entry;
  }

  private dropSend(entry: Entry, port: Port): void {
    if (entry.sendOnce === 0) port.holders.delete(this);
    releaseSendRight(port);
  }

  private cleanup(name: PortName, entry: Entry): void {
    if (!entry.receive && entry.send === 0 && entry.sendOnce === 0 && entry.dead === 0) {
      this.entries.delete(name);
      if (entry.object instanceof Port) {
        entry.object.holders.delete(this);
        const request = entry.object.deadNameRequests.get(this);
        if (request) {
          entry.object.deadNameRequests.delete(this);
          destroySendOnce(request);
        }
      }
    }
  }

  /** @internal A port died: the rights here become a dead name. */
  portDied(port: Port): void {
    const entry = this.entries.get(port.name);
    if (!entry) return;
    const refs = entry.send + entry.sendOnce;
    entry.send = 0;
    entry.sendOnce = 0;
    if (refs > 0) entry.dead += refs;
    const request = port.deadNameRequests.get(this);
    if (request) {
      port.deadNameRequests.delete(this);
      this.system.notify(request, deadName(port.name));
    }
    this.cleanup(port.name, entry);
  }
}
