// scripts/screenshots: the web view and `machpager top` on a mount at work, as PNG files in docs/images/.
/* global process, console, setTimeout, clearTimeout */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import puppeteer from 'puppeteer-core';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'dist/daemon/cli/main.js');
const IMAGES = path.join(REPO, 'docs/images');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT_MS = 60_000;
const run = promisify(execFile);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function machpager(args, env = {}) {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: WAIT_MS, maxBuffer: 16 << 20 });
}

function sh(script, cwd) {
  return run('bash', ['-c', script], { cwd, timeout: 5 * WAIT_MS });
}

/** Mount in the foreground (a child process); resolves once the daemon says it has mounted. */
async function mount(store, mnt) {
  const child = spawn(process.execPath, [CLI, 'mount', store, mnt, '--cache-size', '8M', '--policy', 'mach', '--web', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const deadline = Date.now() + 30_000;
  while (!log.includes('machpager: mounted ')) {
    if (child.exitCode !== null) throw new Error(`mount failed:\n${log}`);
    if (Date.now() > deadline) throw new Error(`not mounted after 30 s:\n${log}`);
    await sleep(50);
  }
  return { child, log: () => log };
}

async function unmount(m) {
  if (m.child.exitCode !== null) return;
  const exited = new Promise((resolve) => m.child.once('exit', resolve));
  m.child.kill('SIGTERM');
  let timer;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 30_000)))]);
  clearTimeout(timer);
}

/** A terminal's colours for the SGR codes top uses; everything else is text. */
function ansiToHtml(text) {
  const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const colours = { 31: '#f85149', 32: '#3fb950', 33: '#d29922' };
  let bold = false;
  let colour;
  let html = '';
  const ESC = String.fromCharCode(27);
  for (const part of text.split(new RegExp(`(${ESC}\\[[0-9;]*m)`))) {
    const sgr = new RegExp(`^${ESC}\\[([0-9;]*)m$`).exec(part);
    if (!sgr) {
      if (part === '') continue;
      const style = `${bold ? 'font-weight:700;' : ''}${colour ? `color:${colour};` : ''}`;
      html += style ? `<span style="${style}">${escape(part)}</span>` : escape(part);
      continue;
    }
    for (const code of sgr[1].split(';').map(Number)) {
      if (code === 0) [bold, colour] = [false, undefined];
      else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code === 39) colour = undefined;
      else if (colours[code]) colour = colours[code];
    }
  }
  return html;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-screenshots-'));
  const mnt = path.join(dir, 'mnt');
  await mkdir(mnt);
  await mkdir(IMAGES, { recursive: true });
  let m;
  let browser;
  try {
    m = await mount(`sqlite:${path.join(dir, 'fs.db')}`, mnt);
    // The workload: a few files, a trace of their reads, some of them read again, one left dirty.
    await sh('dd if=/dev/urandom of=big bs=1M count=12 status=none && dd if=/dev/urandom of=mid bs=1M count=4 status=none && mkdir -p src && for i in $(seq 1 40); do head -c 20000 /dev/urandom > src/f$i; done && sync', mnt);
    await machpager(['evict', '--all', mnt]).catch(() => machpager(['evict', mnt]));
    const { stdout } = await machpager(['web', mnt]);
    const url = stdout.trim().split('\n')[0];
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking'], timeout: WAIT_MS, protocolTimeout: WAIT_MS });
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(url, { waitUntil: 'load' });
    // A trace recorded while the page watches: when it stops, the view computes its miss-ratio curve.
    await machpager(['trace', 'start', path.join(dir, 'trace'), mnt]);
    await sh('for r in 1 2 3; do cat mid src/* > /dev/null; dd if=big of=/dev/null bs=64K count=64 skip=$((r * 16)) status=none; done; cat big > /dev/null; cat mid > /dev/null', mnt);
    await machpager(['trace', 'stop', mnt]);
    await sh('dd if=/dev/urandom of=mid bs=4K count=96 conv=notrunc status=none', mnt);

    // Some history on the time chart, and the trace's miss-ratio curve done.
    await sh('for r in $(seq 1 12); do cat src/* mid > /dev/null; dd if=big of=/dev/null bs=64K count=24 skip=$((r * 8)) status=none; sleep 0.25; done', mnt);
    await page.waitForFunction("document.getElementById('mrc-summary').textContent.startsWith('LRU')");
    await page.screenshot({ path: path.join(IMAGES, 'web.png'), fullPage: true });
    console.log(`wrote ${path.join(IMAGES, 'web.png')}`);

    // top: a few screens while reads go on; the last one, coloured as a terminal shows it.
    const reading = sh('for r in $(seq 1 8); do cat src/* mid > /dev/null; dd if=big of=/dev/null bs=64K count=16 skip=$((r * 10)) status=none; sleep 0.3; done', mnt);
    const top = await machpager(['top', '-n', '4', '-i', '0.7', mnt], { FORCE_COLOR: '1', COLUMNS: '100' });
    await reading;
    // Screens are apart by a blank line before the next title line (a screen has blank lines of its own).
    const screens = top.stdout.trimEnd().split(/\n\n(?=machpager top - )/);
    const last = screens[screens.length - 1];
    // A blank page of its own: the web view's page forbids inline styles (its Content-Security-Policy).
    const terminal = await browser.newPage();
    await terminal.setViewport({ width: 1400, height: 600 });
    await terminal.setContent(
      `<!doctype html><html><body style="margin:0;background:#0f1419"><pre id="t" style="display:inline-block;margin:0;padding:14px 18px;color:#d8dee6;background:#0f1419;font:13px/1.35 'DejaVu Sans Mono',monospace">${ansiToHtml(last)}</pre></body></html>`,
    );
    const pre = await terminal.$('#t');
    await pre.screenshot({ path: path.join(IMAGES, 'top.png') });
    console.log(`wrote ${path.join(IMAGES, 'top.png')}`);
  } finally {
    await browser?.close();
    if (m) await unmount(m);
    await run('fusermount', ['-uz', mnt]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`screenshots: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
