/**
 * Port rights, port side: what a right is in a space's name table, which
 * dispositions a holder's rights allow, and what happens to a port when
 * rights to it go away (no-senders, send-once notifications, the death of
 * a port and of the messages queued on it). The name table itself is the
 * IpcSpace (space.ts); moving rights in messages is message-transit.ts.
 */
import { KernError, MACH_RCV_PORT_DIED } from './kern-return.js';
import { MACH_PORT_NULL, type Disposition, type PortName } from './message.js';
import type { DeadNameNotification, NoSendersNotification, SendOnceNotification } from './notify.js';
import { Port, type PortSet, type QueuedMessage } from './port.js';

export type RightKind = 'receive' | 'send' | 'send_once' | 'dead_name' | 'port_set';

/** One name in a space's table: the object behind it and the rights held. */
export interface Entry {
  readonly object: Port | PortSet;
  receive: boolean;
  /** User references on the send right (0 = none). */
  send: number;
  /** Send-once rights held (each is a separate right). */
  sendOnce: number;
  /** User references on the dead name. */
  dead: number;
}

export interface RightsInfo {
  receive: boolean;
  send: number;
  sendOnce: number;
  deadName: number;
  portSet: boolean;
}

/** The rights of one name still available while a message is checked. */
export interface Budget {
  send: number;
  sendOnce: number;
  receive: boolean;
}

/** Whether `have` allows `disposition`; if so, take away what it uses up. */
export function consume(have: Budget, disposition: Disposition): boolean {
  const d = disposition === 'poly' ? polyDisposition(have) : disposition;
  switch (d) {
    case 'copy_send':
      return have.send > 0;
    case 'move_send':
      if (have.send === 0) return false;
      have.send--;
      return true;
    case 'make_send':
    case 'make_send_once':
      return have.receive;
    case 'move_send_once':
      if (have.sendOnce === 0) return false;
      have.sendOnce--;
      return true;
    case 'move_receive':
      if (!have.receive) return false;
      have.receive = false;
      return true;
    case 'poly':
      return false;
  }
}

/** Whether the rights of `entry` allow `disposition` (nothing is taken). */
export function canTake(entry: Entry, disposition: Disposition): boolean {
  if (!(entry.object instanceof Port) || entry.object.dead) return false;
  return consume({ send: entry.send, sendOnce: entry.sendOnce, receive: entry.receive }, disposition);
}

/** What MIG's polymorphic type resolves to for a holder of `rights`. */
export function polyDisposition(rights: Budget): Disposition {
  if (rights.sendOnce > 0) return 'move_send_once';
  if (rights.send > 0) return 'copy_send';
  return 'make_send_once';
}

/** One send right to `port` fewer in existence; the last one fires no-senders. */
export function releaseSendRight(port: Port): void {
  port.srights--;
  if (port.srights === 0 && port.noSendersNotify && !port.dead) fireNoSenders(port);
}

export function fireNoSenders(port: Port): void {
  const notify = port.noSendersNotify;
  if (!notify) return;
  port.noSendersNotify = null;
  const msg: NoSendersNotification = { id: 'mach_notify_no_senders', dest: notify.name, name: port.name, mscount: port.mscount };
  // port.system, not port.receiver.system: the receiver is null while the receive right is in transit.
  port.system.notify(notify, msg);
}

/** A send-once right to `port` goes unused. */
export function destroySendOnce(port: Port): void {
  if (port.dead) {
    port.sorights--;
    return;
  }
  // An unused send-once right still produces exactly one message: the send-once notification.
  // Also while the receive right is in transit (port.receiver is null).
  port.system.notify(port, sendOnceGone(port));
}

function sendOnceGone(port: Port): SendOnceNotification {
  return { id: 'mach_notify_send_once', dest: port.name };
}

export function deadName(name: PortName): DeadNameNotification {
  return { id: 'mach_notify_dead_name', dest: MACH_PORT_NULL, name };
}

/** The receive right is gone: queued messages are destroyed and holders get dead names. */
export function destroyPort(port: Port): void {
  if (port.dead) return;
  port.dead = true;
  port.receiver = null;
  if (port.set) {
    port.set.members.delete(port);
    port.set = null;
  }
  for (const waiter of port.waiters.drain()) waiter.reject(new KernError(MACH_RCV_PORT_DIED, `port ${port.name}`));
  if (port.noSendersNotify) {
    destroySendOnce(port.noSendersNotify);
    port.noSendersNotify = null;
  }
  for (const qm of port.queue.drain()) destroyQueued(port, qm);
  for (const space of [...port.holders]) space.portDied(port);
  port.holders.clear();
}

/** A queued message that will never be received: the rights it carries are destroyed. */
function destroyQueued(port: Port, qm: QueuedMessage): void {
  if (qm.destSend) releaseSendRight(port);
  for (const right of qm.rights) {
    if (right.kind === 'send') releaseSendRight(right.port);
    else if (right.kind === 'send_once') destroySendOnce(right.port);
    else destroyPort(right.port);
  }
  qm.onRelease?.(false);
}

/** The port set's name is gone: its members leave it and its receivers fail. */
export function destroySet(set: PortSet): void {
  set.dead = true;
  for (const member of set.members) {
    member.set = null;
    member.setGeneration++;
  }
  set.members.clear();
  set.arrivals.drain();
  for (const waiter of set.waiters.drain()) waiter.reject(new KernError(MACH_RCV_PORT_DIED, `port set ${set.name}`));
}
