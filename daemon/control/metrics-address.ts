/**
 * The address of the Prometheus endpoint (`mount --metrics ADDR:PORT`,
 * `-o metrics=ADDR:PORT`): loopback only. The endpoint has no
 * authentication and tells anyone who can reach it about the mount, so a
 * non-loopback address is refused; publish it through a reverse proxy or an
 * SSH tunnel instead.
 *
 * Spellings: PORT and :PORT (127.0.0.1), 127.0.0.1:PORT (any 127.x.y.z),
 * localhost:PORT (bound as 127.0.0.1), [::1]:PORT. PORT 0 takes any free
 * port (the daemon logs which).
 *
 * No prom-client here: the mount command checks the address without
 * loading the metrics code.
 */
import net from 'node:net';

export interface MetricsAddress {
  /** The address to bind: a loopback IPv4 address or ::1. */
  readonly host: string;
  readonly port: number;
}

export class MetricsAddressError extends Error {
  readonly code = 'EINVAL';

  constructor(message: string) {
    super(message);
    this.name = 'MetricsAddressError';
  }
}

/** Whether `host` (an IP address) is a loopback address. */
export function isLoopback(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) {
    const h = host.toLowerCase();
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && (mapped[1] ?? '').startsWith('127.');
  }
  return false;
}

/** Parse ADDR:PORT; throws a MetricsAddressError (code EINVAL) saying what is wrong. */
export function parseMetricsAddress(text: string): MetricsAddress {
  const t = text.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(t);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2] ?? '';
  } else if (/^\d+$/.test(t)) {
    host = '127.0.0.1';
    portText = t;
  } else {
    const colon = t.lastIndexOf(':');
    if (colon < 0) throw new MetricsAddressError('not ADDR:PORT (like 127.0.0.1:9464)');
    host = t.slice(0, colon) || '127.0.0.1';
    portText = t.slice(colon + 1);
    if (host.includes(':')) throw new MetricsAddressError('an IPv6 address goes in brackets: [::1]:PORT');
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new MetricsAddressError(`the port is a number from 0 to 65535, not '${portText}'`);
  if (host.toLowerCase() === 'localhost') host = '127.0.0.1';
  if (!net.isIP(host)) throw new MetricsAddressError(`'${host}' is not an IP address (use 127.0.0.1 or [::1])`);
  if (!isLoopback(host)) {
    throw new MetricsAddressError(`${host} is not a loopback address: the endpoint has no authentication, so it listens on 127.0.0.1 or [::1] only (publish it through a reverse proxy)`);
  }
  return { host, port: Number(portText) };
}

/** ADDR:PORT as it is spelled back ([::1]:9464 for IPv6). */
export function formatMetricsAddress(a: MetricsAddress): string {
  return net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
