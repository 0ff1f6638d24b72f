/**
 * Messages: plain, serialisable values (numbers, strings, booleans, Buffers and
 * port names). A message names its destination port; the port rights it
 * carries are the fields its definition lists, as MIG's .defs files say which
 * arguments are ports and how they are transferred.
 */

/** A port name. Names are global to one IpcSystem; 0 is MACH_PORT_NULL. */
export type PortName = number;
export const MACH_PORT_NULL: PortName = 0;

/**
 * How a right is put into a message (mach_msg_type_name_t):
 * - copy_send: the sender keeps its send right; the receiver gets another.
 * - make_send: a send right made from the sender's receive right.
 * - move_send: the sender's send right (one user reference) goes with the message.
 * - make_send_once / move_send_once: likewise for send-once rights.
 * - move_receive: the receive right itself changes hands.
 * - poly: whatever the sender holds, chosen in the order send-once (moved),
 *   send (copied), receive (a send-once right is made): MIG's polymorphic type.
 */
export type Disposition =
  | 'copy_send'
  | 'make_send'
  | 'move_send'
  | 'make_send_once'
  | 'move_send_once'
  | 'move_receive'
  | 'poly';

export interface Message {
  /** The message's name, e.g. 'memory_object_data_request'. */
  readonly id: string;
  /** Destination port. */
  dest: PortName;
  /** Set by receive: the destination port's sequence number for this message. */
  seqno?: number;
}

export interface MessageDef {
  /** Fields of the message that carry port rights, and how each is transferred. */
  readonly ports: Readonly<Record<string, Disposition>>;
}

interface RegisteredDef extends MessageDef {
  /** The same as `ports`, as a list made once (send walks it for every message). */
  readonly fields: readonly (readonly [string, Disposition])[];
}

const registry = new Map<string, RegisteredDef>();
const noPorts: RegisteredDef = { ports: {}, fields: [] };

/**
 * Declare messages. Done once per protocol module, like a MIG subsystem: the
 * IPC layer then knows which fields of each message are port rights.
 */
export function defineMessages(defs: Readonly<Record<string, MessageDef>>): void {
  for (const [id, def] of Object.entries(defs)) {
    const known = registry.get(id);
    if (known && known.ports !== def.ports) throw new Error(`message ${id} defined twice`);
    registry.set(id, { ports: def.ports, fields: Object.entries(def.ports) });
  }
}

export function messageDef(id: string): RegisteredDef {
  return registry.get(id) ?? noPorts;
}

/** Read a port field of a message (ports are plain numbers in the body). */
export function portField(msg: Message, field: string): PortName {
  const value = (msg as unknown as Record<string, unknown>)[field];
  return typeof value === 'number' ? value : MACH_PORT_NULL;
}

