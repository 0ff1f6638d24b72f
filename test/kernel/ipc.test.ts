/**
 * kernel/ipc: ports, rights, port sets, messages and notifications, tested
 * through the public IpcSystem / IpcSpace calls only.
 */
import { describe, expect, it } from 'vitest';
import {
  KernError,
  KERN_INVALID_ARGUMENT,
  KERN_INVALID_NAME,
  KERN_INVALID_RIGHT,
  KERN_INVALID_VALUE,
  KERN_NOT_IN_SET,
  MACH_RCV_IN_SET,
  MACH_RCV_INVALID_NAME,
  MACH_RCV_PORT_CHANGED,
  MACH_RCV_PORT_DIED,
  MACH_SEND_INVALID_DEST,
  MACH_SEND_INVALID_RIGHT,
} from '../../kernel/ipc/kern-return.js';
import { defineMessages, MACH_PORT_NULL, type Message, type PortName } from '../../kernel/ipc/message.js';
import type { DeadNameNotification, NoSendersNotification } from '../../kernel/ipc/notify.js';
import { serve } from '../../kernel/ipc/receive-loop.js';
import { IpcSystem, type IpcSpace } from '../../kernel/ipc/space.js';

// ------------------------------------------------------------------ test messages

interface Ping extends Message {
  readonly id: 'test_ping';
  readonly n: number;
}

/** A message with one port field, `port`; how it travels depends on the id. */
interface Carry extends Message {
  readonly id:
    | 'test_carry_right'
    | 'test_move_send'
    | 'test_make_send'
    | 'test_make_send_once'
    | 'test_move_send_once'
    | 'test_move_receive'
    | 'test_poly'
    | 'test_undeclared_port';
  readonly port: PortName;
}

interface TwoRights extends Message {
  readonly id: 'test_move_and_copy' | 'test_move_twice';
  readonly a: PortName;
  readonly b: PortName;
}

defineMessages({
  test_ping: { ports: {} },
  test_carry_right: { ports: { port: 'copy_send' } },
  test_move_send: { ports: { port: 'move_send' } },
  test_make_send: { ports: { port: 'make_send' } },
  test_make_send_once: { ports: { port: 'make_send_once' } },
  test_move_send_once: { ports: { port: 'move_send_once' } },
  test_move_receive: { ports: { port: 'move_receive' } },
  test_poly: { ports: { port: 'poly' } },
  test_move_and_copy: { ports: { a: 'move_send', b: 'copy_send' } },
  test_move_twice: { ports: { a: 'move_send', b: 'move_send' } },
  // 'test_undeclared_port' is deliberately not defined: its `port` is a plain number.
});

// ------------------------------------------------------------------ helpers

function world(): { ipc: IpcSystem; server: IpcSpace; client: IpcSpace; other: IpcSpace } {
  const ipc = new IpcSystem();
  return { ipc, server: ipc.createSpace('server'), client: ipc.createSpace('client'), other: ipc.createSpace('other') };
}

/** A new port received by `owner`, with one send right given to each of `senders`. */
function portWithSenders(owner: IpcSpace, ...senders: IpcSpace[]): PortName {
  const port = owner.allocatePort();
  for (const space of senders) owner.copyRightTo(port, 'make_send', space);
  return port;
}

function ping(dest: PortName, n: number): Ping {
  return { id: 'test_ping', dest, n };
}

function carry(id: Carry['id'], dest: PortName, port: PortName): Carry {
  return { id, dest, port };
}

function nOf(msg: Message | undefined): number {
  expect(msg?.id).toBe('test_ping');
  return (msg as Ping).n;
}

/** Every message queued on `name` in `space`, oldest first. */
function drain(space: IpcSpace, name: PortName): Message[] {
  const out: Message[] = [];
  for (let msg = space.tryReceive(name); msg; msg = space.tryReceive(name)) out.push(msg);
  return out;
}

function ids(msgs: Message[]): string[] {
  return msgs.map((m) => m.id);
}

/** The Mach error code `fn` throws (undefined if it returns). */
function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof KernError) return err.code;
    throw err;
  }
  return undefined;
}

/** The Mach error code `promise` rejects with (undefined if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KernError) return err.code;
    throw err;
  }
  return undefined;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A notification port in `space` armed for no-senders on `port`. */
function armNoSenders(space: IpcSpace, port: PortName, sync = 0): PortName {
  const notify = space.allocatePort();
  space.requestNotification(port, 'no_senders', notify, sync);
  return notify;
}

/** A notification port in `space` with a dead-name request for `name`. */
function armDeadName(space: IpcSpace, name: PortName): PortName {
  const notify = space.allocatePort();
  space.requestNotification(name, 'dead_name', notify);
  return notify;
}

// ------------------------------------------------------------------ messages

