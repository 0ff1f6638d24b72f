/**
 * The web view in a real browser: a real mount (the CLI in a child
 * process), `machpager web MNT` serving the page over the mount's control
 * socket (another child process), and Debian's Chromium driven headless by
 * puppeteer-core. The page must load, draw the frame grid, and follow a
 * workload run against the mount by programs in child processes: the
 * file's frames appear on the grid (the file named on hover), its residency
 * bar, the counters; a switch on the page changes the policy as
 * `machpager policy` would. The test writes a screenshot to
 * test-output/web-view.png.
 *
 * Bounded: every wait has a timeout; the browser is always closed, the web
 * process always stopped and the mount always unmounted.
 *
 * Needs /dev/fuse, /usr/bin/chromium (scripts/setup installs it) and the
 * build (npm run build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../../daemon/timeout.js';
import { cleanupMounts, MACHPAGER, machpager, mount, REPO, removeDir, tempDir, type Mounted } from '../helpers/mounted.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO, 'test-output', 'web-view.png');
const WAIT_MS = 20_000;

let dir = '';
let m: Mounted | undefined;
let web: ChildProcess | undefined;
let browser: Browser | undefined;

/** Start `machpager web MNT` and resolve with the two links it prints (control, read-only). */
function startWeb(mnt: string): Promise<{ control: string; readOnly: string }> {
  const child = spawn(process.execPath, [MACHPAGER, 'web', mnt, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  web = child;
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const links = new Promise<{ control: string; readOnly: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      if (lines.length >= 3) resolve({ control: lines[0] ?? '', readOnly: lines[1] ?? '' });
    });
    child.on('exit', (code) => reject(new Error(`machpager web exited (${code}) before printing its links: ${err}`)));
  });
  return withTimeout(links, WAIT_MS, () => new Error(`machpager web printed no links in ${WAIT_MS / 1000} s: ${err}`));
}

async function stopWeb(): Promise<void> {
  const child = web;
  web = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await withTimeout(exited, 10_000, () => new Error('machpager web did not stop on SIGTERM')).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
}

interface FrameCounts {
  free: number;
  active: number;
  inactive: number;
  dirty: number;
  busy: number;
  wired: number;
}

