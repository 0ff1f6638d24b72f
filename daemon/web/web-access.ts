/**
 * Who may do what on the web view: the control socket's rule, carried
 * over. Anyone who reaches the page reads it; changing the mount (policy,
 * cache size, computing the miss-ratio curve) needs the view's key, a random
 * per-mount secret that only those who may control the mount are given: the
 * command that starts the view prints the URL with it, and the daemon hands
 * it out on its control socket (method `web`), which only the mounting user
 * can open. The page sends the key in a header (X-Machpager-Key), which a
 * page of another origin cannot add without a CORS preflight we never
 * answer.
 *
 * The Host header must name this machine when the view listens on loopback:
 * a DNS-rebinding page cannot pass for it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { isLoopback } from '../control/metrics-address.js';

export const KEY_HEADER = 'x-machpager-key';

export class WebAccess {
  readonly key: string;

  constructor(
    /** Check the Host header (the view listens on loopback). */
    private readonly loopbackOnly: boolean,
    key?: string,
  ) {
    this.key = key ?? randomBytes(18).toString('base64url');
  }

  /** Whether this request carries the key (header, or ?key= for the page's own first load). */
  mayControl(req: IncomingMessage): boolean {
    const header = req.headers[KEY_HEADER];
    const given = typeof header === 'string' ? header : new URL(req.url ?? '/', 'http://x').searchParams.get('key');
    if (given === null || given === '') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.key);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Whether the Host header names this machine (always true when the view was published on purpose). */
  hostAllowed(req: IncomingMessage): boolean {
    if (!this.loopbackOnly) return true;
    const host = req.headers.host;
    if (host === undefined) return false;
    const name = /^\[([^\]]+)\](?::\d+)?$/.exec(host)?.[1] ?? host.replace(/:\d+$/, '');
    return name.toLowerCase() === 'localhost' || (net.isIP(name) !== 0 && isLoopback(name));
  }
}