describe('send and receive', () => {
  it('delivers in FIFO order with per-port sequence numbers', () => {
    const { server, client } = world();
    const a = portWithSenders(server, client);
    const b = portWithSenders(server, client);
    client.send(ping(a, 1));
    client.send(ping(b, 10));
    client.send(ping(a, 2));
    client.send(ping(a, 3));
    client.send(ping(b, 11));
    expect(server.queueLength(a)).toBe(3);
    expect(server.queueLength(b)).toBe(2);
    const fromA = drain(server, a);
    const fromB = drain(server, b);
    expect(fromA.map(nOf)).toEqual([1, 2, 3]);
    expect(fromA.map((m) => m.seqno)).toEqual([0, 1, 2]);
    expect(fromB.map(nOf)).toEqual([10, 11]);
    expect(fromB.map((m) => m.seqno)).toEqual([0, 1]);
    expect(fromA[0]?.dest).toBe(a);
    client.send(ping(a, 4));
    expect(server.tryReceive(a)?.seqno).toBe(3);
  });

  it('a receive waits for a later send; waiting receivers are served in order', async () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    let first: Message | undefined;
    const firstDone = server.receive(port).then((m) => (first = m));
    const second = server.receive(port);
    await tick();
    expect(first).toBeUndefined();
    expect(server.queueLength(port)).toBe(0);
    client.send(ping(port, 1));
    client.send(ping(port, 2));
    await firstDone;
    expect(nOf(first)).toBe(1);
    expect(nOf(await second)).toBe(2);
    expect(server.queueLength(port)).toBe(0);
  });

  it('receive resolves at once when a message is queued', async () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    client.send(ping(port, 5));
    expect(nOf(await server.receive(port))).toBe(5);
  });

  it('tryReceive returns undefined on an empty queue and does not wait', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    expect(server.tryReceive(port)).toBeUndefined();
    client.send(ping(port, 1));
    expect(server.queueLength(port)).toBe(1);
    expect(nOf(server.tryReceive(port))).toBe(1);
    expect(server.queueLength(port)).toBe(0);
    expect(server.tryReceive(port)).toBeUndefined();
  });

  it('only the receive right can receive; unknown names are rejected', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    expect(codeOf(() => client.tryReceive(port))).toBe(MACH_RCV_INVALID_NAME);
    expect(codeOf(() => client.queueLength(port))).toBe(MACH_RCV_INVALID_NAME);
    expect(codeOf(() => server.tryReceive(9999))).toBe(MACH_RCV_INVALID_NAME);
    expect(codeOf(() => client.send(ping(9999, 1)))).toBe(MACH_SEND_INVALID_DEST);
    // A space with no right at all to the port cannot send to it either.
    const { other } = world();
    expect(codeOf(() => other.send(ping(port, 1)))).toBe(MACH_SEND_INVALID_DEST);
  });

  it('the receiver can send to its own port (make_send by default) without keeping a send right', () => {
    const { server } = world();
    const port = server.allocatePort();
    server.send(ping(port, 1));
    expect(nOf(server.tryReceive(port))).toBe(1);
    expect(server.rights(port)).toEqual({ receive: true, send: 0, sendOnce: 0, deadName: 0, portSet: false });
  });

  it('the serve loop handles messages in order and ends when the port dies', async () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const seen: number[] = [];
    client.send(ping(port, 1));
    const loop = serve(server, port, (m) => seen.push(nOf(m)));
    client.send(ping(port, 2));
    client.send(ping(port, 3));
    await tick();
    expect(seen).toEqual([1, 2, 3]);
    server.modRefs(port, 'receive', -1);
    await loop;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('the serve loop ends when its port is moved into a port set', async () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const set = server.allocatePortSet();
    const loop = serve(server, port, () => undefined);
    await tick();
    server.moveMember(port, set);
    await loop;
    client.send(ping(port, 1));
    expect(nOf(server.tryReceive(set))).toBe(1);
  });
});

// ------------------------------------------------------------------ port sets