/** The value of a JavaScript expression in the page (kept as text: this file is not compiled against the DOM). */
const js = <T>(page: Page, expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;
/** Wait until a JavaScript expression in the page is true. */
const until = async (page: Page, expression: string): Promise<void> => {
  await page.waitForFunction(expression);
};
const frameCounts = (page: Page): Promise<FrameCounts> => js<FrameCounts>(page, "JSON.parse(document.getElementById('frames').dataset.counts || '{}')");
const text = (page: Page, id: string): Promise<string> => js<string>(page, `document.getElementById(${JSON.stringify(id)}).textContent`);
const number = async (page: Page, id: string): Promise<number> => Number(await text(page, id));

beforeAll(async () => {
  dir = await tempDir('web-view');
  m = await mount({ store: `sqlite:${path.join(dir, 'fs.db')}`, mnt: path.join(dir, 'mnt'), cacheSize: '4M', pageSize: '4K', options: [] });
});

afterAll(async () => {
  try {
    await browser?.close();
  } finally {
    browser = undefined;
    await stopWeb().finally(async () => {
      await cleanupMounts();
      if (dir) await removeDir(dir);
    });
  }
});

describe('machpager web in a real browser', () => {
  it('loads, draws the frame grid, and follows a workload on the mount', async () => {
    const mnt = (m as Mounted).mnt;
    const links = await startWeb(mnt);
    expect(links.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?key=[\w-]{20,}$/);
    expect(links.readOnly).toBe(links.control.replace(/\?key=.*$/, ''));

    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-background-networking'],
      timeout: WAIT_MS,
      protocolTimeout: WAIT_MS,
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.setViewport({ width: 1280, height: 1100 });
    await page.goto(links.control, { waitUntil: 'load' });

    // Live: snapshots arrive, the grid has one cell per frame (4M of 4K pages), all free on a fresh mount.
    await until(page, "Number(document.body.dataset.updates || 0) >= 2");
    expect(await text(page, 'mountpoint')).toBe(mnt);
    expect(await js<number>(page, "Number(document.getElementById('frames').dataset.frames)")).toBe(1024);
    const before = await frameCounts(page);
    expect(before.free).toBeGreaterThan(1000);
    const faultsBefore = await number(page, 'faults-total');
    // The grid is drawn: the canvas holds the free colour, not just the background.
    const drawn = await js<number>(
      page,
      `(() => {
        const canvas = document.getElementById('frames');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        for (let i = 0; i < data.length; i += 4 * 7) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        return colours.size;
      })()`,
    );
    expect(drawn).toBeGreaterThanOrEqual(2);
    // With the key, the switches are on.
    await until(page, "!document.getElementById('policy').disabled");

    // The workload, in child processes: write 1 MiB (256 pages), push it back to the store, read it again.
    await (m as Mounted).shOk('dd if=/dev/urandom of=work bs=64K count=16 status=none && sync work');
    const evicted = await machpager(['evict', path.join(mnt, 'work')]);
    expect(evicted.code, evicted.stderr).toBe(0);
    await (m as Mounted).shOk('cat work > /dev/null');

    // The page follows: 256 of the file's pages are resident again, read back from the store.
    await until(
      page,
      `(() => {
        const counts = JSON.parse(document.getElementById('frames').dataset.counts || '{}');
        // The pageins too: the file's pages are resident (and faulted) already after dd, before the evict and the cat are seen.
        return counts.free <= 1024 - 256 && Number(document.getElementById('faults-total').textContent) > ${faultsBefore} && Number(document.getElementById('pageins-total').textContent) >= 256 && document.getElementById('files').textContent.includes('/work');
      })()`,
    );
    expect(await number(page, 'pageins-total')).toBeGreaterThanOrEqual(256);
    expect(await text(page, 'files')).toMatch(/\/work\s*256\/256/);
    const after = await frameCounts(page);
    expect(after.active + after.inactive + after.dirty).toBeGreaterThanOrEqual(256);
    expect(await text(page, 'latency-summary')).toMatch(/faults · p50/);
    // The live curve's policies (miniature simulations): each one's hit ratio at this cache and at twice it.
    await until(page, "document.getElementById('mrc-policies').textContent.includes('2q')");
    expect(await text(page, 'mrc-policies')).toMatch(/^hit ratio at this cache, by policy: lru [\d.]+% \(2x: [\d.]+%\) · mach [\d.]+% \(2x: [\d.]+%\) · clock [\d.]+% .* · arc [\d.]+% .* · 2q [\d.]+% \(2x: [\d.]+%\)$/);

    // Hovering a frame that holds a page names its file.
    const target = await js<{ x: number; y: number }>(
      page,
      `(() => {
        const canvas = document.getElementById('frames');
        const i = canvas.dataset.states.search(/[aid]/);
        const cell = Number(canvas.dataset.cell);
        const cols = Number(canvas.dataset.cols);
        const box = canvas.getBoundingClientRect();
        const scale = box.width / canvas.width;
        return { x: box.left + ((i % cols) + 0.5) * cell * scale, y: box.top + (Math.floor(i / cols) + 0.5) * cell * scale };
      })()`,
    );
    await page.mouse.move(target.x, target.y);
    await until(page, "!document.getElementById('tip').hidden");
    expect(await text(page, 'tip')).toMatch(/^frame \d+: (active|inactive|dirty) — \/work$/);

    // A live switch: the same control operation as `machpager policy fifo`.
    await page.select('#policy', 'fifo');
    await page.click('#policy-form button');
    await until(page, "document.getElementById('control-result').textContent !== ''");
    expect(await text(page, 'control-result')).toBe('policy: mach → fifo');
    const policy = await machpager(['policy', mnt]);
    expect(policy.stdout).toMatch(/^policy: fifo/);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Everything the page loaded came from the view itself: no CDN.
    const origin = new URL(links.control).origin;
    expect(requested.filter((u) => !u.startsWith(origin))).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('mount --web: the daemon serves the view; machpager web prints its link with the key; no other address without the flag', async () => {
    const mnt = path.join(dir, 'mnt-web');
    const served = await mount({ store: `sqlite:${path.join(dir, 'web.db')}`, mnt, cacheSize: '2M', options: [], args: ['--web', '127.0.0.1:0'] });
    const readOnly = /web view (http:\/\/127\.0\.0\.1:\d+\/) \(read-only/.exec(served.log)?.[1];
    expect(readOnly, served.log).toBeDefined();
    // The key is never logged.
    expect(served.log).not.toMatch(/key=/);
    const r = await machpager(['web', mnt]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${(readOnly ?? '').replace(/[.?/]/g, '\\$&')}\\?key=[\\w-]{20,}$`));
    const answer = await fetch(`${readOnly ?? ''}api/snapshot`, { signal: AbortSignal.timeout(WAIT_MS) });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { mount: { mountpoint: string } }).mount.mountpoint).toBe(mnt);
    expect(await served.stop()).toBe(0);

    const refused = await machpager(['mount', `sqlite:${path.join(dir, 'other.db')}`, mnt, '--web', '0.0.0.0:8080']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not a loopback address/);
    // Refused before anything was opened: no store made.
    await expect(access(path.join(dir, 'other.db'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 120_000);
});
