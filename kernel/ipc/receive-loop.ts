/**
 * A receive loop (mach_msg_server): receive from a port or port set and
 * hand each message to a handler, until the port or set dies. Messages that
 * are already queued are taken without waiting, so a burst costs one
 * wake-up, not one per message.
 */
import { KernError, MACH_RCV_INVALID_NAME, MACH_RCV_PORT_CHANGED, MACH_RCV_PORT_DIED } from './kern-return.js';
import type { Message, PortName } from './message.js';
import type { IpcSpace } from './space.js';

export async function serve(space: IpcSpace, name: PortName, handle: (msg: Message) => void): Promise<void> {
  for (;;) {
    let msg: Message | undefined;
    try {
      msg = await space.receive(name);
    } catch (err) {
      if (isGone(err)) return;
      throw err;
    }
    while (msg) {
      handle(msg);
      try {
        msg = space.tryReceive(name);
      } catch (err) {
        if (isGone(err)) return;
        throw err;
      }
    }
  }
}

/** The port can no longer be received from here: dead, moved away, or moved into a port set. */
function isGone(err: unknown): boolean {
  return (
    err instanceof KernError &&
    (err.code === MACH_RCV_PORT_DIED || err.code === MACH_RCV_INVALID_NAME || err.code === MACH_RCV_PORT_CHANGED)
  );
}
