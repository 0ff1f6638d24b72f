/**
 * Notifications the IPC system sends on its own (<mach/notify.h>). Each goes
 * to the port named in the request, through the send-once right the request
 * holds.
 */
import { defineMessages, type Message, type PortName } from './message.js';

/** The last send right to `name` is gone (requested by its receiver). */
export interface NoSendersNotification extends Message {
  readonly id: 'mach_notify_no_senders';
  /** The port that has no senders left (a plain name, not a right). */
  readonly name: PortName;
  readonly mscount: number;
}

/** The port behind `name` died; `name` is now a dead name in the requester's space. */
export interface DeadNameNotification extends Message {
  readonly id: 'mach_notify_dead_name';
  readonly name: PortName;
}

/** A send-once right to this port was destroyed without being used. */
export interface SendOnceNotification extends Message {
  readonly id: 'mach_notify_send_once';
}

export type Notification = NoSendersNotification | DeadNameNotification | SendOnceNotification;

defineMessages({
  mach_notify_no_senders: { ports: {} },
  mach_notify_dead_name: { ports: {} },
  mach_notify_send_once: { ports: {} },
});

export function isNotification(msg: Message): msg is Notification {
  return (
    msg.id === 'mach_notify_no_senders' ||
    msg.id === 'mach_notify_dead_name' ||
    msg.id === 'mach_notify_send_once'
  );
}
