/**
 * The web view's HTTP server (node:http, nothing else): the page's three
 * static files, the snapshot stream (/events, Server-Sent Events), one
 * snapshot as JSON (/api/snapshot), and the live switches (POST
 * /api/policy, /api/cache-size, /api/mrc), which call the same control
 * operations as `machpager policy` and `machpager cache-size` and need the
 * view's key (web-access.ts). Every answer is small and bounded; a request
 * body over 4 KiB is refused.
 */
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebAccess } from './web-access.js';
import type { WebAddress } from './web-address.js';
import type { WebCall, WebFeed } from './web-feed.js';

const STATIC_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
const MAX_BODY = 4096;
/** The page loads nothing from elsewhere and runs no inline script. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** Where the page's files are: next to this module (the build copies them into dist/). */
export const STATIC_DIR = new URL('./static/', import.meta.url);

export interface WebServerOptions {
  readonly address: WebAddress;
  readonly feed: WebFeed;
  readonly call: WebCall;
  readonly access: WebAccess;
  readonly log: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class WebServer {
  private readonly streams = new Set<ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    private readonly files: ReadonlyMap<string, Buffer>,
    private readonly options: WebServerOptions,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
  }

  static async start(options: WebServerOptions): Promise<WebServer> {
    const files = new Map<string, Buffer>();
    for (const name of new Set(Object.values(STATIC_FILES))) files.set(name, await readFile(new URL(name, STATIC_DIR)));
    const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.address.port, options.address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // A daemon ends with its mount, not when a browser keeps a stream open.
    server.unref();
    return new WebServer(server, files, options);
  }

  /** Where it listens (the port chosen when 0 was asked for). */
  get address(): WebAddress {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    this.options.feed.close();
    for (const res of this.streams) res.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { access } = this.options;
    if (!access.hostAllowed(req)) throw new HttpError(421, 'EACCES', 'this view answers to localhost, 127.0.0.1 and [::1] only');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const file = STATIC_FILES[url.pathname];
    if (file !== undefined && (method === 'GET' || method === 'HEAD')) {
      const body = this.files.get(file) as Buffer;
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (method === 'GET' && url.pathname === '/events') return this.stream(req, res);
    if (method === 'GET' && url.pathname === '/api/snapshot') return json(res, 200, await this.options.feed.snapshot());
    if (method === 'GET' && url.pathname === '/api/access') return json(res, 200, { control: access.mayControl(req) });
    if (method === 'POST' && url.pathname.startsWith('/api/')) {
      if (!access.mayControl(req)) throw new HttpError(403, 'EACCES', 'read-only: changing the mount needs the key printed by machpager web (or the mount command)');
      const body = await readBody(req);
      return json(res, 200, await this.control(url.pathname, body));
    }
    throw new HttpError(404, 'ENOENT', `no ${url.pathname} here`);
  }

  /** The live switches: the control operations of the CLI, with their checks. */
  private async control(route: string, body: Record<string, unknown>): Promise<unknown> {
    const { call, feed } = this.options;
    switch (route) {
      case '/api/policy':
        if (typeof body.name !== 'string' || body.name === '') throw new HttpError(400, 'EINVAL', 'name: the policy to switch to');
        return call('policy', { name: body.name });
      case '/api/cache-size':
        if (typeof body.size !== 'number') throw new HttpError(400, 'EINVAL', 'size: the cache size in bytes');
        return call('cacheSize', { size: body.size });
      case '/api/mrc': {
        const path = feed.tracePath;
        if (path === undefined) throw new HttpError(409, 'ENOENT', 'no trace recorded while this view runs: machpager trace start FILE, then stop');
        void feed.mrc.start(path);
        return feed.mrc.status();
      }
      default:
        throw new HttpError(404, 'ENOENT', `no ${route} here`);
    }
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 1000\n\n');
    this.streams.add(res);
    const unsubscribe = this.options.feed.subscribe((data) => {
      // A reader that does not keep up misses snapshots instead of growing our buffer.
      if (res.writableLength < 1 << 20) res.write(`data: ${data}\n\n`);
    });
    const end = (): void => {
      unsubscribe();
      this.streams.delete(res);
    };
    req.on('close', end);
    res.on('error', end);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    let status = 500;
    if (err instanceof HttpError) status = err.status;
    else if (code === 'EINVAL' || code === 'ENOMEM') status = 400;
    else if (code === 'EACCES' || code === 'EPERM') status = 403;
    else if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) status = 502;
    if (status === 500) this.options.log(`web view: ${err instanceof Error && err.stack !== undefined ? err.stack : message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(res, status, { error: { code: typeof code === 'string' ? code : 'EIO', message } });
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'EMSGSIZE', `a request body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'EINVAL', 'the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'EINVAL', 'the body is not a JSON object');
  return value as Record<string, unknown>;
}