describe('port sets', () => {
  it('messages from several member ports come out in arrival order', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const a = portWithSenders(server, client);
    const b = portWithSenders(server, client);
    const c = portWithSenders(server, client);
    for (const p of [a, b, c]) server.moveMember(p, set);
    expect(server.rights(set).portSet).toBe(true);
    expect(server.rights(set).receive).toBe(false);
    client.send(ping(a, 1));
    client.send(ping(c, 2));
    client.send(ping(b, 3));
    client.send(ping(a, 4));
    client.send(ping(c, 5));
    expect(server.queueLength(set)).toBe(5);
    const got = drain(server, set);
    expect(got.map(nOf)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((m) => m.dest)).toEqual([a, c, b, a, c]);
    // Sequence numbers stay per port.
    expect(got.map((m) => m.seqno)).toEqual([0, 0, 0, 1, 1]);
  });

  it('moving a port with queued messages into a set makes them receivable from the set', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const early = portWithSenders(server, client);
    const member = portWithSenders(server, client);
    server.moveMember(member, set);
    client.send(ping(early, 1));
    client.send(ping(member, 2));
    client.send(ping(early, 3));
    server.moveMember(early, set);
    expect(server.queueLength(set)).toBe(3);
    client.send(ping(early, 4));
    // Messages already queued on `early` join behind the ones the set had.
    expect(drain(server, set).map(nOf)).toEqual([2, 1, 3, 4]);
  });

  it('a receive waiting on the set gets a message sent later to a member', async () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, set);
    const pending = server.receive(set);
    await tick();
    client.send(ping(port, 7));
    const msg = await pending;
    expect(nOf(msg)).toBe(7);
    expect(msg.dest).toBe(port);
  });

  it('moving a queued port into a set wakes a receive waiting on the set', async () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    client.send(ping(port, 1));
    const pending = server.receive(set);
    server.moveMember(port, set);
    expect(nOf(await pending)).toBe(1);
  });

  it('receiving directly on a member port fails with MACH_RCV_IN_SET', async () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, set);
    client.send(ping(port, 1));
    expect(codeOf(() => server.tryReceive(port))).toBe(MACH_RCV_IN_SET);
    expect(codeOf(() => server.queueLength(port))).toBe(MACH_RCV_IN_SET);
    expect(await rejection(Promise.resolve().then(() => server.receive(port)))).toBe(MACH_RCV_IN_SET);
    expect(server.queueLength(set)).toBe(1);
  });

  it('moving a port out of its set makes it receivable directly, with its queue', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, set);
    client.send(ping(port, 1));
    client.send(ping(port, 2));
    server.moveMember(port, MACH_PORT_NULL);
    expect(server.queueLength(set)).toBe(0);
    expect(server.tryReceive(set)).toBeUndefined();
    expect(drain(server, port).map(nOf)).toEqual([1, 2]);
    expect(codeOf(() => server.moveMember(port, MACH_PORT_NULL))).toBe(KERN_NOT_IN_SET);
  });

  it('moving a port from one set to another carries its queued messages', () => {
    const { server, client } = world();
    const s1 = server.allocatePortSet();
    const s2 = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, s1);
    client.send(ping(port, 1));
    server.moveMember(port, s2);
    client.send(ping(port, 2));
    expect(server.tryReceive(s1)).toBeUndefined();
    expect(drain(server, s2).map(nOf)).toEqual([1, 2]);
  });

  it('a failed move (target is not a set) leaves the port in its set', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    const notASet = server.allocatePort();
    server.moveMember(port, set);
    expect(codeOf(() => server.moveMember(port, notASet))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => server.moveMember(port, 9999))).toBe(KERN_INVALID_NAME);
    client.send(ping(port, 1));
    expect(codeOf(() => server.tryReceive(port))).toBe(MACH_RCV_IN_SET);
    expect(nOf(server.tryReceive(set))).toBe(1);
    // Only the receive right can be moved into a set.
    expect(codeOf(() => client.moveMember(port, set))).toBe(KERN_INVALID_RIGHT);
  });

  it('a receive waiting on a port fails with MACH_RCV_PORT_CHANGED when the port joins a set', async () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    const waiting = rejection(server.receive(port));
    server.moveMember(port, set);
    expect(await waiting).toBe(MACH_RCV_PORT_CHANGED);
    client.send(ping(port, 1));
    expect(nOf(server.tryReceive(set))).toBe(1);
  });

  it('a member that dies leaves the other members receivable', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const a = portWithSenders(server, client);
    const b = portWithSenders(server, client);
    server.moveMember(a, set);
    server.moveMember(b, set);
    client.send(ping(a, 1));
    client.send(ping(b, 2));
    client.send(ping(a, 3));
    server.modRefs(a, 'receive', -1);
    expect(server.queueLength(set)).toBe(1);
    expect(drain(server, set).map(nOf)).toEqual([2]);
  });

  it('destroying a set fails its waiting receives and frees its members', async () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, set);
    const waiting = rejection(server.receive(set));
    server.modRefs(set, 'port_set', -1);
    expect(await waiting).toBe(MACH_RCV_PORT_DIED);
    expect(server.hasName(set)).toBe(false);
    client.send(ping(port, 1));
    expect(nOf(server.tryReceive(port))).toBe(1);
    // mod_refs on the wrong kind of right.
    const set2 = server.allocatePortSet();
    expect(codeOf(() => server.modRefs(set2, 'receive', -1))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => server.modRefs(port, 'port_set', -1))).toBe(KERN_INVALID_RIGHT);
  });
});

// ------------------------------------------------------------------ rights

