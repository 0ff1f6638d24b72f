/**
 * Messages in transit (ipc_kmsg): checking the rights a send uses before
 * anything is taken, queueing on the destination port (and its port set),
 * handing messages to waiting receivers, and copying a message's rights out
 * into the receiving space.
 */
import { KernError, MACH_SEND_INVALID_DEST, MACH_SEND_INVALID_RIGHT } from './kern-return.js';
import { MACH_PORT_NULL, portField, type Disposition, type Message, type PortName } from './message.js';
import { Port, type PortSet, type QueuedMessage, type TransitRight } from './port.js';
import { consume, canTake, releaseSendRight, type Budget, type Entry } from './port-rights.js';
import type { IpcSpace } from './space.js';

export type DestDisposition = 'copy_send' | 'move_send' | 'move_send_once' | 'make_send' | 'make_send_once';

export interface SendOptions {
  /** How to use the destination right; by default a send right is copied, else a send-once right moved. */
  destDisposition?: DestDisposition;
  /**
   * Runs once when the message leaves the destination queue (received or
   * destroyed). The kernel uses it to learn when memory held by a message in
   * transit can be released. It is not part of the message.
   */
  onRelease?: (delivered: boolean) => void;
}

/** Shared by every message that carries no rights: never written to. */
export const NO_RIGHTS: readonly TransitRight[] = [];

/** How a send uses the destination right when the sender does not say. */
export function defaultDestDisposition(entry: Entry, msg: Message): DestDisposition {
  if (entry.send > 0) return 'copy_send';
  if (entry.sendOnce > 0) return 'move_send_once';
  if (entry.receive) return 'make_send';
  throw new KernError(MACH_SEND_INVALID_DEST, `${msg.id} to ${msg.dest}`);
}

/**
 * Check every right a send takes, so that a failed send changes nothing.
 * The check counts what earlier parts of the message use up, in the order
 * they are taken (destination, then the fields), so that a message moving
 * one right twice fails before anything is taken. Moving the destination's
 * own receive right into the message is refused: nobody could ever receive
 * it. Returns whether the message carries rights in its fields.
 */
export function checkSendRights(
  entries: ReadonlyMap<PortName, Entry>,
  msg: Message,
  destEntry: Entry,
  destDisposition: DestDisposition,
  fields: readonly (readonly [string, Disposition])[],
): boolean {
  let carriesRights = false;
  for (const [field] of fields) if (portField(msg, field) !== MACH_PORT_NULL) carriesRights = true;
  if (!carriesRights) {
    if (!canTake(destEntry, destDisposition))
      throw new KernError(MACH_SEND_INVALID_DEST, `no right to send to ${msg.dest} (${destDisposition})`);
    return false;
  }
  const budgets = new Map<PortName, Budget>();
  const budgetOf = (entry: Entry, name: PortName): Budget => {
    let budget = budgets.get(name);
    if (!budget) {
      budget = { send: entry.send, sendOnce: entry.sendOnce, receive: entry.receive };
      budgets.set(name, budget);
    }
    return budget;
  };
  if (!consume(budgetOf(destEntry, msg.dest), destDisposition))
    throw new KernError(MACH_SEND_INVALID_DEST, `no right to send to ${msg.dest} (${destDisposition})`);
  for (const [field, disposition] of fields) {
    const name = portField(msg, field);
    if (name === MACH_PORT_NULL) continue;
    const entry = entries.get(name);
    const ok =
      entry !== undefined &&
      entry.object instanceof Port &&
      !entry.object.dead &&
      !(name === msg.dest && disposition === 'move_receive') &&
      consume(budgetOf(entry, name), disposition);
    if (!ok) throw new KernError(MACH_SEND_INVALID_RIGHT, `${msg.id}.${field} = ${name} (${disposition})`);
  }
  return true;
}

export function enqueue(port: Port, qm: QueuedMessage): void {
  port.queue.push(qm);
  if (port.set) port.set.arrivals.push({ port, generation: port.setGeneration });
  deliverWaiting(port);
}

/** Hand queued messages to receivers that are already waiting. */
export function deliverWaiting(port: Port): void {
  const target = port.set ?? port;
  while (target.waiters.length > 0) {
    const queued = takeQueued(target);
    if (!queued) return;
    const waiter = target.waiters.shift();
    if (!waiter) return;
    waiter.resolve(copyOutMessage(waiter.space, queued.port, queued.qm));
  }
}

/** The oldest message on a port, or on any member of a port set (in arrival order). */
export function takeQueued(object: Port | PortSet): { port: Port; qm: QueuedMessage } | undefined {
  if (object instanceof Port) {
    if (object.receiver === null) return undefined;
    const qm = object.queue.shift();
    return qm ? { port: object, qm } : undefined;
  }
  for (;;) {
    const token: { port: Port; generation: number } | undefined = object.arrivals.shift();
    if (!token) return undefined;
    const port: Port = token.port;
    if (port.set !== object || port.setGeneration !== token.generation) continue;
    const qm = port.queue.shift();
    if (qm) return { port, qm };
  }
}

/** A right arrives in `space` (received in a message, or given by copyRightTo). */
export function copyOut(space: IpcSpace, right: TransitRight): void {
  const port = right.port;
  const entry = space.entryFor(port);
  if (right.kind === 'receive') {
    if (port.dead) return;
    entry.receive = true;
    port.receiver = space;
    return;
  }
  if (port.dead) {
    // The port died in transit: the receiver gets a dead name.
    if (right.kind === 'send') releaseSendRight(port);
    else port.sorights--;
    entry.dead++;
    return;
  }
  if (right.kind === 'send') space.addSend(entry, port, 1);
  else {
    if (entry.sendOnce === 0 && entry.send === 0) port.holders.add(space);
    entry.sendOnce++;
  }
}

/** A message is received in `space`: its rights are copied out, and it gets its sequence number. */
export function copyOutMessage(space: IpcSpace, port: Port, qm: QueuedMessage): Message {
  for (const right of qm.rights) copyOut(space, right);
  qm.msg.seqno = port.seqno++;
  qm.onRelease?.(true);
  // The send right to the destination that the message carried is used up.
  if (qm.destSend) releaseSendRight(port);
  return qm.msg;
}
