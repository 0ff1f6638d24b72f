/**
 * Where the web view listens (`machpager web --listen ADDR:PORT`,
 * `mount --web ADDR:PORT`): the spellings of the metrics address (PORT,
 * :PORT, 127.0.0.1:PORT, localhost:PORT, [::1]:PORT; PORT 0 takes a free
 * port), loopback only unless the caller passes an explicit flag
 * (--web-allow-remote): the page shows file names and, with its key, changes
 * the mount, so publishing it is a choice made on purpose.
 */
import { formatMetricsAddress, isLoopback, MetricsAddressError, parseMetricsAddress } from '../control/metrics-address.js';

export interface WebAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_WEB_ADDRESS = '127.0.0.1:0';

/** Parse ADDR:PORT; throws an error with code EINVAL saying what is wrong. */
export function parseWebAddress(text: string, options: { allowRemote?: boolean } = {}): WebAddress {
  try {
    return parseMetricsAddress(text);
  } catch (err) {
    if (!(err instanceof MetricsAddressError) || !/not a loopback address/.test(err.message)) throw err;
  }
  // A well-formed address that is not loopback.
  const t = text.trim();
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  const host = v6 ? (v6[1] ?? '') : t.slice(0, t.lastIndexOf(':'));
  const port = Number(v6 ? v6[2] : t.slice(t.lastIndexOf(':') + 1));
  if (options.allowRemote !== true) {
    throw new MetricsAddressError(`${host} is not a loopback address: the web view listens on 127.0.0.1 or [::1] only (--web-allow-remote publishes it on purpose)`);
  }
  return { host, port };
}

export function isLoopbackAddress(a: WebAddress): boolean {
  return isLoopback(a.host);
}

/** http://ADDR:PORT/ (a wildcard address shown as 127.0.0.1, where a browser on this machine reaches it). */
export function webUrl(a: WebAddress): string {
  const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
  return `http://${formatMetricsAddress({ host, port: a.port })}/`;
}