describe('rights', () => {
  it('reports no rights for an unknown name', () => {
    const { server } = world();
    expect(server.rights(12345)).toEqual({ receive: false, send: 0, sendOnce: 0, deadName: 0, portSet: false });
    expect(server.hasName(12345)).toBe(false);
    expect(server.isDeadName(12345)).toBe(false);
    expect(codeOf(() => server.deallocate(12345))).toBe(KERN_INVALID_NAME);
  });

  it('copy_send keeps the sender\'s right and gives the receiver one at receive time', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    client.send(carry('test_carry_right', carrier, port));
    expect(client.rights(port).send).toBe(1);
    // The right is in the message, not yet in the receiver's space.
    expect(other.hasName(port)).toBe(false);
    const msg = other.tryReceive(carrier) as Carry;
    expect(msg.port).toBe(port);
    expect(other.rights(port)).toEqual({ receive: false, send: 1, sendOnce: 0, deadName: 0, portSet: false });
    client.send(ping(port, 1));
    other.send(ping(port, 2));
    expect(drain(server, port).map(nOf)).toEqual([1, 2]);
  });

  it('make_send makes a send right from the receive right', () => {
    const { server, client, other } = world();
    const port = server.allocatePort();
    server.makeSend(port);
    expect(server.rights(port)).toEqual({ receive: true, send: 1, sendOnce: 0, deadName: 0, portSet: false });
    server.makeSend(port);
    expect(server.rights(port).send).toBe(2);
    // In a message.
    const carrier = portWithSenders(other, server);
    server.send(carry('test_make_send', carrier, port));
    expect(server.rights(port).send).toBe(2);
    other.tryReceive(carrier);
    expect(other.rights(port).send).toBe(1);
    // Without the receive right there is nothing to make it from.
    const clientCarrier = portWithSenders(other, client);
    server.copyRightTo(port, 'copy_send', client);
    expect(codeOf(() => client.makeSend(port))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => client.send(carry('test_make_send', clientCarrier, port)))).toBe(MACH_SEND_INVALID_RIGHT);
  });

  it('move_send moves one user reference', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    server.copyRightTo(port, 'make_send', client);
    expect(client.rights(port).send).toBe(2);
    const carrier = portWithSenders(other, client);
    client.send(carry('test_move_send', carrier, port));
    expect(client.rights(port).send).toBe(1);
    other.tryReceive(carrier);
    expect(other.rights(port).send).toBe(1);
    client.send(carry('test_move_send', carrier, port));
    expect(client.hasName(port)).toBe(false);
    other.tryReceive(carrier);
    expect(other.rights(port).send).toBe(2);
    expect(codeOf(() => client.send(ping(port, 1)))).toBe(MACH_SEND_INVALID_DEST);
  });

  it('mod_refs and deallocate count user references', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    client.modRefs(port, 'send', 2);
    expect(client.rights(port).send).toBe(3);
    client.deallocate(port);
    expect(client.rights(port).send).toBe(2);
    client.modRefs(port, 'send', -2);
    expect(client.hasName(port)).toBe(false);
    expect(codeOf(() => client.deallocate(port))).toBe(KERN_INVALID_NAME);
    // A receive right is not deallocated, and cannot gain references.
    expect(codeOf(() => server.deallocate(port))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => server.modRefs(port, 'receive', 1))).toBe(KERN_INVALID_VALUE);
    expect(codeOf(() => server.modRefs(port, 'send', 1))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => server.modRefs(port, 'send', -1))).toBe(KERN_INVALID_VALUE);
  });

  it('send-once rights are consumed by use', () => {
    const { server, client } = world();
    const reply = server.allocatePort();
    server.copyRightTo(reply, 'make_send_once', client);
    server.copyRightTo(reply, 'make_send_once', client);
    expect(client.rights(reply)).toEqual({ receive: false, send: 0, sendOnce: 2, deadName: 0, portSet: false });
    client.send(ping(reply, 1));
    expect(client.rights(reply).sendOnce).toBe(1);
    client.send(ping(reply, 2));
    expect(client.hasName(reply)).toBe(false);
    expect(codeOf(() => client.send(ping(reply, 3)))).toBe(MACH_SEND_INVALID_DEST);
    expect(drain(server, reply).map(nOf)).toEqual([1, 2]);
  });

  it('send-once rights travel in messages (make_send_once, move_send_once)', () => {
    const { server, client, other } = world();
    const reply = server.allocatePort();
    const carrier = portWithSenders(client, server, other);
    server.send(carry('test_make_send_once', carrier, reply));
    expect(server.rights(reply).sendOnce).toBe(0);
    client.tryReceive(carrier);
    expect(client.rights(reply).sendOnce).toBe(1);
    // Passed on: the client's right moves to the other space.
    const carrier2 = portWithSenders(other, client);
    client.send(carry('test_move_send_once', carrier2, reply));
    expect(client.hasName(reply)).toBe(false);
    other.tryReceive(carrier2);
    other.send(ping(reply, 9));
    expect(other.hasName(reply)).toBe(false);
    expect(nOf(server.tryReceive(reply))).toBe(9);
    // The notification a destroyed send-once right would cause never comes: it was used.
    expect(server.tryReceive(reply)).toBeUndefined();
  });

  it('poly transfers whatever the sender holds', () => {
    const { server, client, other } = world();
    const carrier = portWithSenders(other, client, server);
    // A send-once right is moved.
    const so = server.allocatePort();
    server.copyRightTo(so, 'make_send_once', client);
    client.send(carry('test_poly', carrier, so));
    expect(client.hasName(so)).toBe(false);
    other.tryReceive(carrier);
    expect(other.rights(so).sendOnce).toBe(1);
    // A send right is copied.
    const s = portWithSenders(server, client);
    client.send(carry('test_poly', carrier, s));
    expect(client.rights(s).send).toBe(1);
    other.tryReceive(carrier);
    expect(other.rights(s).send).toBe(1);
    // From a receive right, a send-once right is made.
    const r = server.allocatePort();
    server.send(carry('test_poly', carrier, r));
    expect(server.rights(r).receive).toBe(true);
    other.tryReceive(carrier);
    expect(other.rights(r).sendOnce).toBe(1);
  });

  it('move_receive changes which space can receive', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, server);
    client.send(ping(port, 1));
    client.send(ping(port, 2));
    expect(nOf(server.tryReceive(port))).toBe(1);
    server.send(carry('test_move_receive', carrier, port));
    // The old space can no longer receive, even before the right arrives.
    expect(server.rights(port).receive).toBe(false);
    expect(server.hasName(port)).toBe(false);
    expect(codeOf(() => server.tryReceive(port))).toBe(MACH_RCV_INVALID_NAME);
    // Sends still work while the right is in transit; messages wait on the port.
    client.send(ping(port, 3));
    other.tryReceive(carrier);
    expect(other.rights(port).receive).toBe(true);
    const got = drain(other, port);
    expect(got.map(nOf)).toEqual([2, 3]);
    // The new receiver counts sequence numbers from zero (ipc_port_clear_receiver).
    expect(got.map((m) => m.seqno)).toEqual([0, 1]);
    expect(codeOf(() => server.tryReceive(port))).toBe(MACH_RCV_INVALID_NAME);
  });

  it('a receive pending in the old space fails when the receive right moves, and cannot steal later messages', async () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, server);
    const pending = rejection(server.receive(port));
    server.send(carry('test_move_receive', carrier, port));
    expect(await pending).toBe(MACH_RCV_PORT_DIED);
    client.send(ping(port, 1));
    other.tryReceive(carrier);
    expect(nOf(other.tryReceive(port))).toBe(1);
  });

  it('moving the receive right of a set member takes it out of the set', () => {
    const { server, client, other } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, set);
    client.send(ping(port, 1));
    const carrier = portWithSenders(other, server);
    server.send(carry('test_move_receive', carrier, port));
    expect(server.queueLength(set)).toBe(0);
    other.tryReceive(carrier);
    expect(nOf(other.tryReceive(port))).toBe(1);
  });

  it('port fields are transferred only as the message definitions say', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    client.send(carry('test_undeclared_port', carrier, port));
    const msg = other.tryReceive(carrier) as Carry;
    // The number arrives, but no right comes with it.
    expect(msg.port).toBe(port);
    expect(other.hasName(port)).toBe(false);
    expect(client.rights(port).send).toBe(1);
    // A null port field carries nothing and is not an error.
    client.send(carry('test_move_send', carrier, MACH_PORT_NULL));
    expect((other.tryReceive(carrier) as Carry).port).toBe(MACH_PORT_NULL);
  });

  it('copyRightTo gives rights between spaces', () => {
    const { server, client, other } = world();
    const port = server.allocatePort();
    server.copyRightTo(port, 'make_send', client);
    expect(client.rights(port).send).toBe(1);
    client.copyRightTo(port, 'copy_send', other);
    expect(client.rights(port).send).toBe(1);
    expect(other.rights(port).send).toBe(1);
    other.copyRightTo(port, 'move_send', client);
    expect(other.hasName(port)).toBe(false);
    expect(client.rights(port).send).toBe(2);
    server.copyRightTo(port, 'make_send_once', client);
    client.copyRightTo(port, 'move_send_once', other);
    expect(client.rights(port).sendOnce).toBe(0);
    expect(other.rights(port).sendOnce).toBe(1);
    server.copyRightTo(port, 'move_receive', other);
    expect(server.hasName(port)).toBe(false);
    expect(other.rights(port).receive).toBe(true);
    client.send(ping(port, 1));
    expect(nOf(other.tryReceive(port))).toBe(1);
  });

  it('copyRightTo needs the right it gives, and a live target space', () => {
    const { server, client, other } = world();
    const port = server.allocatePort();
    // The receiver has no send right to copy.
    expect(codeOf(() => server.copyRightTo(port, 'copy_send', client))).toBe(KERN_INVALID_RIGHT);
    expect(client.hasName(port)).toBe(false);
    server.copyRightTo(port, 'make_send', client);
    expect(codeOf(() => client.copyRightTo(port, 'move_send_once', other))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => client.copyRightTo(port, 'make_send', other))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => client.copyRightTo(port, 'move_receive', other))).toBe(KERN_INVALID_RIGHT);
    expect(other.hasName(port)).toBe(false);
    // A terminated space takes nothing, and the giver keeps its right.
    other.terminate();
    expect(codeOf(() => client.copyRightTo(port, 'move_send', other))).toBe(KERN_INVALID_ARGUMENT);
    expect(client.rights(port).send).toBe(1);
    // The right still counts: dropping it is what makes the port senderless.
    const notify = armNoSenders(server, port);
    client.deallocate(port);
    expect(ids(drain(server, notify))).toEqual(['mach_notify_no_senders']);
  });
});

