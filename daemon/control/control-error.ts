/**
 * What goes wrong between a control client and a daemon, with an errno-like
 * code the CLI turns into an exit code:
 * - the daemon's own error answers ({"error": {"code": "ENOENT", ...}}) keep
 *   the daemon's code and message;
 * - the client's: ECONNREFUSED (no daemon serves the mount: no socket, or
 *   nobody listening), EACCES (the socket belongs to another user),
 *   ETIMEDOUT (no answer in time), ECONNRESET (the daemon closed the
 *   connection before answering), EPROTO (an answer that is not the
 *   protocol: not JSON, an unknown id, a result of the wrong shape).
 */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ControlError';
  }
}

/** An EPROTO ControlError: the daemon answered something that is not the protocol. */
export function malformed(why: string): ControlError {
  return new ControlError('EPROTO', `malformed answer from the daemon: ${why}`);
}
