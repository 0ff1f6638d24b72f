/**
 * Starting the web view: a feed over the mount's control operations, the
 * access key, the server. Used by the daemon (mount --web: the control
 * handlers called in process) and by `machpager web` (the control socket).
 */
import { WebAccess } from './web-access.js';
import { isLoopbackAddress, webUrl, type WebAddress } from './web-address.js';
import { WebFeed, type WebCall } from './web-feed.js';
import { WebServer } from './web-server.js';

export interface WebView {
  /** The page, read-only. */
  readonly url: string;
  /** The page with its key: for those who may control the mount only. */
  readonly controlUrl: string;
  close(): Promise<void>;
}

export interface WebViewOptions {
  readonly address: WebAddress;
  readonly call: WebCall;
  readonly log: (line: string) => void;
  /** Snapshot period (ms); default FEED_INTERVAL_MS. */
  readonly intervalMs?: number;
}

export async function startWebView(options: WebViewOptions): Promise<WebView> {
  const feed = new WebFeed(options.call, options.log, options.intervalMs);
  const access = new WebAccess(isLoopbackAddress(options.address));
  let server: WebServer;
  try {
    server = await WebServer.start({ address: options.address, feed, call: options.call, access, log: options.log });
  } catch (err) {
    feed.close();
    throw err;
  }
  const url = webUrl(server.address);
  return {
    url,
    controlUrl: `${url}?key=${access.key}`,
    close: () => server.close(),
  };
}