// ------------------------------------------------------------------ failed sends

describe('a failed send changes nothing', () => {
  it('a bad right in a body field leaves rights and queue unchanged', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    const notify = armNoSenders(server, port);
    const released: boolean[] = [];
    const unknown = 4242;
    const bad: TwoRights = { id: 'test_move_and_copy', dest: carrier, a: port, b: unknown };
    expect(codeOf(() => client.send(bad, { onRelease: (d) => released.push(d) }))).toBe(MACH_SEND_INVALID_RIGHT);
    expect(client.rights(port).send).toBe(1);
    expect(other.queueLength(carrier)).toBe(0);
    expect(server.queueLength(notify)).toBe(0);
    expect(released).toEqual([]);
    // A right of the wrong kind is just as bad.
    const receiveOnly = client.allocatePort();
    expect(codeOf(() => client.send(carry('test_move_send', carrier, receiveOnly)))).toBe(MACH_SEND_INVALID_RIGHT);
    expect(client.rights(receiveOnly).receive).toBe(true);
    expect(other.queueLength(carrier)).toBe(0);
  });

  it('moving the same right twice needs two references', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    const notify = armNoSenders(server, port);
    const twice: TwoRights = { id: 'test_move_twice', dest: carrier, a: port, b: port };
    expect(codeOf(() => client.send(twice))).toBe(MACH_SEND_INVALID_RIGHT);
    expect(client.rights(port).send).toBe(1);
    expect(other.queueLength(carrier)).toBe(0);
    expect(server.queueLength(notify)).toBe(0);
    // Moving the last reference and then copying it fails the same way.
    const moveThenCopy: TwoRights = { id: 'test_move_and_copy', dest: carrier, a: port, b: port };
    expect(codeOf(() => client.send(moveThenCopy))).toBe(MACH_SEND_INVALID_RIGHT);
    expect(client.rights(port).send).toBe(1);
    // With two references both moves succeed.
    client.modRefs(port, 'send', 1);
    client.send(twice);
    expect(client.hasName(port)).toBe(false);
    other.tryReceive(carrier);
    expect(other.rights(port).send).toBe(2);
    expect(server.queueLength(notify)).toBe(0);
  });

  it('a destination right moved with the message cannot also be moved in its body', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    expect(
      codeOf(() => client.send(carry('test_move_send', port, port), { destDisposition: 'move_send' })),
    ).toBe(MACH_SEND_INVALID_RIGHT);
    expect(client.rights(port).send).toBe(1);
    expect(server.queueLength(port)).toBe(0);
  });

  it('a port\'s own receive right cannot be sent to it', () => {
    const { server } = world();
    const port = server.allocatePort();
    expect(codeOf(() => server.send(carry('test_move_receive', port, port)))).toBe(MACH_SEND_INVALID_RIGHT);
    expect(server.rights(port).receive).toBe(true);
    expect(server.queueLength(port)).toBe(0);
  });

  it('a destination disposition the sender cannot use fails with MACH_SEND_INVALID_DEST', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    expect(codeOf(() => client.send(ping(port, 1), { destDisposition: 'move_send_once' }))).toBe(MACH_SEND_INVALID_DEST);
    expect(codeOf(() => client.send(ping(port, 1), { destDisposition: 'make_send' }))).toBe(MACH_SEND_INVALID_DEST);
    expect(client.rights(port).send).toBe(1);
    expect(server.queueLength(port)).toBe(0);
  });
});

