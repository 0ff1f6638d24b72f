/**
 * The web view's server and feed, in this process: a filesystem without a
 * mount (its control handlers called as the daemon calls them), the page's
 * files, the snapshot stream, and the control socket's rule carried over
 * (read-only without the key, the Host header checked). The browser test
 * (web-view.test.ts) drives the page itself against a real mount.
 */
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MountControl } from '../../daemon/control/mount-control.js';
import { IN_PROCESS_CALLER, IN_PROCESS_SESSION } from '../../daemon/control/server.js';
import { startWebView, type WebView } from '../../daemon/web/web-launcher.js';
import type { WebSnapshot } from '../../daemon/web/web-feed.js';
import { call, openInProcessFs, ROOT, type InProcessFs } from '../helpers/in-process-fs.js';

const O_RDWR = 2;
let t: InProcessFs;
let view: WebView | undefined;

beforeEach(async () => {
  t = await openInProcessFs('web');
  const control = new MountControl(t.fs, { mountpoint: '/mnt/web', version: 'test' });
  const handlers = control.handlers();
  view = await startWebView({ address: { host: '127.0.0.1', port: 0 }, call: async (method, params) => handlers[method](params, IN_PROCESS_CALLER, IN_PROCESS_SESSION), log: () => undefined, intervalMs: 50 });
});

afterEach(async () => {
  await view?.close();
  view = undefined;
  await t.close();
});

async function writeFile(path: string, pages: number): Promise<void> {
  const fh = await call<number>((r) => t.ops.create?.(ROOT, path, 0o644, O_RDWR, r));
  const data = Buffer.alloc(4096, 7);
  for (let i = 0; i < pages; i++) await call<number>((r) => t.ops.write?.(ROOT, path, fh, data, data.length, i * 4096, r));
  await call((r) => t.ops.release?.(ROOT, path, fh, r));
}

interface Answer {
  status: number;
  type: string;
  body: string;
}

function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The first `count` snapshots of the event stream. */
function events(url: string, count: number): Promise<WebSnapshot[]> {
  return new Promise((resolve, reject) => {
    const got: WebSnapshot[] = [];
    const req = http.get(`${url}events`, { timeout: 5000 }, (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream');
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          if (event.startsWith('data: ')) got.push(JSON.parse(event.slice(6)) as WebSnapshot);
          if (got.length === count) {
            req.destroy();
            resolve(got);
            return;
          }
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no snapshots in time')));
    req.on('error', (err) => (got.length === count ? undefined : reject(err)));
  });
}

describe('web view server', () => {
  it('serves the page: HTML, script and style from this server only', async () => {
    const v = view as WebView;
    const page = await request(v.url);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toContain('<canvas id="frames"');
    expect(page.body).not.toMatch(/https?:\/\//);
    const script = await request(`${v.url}app.js`);
    expect(script.status).toBe(200);
    expect(script.type).toMatch(/javascript/);
    expect((await request(`${v.url}style.css`)).status).toBe(200);
    expect((await request(`${v.url}../package.json`)).status).toBe(404);
  });

  it('streams snapshots whose numbers follow the filesystem', async () => {
    const v = view as WebView;
    const [before] = await events(v.url, 1);
    expect(before?.frames.states.length).toBe(256);
    expect(before?.mount.mountpoint).toBe('/mnt/web');
    await writeFile('/data', 20);
    const snaps = await events(v.url, 2);
    const after = snaps[1];
    expect(after.counters.lookups).toBeGreaterThan(before?.counters.lookups ?? 0);
    const file = after.files.find((f) => f.path === '/data');
    expect(file).toMatchObject({ pages: 20, resident: 20 });
    // The frame map names the file for each of its 20 frames.
    const index = after.frames.files.findIndex((f) => f.path === '/data');
    let frames = 0;
    for (let i = 0; i < after.frames.owners.length; i += 2) if (after.frames.owners[i] === index) frames += after.frames.owners[i + 1] ?? 0;
    expect(frames).toBe(20);
    expect([...after.frames.states].filter((s) => s !== 'f')).toHaveLength(20);
  });

  it('is read-only without the key; the key switches the policy and the cache size as the CLI does', async () => {
    const v = view as WebView;
    const key = new URL(v.controlUrl).searchParams.get('key') ?? '';
    expect(key.length).toBeGreaterThanOrEqual(20);
    expect(JSON.parse((await request(`${v.url}api/access`)).body)).toEqual({ control: false });
    expect(JSON.parse((await request(`${v.url}api/access`, { headers: { 'x-machpager-key': key } })).body)).toEqual({ control: true });
    const refused = await request(`${v.url}api/policy`, { method: 'POST', body: '{"name":"fifo"}' });
    expect(refused.status).toBe(403);
    const wrong = await request(`${v.url}api/policy`, { method: 'POST', headers: { 'x-machpager-key': `${key.slice(1)}x` }, body: '{"name":"fifo"}' });
    expect(wrong.status).toBe(403);
    expect(t.fs.kernel.policy.name).toBe('lru');
    const switched = await request(`${v.url}api/policy`, { method: 'POST', headers: { 'x-machpager-key': key }, body: '{"name":"fifo"}' });
    expect(switched.status).toBe(200);
    expect(t.fs.kernel.policy.name).toBe('fifo');
    const unknown = await request(`${v.url}api/policy`, { method: 'POST', headers: { 'x-machpager-key': key }, body: '{"name":"nope"}' });
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'EINVAL' } });
    const resized = await request(`${v.url}api/cache-size`, { method: 'POST', headers: { 'x-machpager-key': key }, body: JSON.stringify({ size: 2 << 20 }) });
    expect(resized.status).toBe(200);
    expect(t.fs.kernel.frameCount).toBe(512);
  });

  it('answers only to a loopback Host (no DNS rebinding)', async () => {
    const v = view as WebView;
    expect((await request(`${v.url}api/snapshot`, { headers: { host: 'evil.example:80' } })).status).toBe(421);
    expect((await request(`${v.url}api/snapshot`, { headers: { host: `localhost:${new URL(v.url).port}` } })).status).toBe(200);
  });
});