// ------------------------------------------------------------------ no-senders

describe('no-senders notification', () => {
  it('arrives with mscount when the last send right anywhere is deallocated, not before', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client, other);
    const notify = armNoSenders(server, port);
    client.deallocate(port);
    expect(server.queueLength(notify)).toBe(0);
    other.deallocate(port);
    const [msg, ...rest] = drain(server, notify);
    expect(rest).toEqual([]);
    expect(msg).toMatchObject({ id: 'mach_notify_no_senders', dest: notify, name: port, mscount: 2 });
    // Fired once: the request is used up.
    server.copyRightTo(port, 'make_send', client);
    client.deallocate(port);
    expect(server.queueLength(notify)).toBe(0);
  });

  it('counts send rights made with makeSend', () => {
    const { server } = world();
    const port = server.allocatePort();
    server.makeSend(port);
    server.makeSend(port);
    const notify = armNoSenders(server, port);
    server.deallocate(port);
    expect(server.queueLength(notify)).toBe(0);
    server.deallocate(port);
    const msg = server.tryReceive(notify) as NoSendersNotification;
    expect(msg).toMatchObject({ id: 'mach_notify_no_senders', name: port, mscount: 2 });
    expect(server.rights(port)).toEqual({ receive: true, send: 0, sendOnce: 0, deadName: 0, portSet: false });
  });

  it('arrives when the space holding the last send right terminates', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    client.modRefs(port, 'send', 3);
    const notify = armNoSenders(server, port);
    client.terminate();
    expect(ids(drain(server, notify))).toEqual(['mach_notify_no_senders']);
  });

  it('a send right in a queued message counts; destroying the message with its port releases it', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    const notify = armNoSenders(server, port);
    client.send(carry('test_move_send', carrier, port));
    expect(client.hasName(port)).toBe(false);
    expect(server.queueLength(notify)).toBe(0);
    other.modRefs(carrier, 'receive', -1);
    const msg = server.tryReceive(notify) as NoSendersNotification;
    expect(msg).toMatchObject({ id: 'mach_notify_no_senders', name: port, mscount: 1 });
  });

  it('a send right copied into a message keeps the port from being senderless until received and dropped', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    const notify = armNoSenders(server, port);
    client.send(carry('test_carry_right', carrier, port));
    client.deallocate(port);
    expect(server.queueLength(notify)).toBe(0);
    other.tryReceive(carrier);
    expect(server.queueLength(notify)).toBe(0);
    other.deallocate(port);
    expect(ids(drain(server, notify))).toEqual(['mach_notify_no_senders']);
  });

  it('does not arrive while a message sent with the last send right is queued (move_send or copy_send)', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const notify = armNoSenders(server, port);
    client.send(ping(port, 1), { destDisposition: 'move_send' });
    expect(client.hasName(port)).toBe(false);
    expect(server.queueLength(notify)).toBe(0);
    expect(nOf(server.tryReceive(port))).toBe(1);
    expect(ids(drain(server, notify))).toEqual(['mach_notify_no_senders']);

    const port2 = portWithSenders(server, client);
    const notify2 = armNoSenders(server, port2);
    client.send(ping(port2, 2));
    client.deallocate(port2);
    expect(server.queueLength(notify2)).toBe(0);
    server.tryReceive(port2);
    expect(ids(drain(server, notify2))).toEqual(['mach_notify_no_senders']);
  });

  it('on a shared port set, the last message comes before the no-senders notification', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    const notify = armNoSenders(server, port);
    server.moveMember(port, set);
    server.moveMember(notify, set);
    client.send(ping(port, 1), { destDisposition: 'move_send' });
    expect(ids(drain(server, set))).toEqual(['test_ping', 'mach_notify_no_senders']);
  });

  it('sync: 0 never fires at once; otherwise fires at once when there are no senders and mscount >= sync', () => {
    const { server, client } = world();
    // A new port: no senders, mscount 0.
    const port = server.allocatePort();
    const n0 = armNoSenders(server, port, 0);
    expect(server.queueLength(n0)).toBe(0);
    const n1 = armNoSenders(server, port, 1); // replaces the request (n0 gets a send-once notification)
    expect(ids(drain(server, n0))).toEqual(['mach_notify_send_once']);
    expect(server.queueLength(n1)).toBe(0);
    server.copyRightTo(port, 'make_send', client);
    client.deallocate(port);
    expect(drain(server, n1)).toMatchObject([{ id: 'mach_notify_no_senders', mscount: 1 }]);

    // Now mscount is 1 and there are no senders.
    const now = armNoSenders(server, port, 1);
    expect(drain(server, now)).toMatchObject([{ id: 'mach_notify_no_senders', name: port, mscount: 1 }]);
    const later = armNoSenders(server, port, 2);
    expect(server.queueLength(later)).toBe(0);
    server.copyRightTo(port, 'make_send', client);
    client.deallocate(port);
    expect(drain(server, later)).toMatchObject([{ id: 'mach_notify_no_senders', mscount: 2 }]);

    // With a sender, nothing fires at once whatever sync is.
    server.copyRightTo(port, 'make_send', client);
    const busy = armNoSenders(server, port, 1);
    expect(server.queueLength(busy)).toBe(0);
    client.deallocate(port);
    expect(drain(server, busy)).toMatchObject([{ id: 'mach_notify_no_senders', mscount: 3 }]);
  });

  it('needs the receive right', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const mine = client.allocatePort();
    expect(codeOf(() => client.requestNotification(port, 'no_senders', mine))).toBe(KERN_INVALID_RIGHT);
    // The send-once right made for the failed request is destroyed at once.
    expect(ids(drain(client, mine))).toEqual(['mach_notify_send_once']);
    const set = server.allocatePortSet();
    expect(codeOf(() => server.requestNotification(set, 'no_senders', port))).toBe(KERN_INVALID_RIGHT);
  });

  it('a port destroyed with a request outstanding sends a send-once notification instead', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const notify = armNoSenders(server, port);
    server.modRefs(port, 'receive', -1);
    expect(drain(server, notify)).toMatchObject([{ id: 'mach_notify_send_once', dest: notify }]);
  });

  it('is still delivered while the port\'s receive right is in transit', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    // The request's notification goes to the port itself (as libports does).
    server.requestNotification(port, 'no_senders', port);
    const carrier = portWithSenders(other, server);
    server.send(carry('test_move_receive', carrier, port));
    client.deallocate(port);
    other.tryReceive(carrier);
    expect(drain(other, port)).toMatchObject([{ id: 'mach_notify_no_senders', name: port }]);
  });
});

// ------------------------------------------------------------------ dead names

describe('dead-name notification', () => {
  it('destroying the receive right turns send rights into dead names and fires the request', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    client.modRefs(port, 'send', 1);
    const notify = armDeadName(client, port);
    expect(client.queueLength(notify)).toBe(0);
    server.modRefs(port, 'receive', -1);
    expect(server.hasName(port)).toBe(false);
    expect(client.rights(port)).toEqual({ receive: false, send: 0, sendOnce: 0, deadName: 2, portSet: false });
    expect(client.isDeadName(port)).toBe(true);
    const msg = client.tryReceive(notify) as DeadNameNotification;
    expect(msg).toMatchObject({ id: 'mach_notify_dead_name', dest: notify, name: port });
    expect(client.tryReceive(notify)).toBeUndefined();
    // The dead name keeps its references until they are deallocated.
    client.deallocate(port);
    expect(client.rights(port).deadName).toBe(1);
    client.deallocate(port);
    expect(client.hasName(port)).toBe(false);
  });

  it('sending to a dead port fails with MACH_SEND_INVALID_DEST', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    server.destroyName(port);
    expect(codeOf(() => client.send(ping(port, 1)))).toBe(MACH_SEND_INVALID_DEST);
    expect(codeOf(() => client.tryReceive(port))).toBe(MACH_RCV_PORT_DIED);
  });

  it('a pending receive rejects with MACH_RCV_PORT_DIED', async () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const pending = rejection(server.receive(port));
    server.modRefs(port, 'receive', -1);
    expect(await pending).toBe(MACH_RCV_PORT_DIED);
  });

  it('requesting on an already dead name notifies at once', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    server.destroyName(port);
    const notify = armDeadName(client, port);
    expect(drain(client, notify)).toMatchObject([{ id: 'mach_notify_dead_name', name: port }]);
  });

  it('needs a send, send-once or dead-name right', () => {
    const { server } = world();
    const port = server.allocatePort();
    const notify = server.allocatePort();
    expect(codeOf(() => server.requestNotification(port, 'dead_name', notify))).toBe(KERN_INVALID_RIGHT);
    expect(codeOf(() => server.requestNotification(9999, 'dead_name', notify))).toBe(KERN_INVALID_NAME);
  });

  it('send-once rights become dead names too', () => {
    const { server, client } = world();
    const port = server.allocatePort();
    server.copyRightTo(port, 'make_send_once', client);
    const notify = armDeadName(client, port);
    server.destroyName(port);
    expect(client.rights(port)).toMatchObject({ sendOnce: 0, deadName: 1 });
    expect(ids(drain(client, notify))).toEqual(['mach_notify_dead_name']);
  });

  it('a space that moved its send right away but kept a send-once right still gets a dead name', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    server.copyRightTo(port, 'make_send_once', client);
    const notify = armDeadName(client, port);
    const carrier = portWithSenders(other, client);
    client.send(carry('test_move_send', carrier, port));
    expect(client.rights(port)).toMatchObject({ send: 0, sendOnce: 1 });
    server.destroyName(port);
    expect(client.rights(port)).toMatchObject({ send: 0, sendOnce: 0, deadName: 1 });
    expect(ids(drain(client, notify))).toEqual(['mach_notify_dead_name']);
  });

  it('a send right in a message to a port that dies in transit arrives as a dead name', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const carrier = portWithSenders(other, client);
    client.send(carry('test_carry_right', carrier, port));
    server.destroyName(port);
    other.tryReceive(carrier);
    expect(other.rights(port)).toMatchObject({ send: 0, deadName: 1 });
  });

  it('giving up the name cancels the request with a send-once notification, and nothing comes later', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const notify = armDeadName(client, port);
    client.destroyName(port);
    expect(drain(client, notify)).toMatchObject([{ id: 'mach_notify_send_once', dest: notify }]);
    server.destroyName(port);
    expect(client.queueLength(notify)).toBe(0);

    const port2 = portWithSenders(server, client);
    const notify2 = armDeadName(client, port2);
    client.deallocate(port2);
    expect(ids(drain(client, notify2))).toEqual(['mach_notify_send_once']);
    server.destroyName(port2);
    expect(client.queueLength(notify2)).toBe(0);
  });

  it('destroying a name a space receives and also sends to does not fire its own request', () => {
    const { server } = world();
    const port = server.allocatePort();
    server.copyRightTo(port, 'make_send_once', server);
    const notify = armDeadName(server, port);
    server.destroyName(port);
    expect(server.hasName(port)).toBe(false);
    expect(ids(drain(server, notify))).toEqual(['mach_notify_send_once']);
  });
});

// ------------------------------------------------------------------ send-once notification

describe('send-once notification', () => {
  it('arrives when a send-once right is destroyed unused', () => {
    const { server, client } = world();
    const reply = server.allocatePort();
    server.copyRightTo(reply, 'make_send_once', client);
    server.copyRightTo(reply, 'make_send_once', client);
    client.deallocate(reply);
    expect(drain(server, reply)).toMatchObject([{ id: 'mach_notify_send_once', dest: reply }]);
    client.modRefs(reply, 'send_once', -1);
    expect(ids(drain(server, reply))).toEqual(['mach_notify_send_once']);
    expect(client.hasName(reply)).toBe(false);
  });

  it('arrives when the holder terminates or the message carrying the right is destroyed', () => {
    const { server, client, other } = world();
    const reply = server.allocatePort();
    server.copyRightTo(reply, 'make_send_once', client);
    client.terminate();
    expect(ids(drain(server, reply))).toEqual(['mach_notify_send_once']);

    const carrier = portWithSenders(other, server);
    server.send(carry('test_make_send_once', carrier, reply));
    expect(server.queueLength(reply)).toBe(0);
    other.destroyName(carrier);
    expect(ids(drain(server, reply))).toEqual(['mach_notify_send_once']);
  });

  it('is delivered while the receive right is in transit', () => {
    const { server, client, other } = world();
    const reply = server.allocatePort();
    server.copyRightTo(reply, 'make_send_once', client);
    const carrier = portWithSenders(other, server);
    server.send(carry('test_move_receive', carrier, reply));
    client.deallocate(reply);
    other.tryReceive(carrier);
    expect(ids(drain(other, reply))).toEqual(['mach_notify_send_once']);
  });
});

// ------------------------------------------------------------------ onRelease

describe('onRelease of send options', () => {
  it('is called once with true when the message is received', async () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const calls: boolean[] = [];
    client.send(ping(port, 1), { onRelease: (d) => calls.push(d) });
    expect(calls).toEqual([]);
    expect(nOf(await server.receive(port))).toBe(1);
    expect(calls).toEqual([true]);
    // A receiver that was already waiting: called at the send.
    const pending = server.receive(port);
    client.send(ping(port, 2), { onRelease: (d) => calls.push(d) });
    expect(calls).toEqual([true, true]);
    await pending;
    expect(calls).toEqual([true, true]);
  });

  it('is called with false when the port dies with the message queued', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const calls: boolean[] = [];
    client.send(ping(port, 1), { onRelease: (d) => calls.push(d) });
    client.send(ping(port, 2), { onRelease: (d) => calls.push(d) });
    server.modRefs(port, 'receive', -1);
    expect(calls).toEqual([false, false]);
  });

  it('is called with false when the receiving space terminates with the message queued', () => {
    const { server, client } = world();
    const set = server.allocatePortSet();
    const port = portWithSenders(server, client);
    server.moveMember(port, set);
    const calls: boolean[] = [];
    client.send(ping(port, 1), { onRelease: (d) => calls.push(d) });
    server.terminate();
    expect(calls).toEqual([false]);
  });
});

// ------------------------------------------------------------------ terminate

describe('terminate', () => {
  it('destroys the space\'s receive rights', async () => {
    const { ipc, server, client } = world();
    const port = portWithSenders(server, client);
    const set = server.allocatePortSet();
    const member = portWithSenders(server, client);
    server.moveMember(member, set);
    const notify = armDeadName(client, port);
    const onPort = rejection(server.receive(port));
    const onSet = rejection(server.receive(set));
    server.terminate();
    expect(await onPort).toBe(MACH_RCV_PORT_DIED);
    expect(await onSet).toBe(MACH_RCV_PORT_DIED);
    expect(client.isDeadName(port)).toBe(true);
    expect(client.isDeadName(member)).toBe(true);
    expect(ids(drain(client, notify))).toEqual(['mach_notify_dead_name']);
    expect(codeOf(() => client.send(ping(port, 1)))).toBe(MACH_SEND_INVALID_DEST);
    expect(ipc.spaces.has(server)).toBe(false);
    expect(ipc.spaces.has(client)).toBe(true);
  });

  it('drops the space\'s send rights and refuses further use', () => {
    const { server, client } = world();
    const port = portWithSenders(server, client);
    const notify = armNoSenders(server, port);
    client.terminate();
    expect(drain(server, notify)).toMatchObject([{ id: 'mach_notify_no_senders', name: port, mscount: 1 }]);
    expect(client.hasName(port)).toBe(false);
    expect(codeOf(() => client.allocatePort())).toBe(KERN_INVALID_ARGUMENT);
    expect(codeOf(() => client.send(ping(port, 1)))).toBe(KERN_INVALID_ARGUMENT);
    // Terminating twice is harmless.
    expect(codeOf(() => client.terminate())).toBeUndefined();
  });

  it('releases the rights carried by messages queued on its ports', () => {
    const { server, client, other } = world();
    const port = portWithSenders(server, client);
    const notify = armNoSenders(server, port);
    const carrier = portWithSenders(other, client);
    client.send(carry('test_move_send', carrier, port));
    expect(server.queueLength(notify)).toBe(0);
    other.terminate();
    expect(ids(drain(server, notify))).toEqual(['mach_notify_no_senders']);
  });
});
