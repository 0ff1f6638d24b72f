/**
 * `machpager sim`, run in this process (runCli with injected stdout and
 * stderr, test/cli/harness.ts): miss counts worked out by hand on a small
 * trace, the PERCENT% sizes, --json's keys, the miss-ratio curve and its
 * SVG and PNG plots, the errors and their exit codes, and the reference
 * table of cache-policies.md on cloudPhysicsIO for every policy the
 * registry has.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { CliError } from '../../daemon/cli/cli-error.js';
import { curveSizes, DEFAULT_CURVE, type SimCell } from '../../daemon/cli/sim/plan.js';
import { checkPngFont } from '../../daemon/cli/sim/plot.js';
import { readTrace } from '../../daemon/cli/sim/trace-file.js';
import { allPolicyFactories } from '../../kernel/policy/registry.js';
import { parseTrace } from '../../kernel/policy/trace.js';
import { MAIN, runInProcess, tempDir } from './harness.js';
import { CLOUD_PHYSICS, CLOUD_PHYSICS_MISSES } from '../fixtures/traces/cloud-physics.js';

const CLOUD = CLOUD_PHYSICS;
const KEYS = ['cache_pages', 'miss_ratio', 'misses', 'policy', 'requests', 'requests_per_second'];
const ALL = allPolicyFactories().map((f) => f.name);

/**
 * Ten requests over five pages: 1 2 3 1 4 1 2 5 1 2, written with every
 * form a trace line may take (op,id lines, spaces, a comment, a blank line,
 * CRLF). By hand, with 3 pages:
 *   LRU   misses 1 2 3 . 4(-2) . 2(-3) 5(-4) . .        = 6
 *   FIFO  misses 1 2 3 . 4(-1) 1(-2) 2(-3) 5(-4) . .   = 7
 *   CLOCK misses 1 2 3 . 4(1 gets its second chance, -2) . 2(-3) 5(1 again, -4) . . = 6
 * and with 2 pages every policy hits only the 1 after 4: 9 misses.
 */
const TEN = '# ten requests, five pages\nr,1\n2\nw,3\n 1 \n\n4\r\n1\nR, 2\n5\n1\n2';

let tmp = '';

beforeEach(async () => {
  tmp = await tempDir('sim');
  await writeFile(path.join(tmp, 'ten.txt'), TEN);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(tmp, { recursive: true, force: true });
});

function sim(...args: string[]): ReturnType<typeof runInProcess> {
  return runInProcess(['sim', ...args], { cwd: tmp });
}

function cells(stdout: string): SimCell[] {
  return JSON.parse(stdout) as SimCell[];
}

/** The misses per policy × pages of --json cells. */
function missTable(list: readonly SimCell[]): Record<string, Record<number, number>> {
  const out: Record<string, Record<number, number>> = {};
  for (const c of list) (out[c.policy] ??= {})[c.cache_pages] = c.misses;
  return out;
}

describe('sim: counts worked out by hand', () => {
  it('LRU, FIFO and CLOCK on ten requests with 3 and 2 pages (--json)', async () => {
    const r = await sim('ten.txt', '--policy', 'lru,fifo,clock', '--cache', '3,2', '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const list = cells(r.stdout);
    expect(list.map((c) => [c.policy, c.cache_pages])).toEqual([
      ['lru', 3],
      ['lru', 2],
      ['fifo', 3],
      ['fifo', 2],
      ['clock', 3],
      ['clock', 2],
    ]);
    expect(missTable(list)).toEqual({ lru: { 3: 6, 2: 9 }, fifo: { 3: 7, 2: 9 }, clock: { 3: 6, 2: 9 } });
    for (const c of list) {
      expect(c.requests).toBe(10);
      expect(c.miss_ratio).toBe(c.misses / 10);
    }
  });

  it('the table: a heading, one row per policy × size, the miss ratio to four places', async () => {
    const r = await sim('ten.txt', '-p', 'fifo,lru', '-c', '3');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ten.txt: 10 requests, 5 distinct pages');
    expect(lines[1]?.split(/\s{1,}/)).toEqual(['POLICY', 'CACHE', '%WSS', 'REQUESTS', 'MISSES', 'MISS', 'RATIO', 'REQ/S']);
    const rows = lines.slice(2).map((l) => l.trim().split(/\s+/));
    expect(rows.map((row) => row.slice(0, 6))).toEqual([
      ['fifo', '3', '60.0%', '10', '7', '0.7000'],
      ['lru', '3', '60.0%', '10', '6', '0.6000'],
    ]);
    for (const row of rows) expect(row[6]).toMatch(/^(\d+(\.\d+)?[KMG]?|-)$/);
  });

  it('--json objects have exactly the six keys', async () => {
    const r = await sim('ten.txt', '--policy', 'lru', '--cache', '3', '--json');
    expect(r.code).toBe(0);
    const [cell] = cells(r.stdout);
    expect(Object.keys(cell ?? {}).sort()).toEqual(KEYS);
    expect(cell).toMatchObject({ policy: 'lru', cache_pages: 3, requests: 10, misses: 6, miss_ratio: 0.6 });
    expect(cell?.requests_per_second === null || (cell?.requests_per_second ?? 0) > 0).toBe(true);
  });

  it('no --policy, and --policy all, mean every policy of the registry, in its order; names are case-insensitive, repeats dropped', async () => {
    for (const args of [[], ['--policy', 'all']]) {
      const r = await sim('ten.txt', '--cache', '5', '--json', ...args);
      expect(r.code).toBe(0);
      expect(cells(r.stdout).map((c) => c.policy)).toEqual(ALL);
    }
    const r = await sim('ten.txt', '--cache', '3', '--json', '--policy', 'LRU,fifo,lru');
    expect(cells(r.stdout).map((c) => c.policy)).toEqual(['lru', 'fifo']);
  });

  it('without --cache: the reference fractions 1%, 5%, 10%, 25%', async () => {
    const trace = Array.from({ length: 400 }, (_, i) => String(i % 200)).join('\n');
    await writeFile(path.join(tmp, 't200.txt'), trace);
    const r = await sim('t200.txt', '--policy', 'lru', '--json');
    expect(cells(r.stdout).map((c) => c.cache_pages)).toEqual([2, 10, 20, 50]);
  });
});

describe('sim: cache sizes', () => {
  it('PERCENT% is floor(fraction × WSS); more than 100% is allowed; pages and percentages mix', async () => {
    const r = await sim('ten.txt', '--policy', 'lru', '--cache', '60%,50%,100%,200%,4,39.9%', '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // WSS 5: 3, floor(2.5), 5, 10, 4, floor(1.995).
    expect(cells(r.stdout).map((c) => c.cache_pages)).toEqual([3, 2, 5, 10, 4, 1]);
    // A cache of the whole working set (or more) misses only the first request for each page; so do 4 pages here
    // (5 evicts 3, never asked for again); one page hits only a repeat in a row (none here).
    expect(cells(r.stdout).map((c) => c.misses)).toEqual([6, 9, 5, 5, 5, 10]);
  });

  it('the curve: 20 sizes log-spaced from 0.1% to 100% of the WSS, floored like --cache', () => {
    const sizes = curveSizes(DEFAULT_CURVE, 48974);
    expect(sizes).toHaveLength(20);
    expect(sizes[0]).toBe(48);
    expect(sizes[1]).toBe(70);
    expect(sizes[19]).toBe(48974);
    for (let i = 1; i < sizes.length; i++) expect((sizes[i] ?? 0) / (sizes[i - 1] ?? 1)).toBeCloseTo(1000 ** (1 / 19), 1);
    // A small trace: the low end is at least 1 page, and repeats are dropped.
    expect(curveSizes(DEFAULT_CURVE, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(curveSizes({ from: { text: '10', pages: 10 }, to: { text: '50%', fraction: 0.5 }, points: 5 }, 2000)).toEqual([10, 31, 100, 316, 1000]);
  });
});

/** A deterministic trace of `n` requests over `pages` pages, skewed towards low ids (a hot set and a cold tail). */
function skewed(n: number, pages: number): string {
  let x = 12345;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const u = x / 2 ** 32;
    lines.push(String(Math.floor(pages * u * u * u)));
  }
  return `${lines.join('\n')}\n`;
}

describe('sim --mrc', () => {
  const FOUR = 'lru,fifo,clock,clock2';

  beforeEach(async () => {
    await writeFile(path.join(tmp, 'skew.txt'), skewed(20000, 2500));
  });

  it('prints one row per size (ascending), one miss-ratio column per policy', async () => {
    const json = await sim('skew.txt', '--mrc', '--policy', FOUR, '--json');
    expect(json.code).toBe(0);
    const list = cells(json.stdout);
    const wss = new Set(skewed(20000, 2500).trim().split('\n')).size;
    const sizes = curveSizes(DEFAULT_CURVE, wss);
    expect(list).toHaveLength(4 * sizes.length);
    expect(list.filter((c) => c.policy === 'lru').map((c) => c.cache_pages)).toEqual(sizes);
    // LRU is a stack algorithm: a bigger cache never misses more.
    const lru = list.filter((c) => c.policy === 'lru').map((c) => c.misses);
    for (let i = 1; i < lru.length; i++) expect(lru[i]).toBeLessThanOrEqual(lru[i - 1] ?? Infinity);
    // At 100% of the working set only first requests miss.
    for (const c of list.filter((c) => c.cache_pages === wss)) expect(c.misses).toBe(wss);

    const r = await sim('skew.txt', '--mrc', '--policy', FOUR);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`miss-ratio curve of skew.txt: 20000 requests, ${wss} distinct pages`);
    expect(lines[1]?.trim().split(/\s+/)).toEqual(['CACHE', '%WSS', 'lru', 'fifo', 'clock', 'clock2']);
    const rows = lines.slice(2).map((l) => l.trim().split(/\s+/));
    expect(rows.map((row) => Number(row[0]))).toEqual(sizes);
    for (const row of rows) {
      const size = Number(row[0]);
      const want = ['lru', 'fifo', 'clock', 'clock2'].map((p) => list.find((c) => c.policy === p && c.cache_pages === size)?.miss_ratio.toFixed(4));
      expect(row.slice(2)).toEqual(want);
    }
  });

  it('LRU\'s curve (one pass of stack distances) has the misses of a plain run (a replay) at every size', async () => {
    const curve = cells((await sim('skew.txt', '--mrc', '--policy', 'lru', '--json')).stdout);
    const sizes = curve.map((c) => c.cache_pages).join(',');
    const plain = cells((await sim('skew.txt', '--cache', sizes, '--policy', 'lru', '--json')).stdout);
    expect(curve.map((c) => c.misses)).toEqual(plain.map((c) => c.misses));
  });

  it('--mrc-from, --mrc-to, --mrc-points choose the range; --mrc with --cache takes those sizes, sorted', async () => {
    const r = await sim('skew.txt', '--policy', 'lru', '--mrc-from', '10', '--mrc-to', '1000', '--mrc-points', '3', '--json');
    expect(r.code).toBe(0);
    expect(cells(r.stdout).map((c) => c.cache_pages)).toEqual([10, 100, 1000]);
    const c = await sim('skew.txt', '--policy', 'lru', '--mrc', '--cache', '500,10,100', '--json');
    expect(cells(c.stdout).map((x) => x.cache_pages)).toEqual([10, 100, 500]);
  });

  it('--plot FILE.svg: a well-formed SVG with one polyline per policy, axes, ticks and a legend', async () => {
    const r = await sim('skew.txt', '--policy', FOUR, '--plot', 'mrc.svg');
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(['machpager: wrote mrc.svg: 4 policies over 20 cache sizes']);
    // --plot implies --mrc: the curve's table is printed too.
    expect(r.stdout).toMatch(/^miss-ratio curve of skew\.txt/);
    const svg = await readFile(path.join(tmp, 'mrc.svg'), 'utf8');
    checkXml(svg);
    expect(svg).toMatch(/^<\?xml [^>]*\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const polylines = [...svg.matchAll(/<polyline data-policy="([^"]+)" points="([^"]+)"/g)];
    expect(polylines.map((m) => m[1])).toEqual(['lru', 'fifo', 'clock', 'clock2']);
    for (const m of polylines) {
      const points = (m[2] ?? '').split(' ');
      expect(points).toHaveLength(20);
      for (const p of points) expect(p).toMatch(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/);
    }
    // Legend entries and tick labels are text.
    for (const name of ['lru', 'fifo', 'clock', 'clock2', 'miss ratio', '100%', '1%']) expect(svg).toContain(`>${name}</text>`);
  });

  it('--plot FILE.png: a valid PNG (signature, CRCs, IHDR, deflated rows) with the curves and the labels drawn', async () => {
    const r = await sim('skew.txt', '--policy', 'lru,fifo', '--mrc-points', '8', '--plot', 'mrc.png', '--json');
    expect(r.code).toBe(0);
    expect(cells(r.stdout)).toHaveLength(16);
    const png = await readFile(path.join(tmp, 'mrc.png'));
    const image = decodePng(png);
    // Twice the SVG's 820 x 500.
    expect([image.width, image.height]).toEqual([1640, 1000]);
    const count = (hex: string, rows = image.height): number => {
      const [cr, cg, cb] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      let n = 0;
      for (let i = 0; i < image.width * rows * 4; i += 4) if (image.pixels[i] === cr && image.pixels[i + 1] === cg && image.pixels[i + 2] === cb) n++;
      return n;
    };
    // The first two curve colours (lru, fifo), the ink of axes and text, and a white background.
    expect(count('#1f77b4')).toBeGreaterThan(200);
    expect(count('#d62728')).toBeGreaterThan(200);
    expect(count('#222222')).toBeGreaterThan(1000);
    expect(count('#ffffff')).toBeGreaterThan((image.width * image.height) / 2);
    // The title is drawn: its band (above the plot area, y < 40 in SVG units) holds its ink, and nothing else is there.
    expect(count('#222222', 80)).toBeGreaterThan(100);
  });

  it('a PNG without a font for its labels is refused (69), pointing to SVG', async () => {
    const err = await checkPngFont('mrc.png', { loadSystemFonts: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.UNAVAILABLE);
    expect((err as CliError).message).toMatch(/--plot mrc\.png: .*font.*FILE\.svg/);
    await expect(checkPngFont('mrc.png')).resolves.toBeUndefined();
  });
});

/** Rough XML check: one root, every element closed in order, attributes quoted. */
function checkXml(text: string): void {
  const body = text.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name = '', , selfClose] = m;
    if (close === '/') {
      expect(stack.pop()).toBe(name);
    } else {
      if (stack.length === 0) roots++;
      if (selfClose !== '/') stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // Every '<' starts a tag the pattern above accepted (no stray markup).
  const tags = [...body.matchAll(/</g)].length;
  const parsed = [...body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)].length;
  expect(parsed).toBe(tags);
}

/** Decode an 8-bit RGBA, non-interlaced PNG (the five row filters), checking every chunk's CRC. */
function decodePng(png: Buffer): { width: number; height: number; pixels: Uint8Array } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(png.readUInt32BE(offset + 8 + length)).toBe(zlibCrc32(png.subarray(offset + 4, offset + 8 + length)));
    types.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  expect(types[0]).toBe('IHDR');
  expect(types.at(-1)).toBe('IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = 4;
  const stride = width * bpp;
  expect(raw.length).toBe(height * (stride + 1));
  const pixels = new Uint8Array(width * height * bpp);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i] ?? 0;
      const a = i >= bpp ? (pixels[y * stride + i - bpp] ?? 0) : 0;
      const b = y > 0 ? (pixels[(y - 1) * stride + i] ?? 0) : 0;
      const c = i >= bpp && y > 0 ? (pixels[(y - 1) * stride + i - bpp] ?? 0) : 0;
      let predicted: number;
      if (filter === 0) predicted = 0;
      else if (filter === 1) predicted = a;
      else if (filter === 2) predicted = b;
      else if (filter === 3) predicted = Math.floor((a + b) / 2);
      else if (filter === 4) predicted = paeth(a, b, c);
      else throw new Error(`filter ${filter} is no PNG filter`);
      pixels[y * stride + i] = (v + predicted) & 0xff;
    }
  }
  return { width, height, pixels };
}

/** The Paeth predictor (PNG spec, 9.4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

describe('sim: reading traces', () => {
  it('reads - from stdin', async () => {
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([Buffer.from('1\n2\n3\n1\n4\n1\n2\n'), Buffer.from('5\n1\n2\n')]) as unknown as typeof process.stdin);
    const r = await sim('-', '--policy', 'fifo', '--cache', '3', '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(cells(r.stdout)).toMatchObject([{ policy: 'fifo', cache_pages: 3, requests: 10, misses: 7 }]);
  });

  it('lines and UTF-8 characters split across chunks are put back together', async () => {
    const bytes = Buffer.from('# é\n12\n3\nw,45\n6');
    const at = bytes.indexOf(0xc3) + 1; // inside é
    const trace = await readTrace(Readable.from([bytes.subarray(0, at), bytes.subarray(at, at + 3), bytes.subarray(at + 3, at + 9), bytes.subarray(at + 9)]));
    expect([...trace.ids]).toEqual([0, 1, 2, 3]);
    expect(trace.distinct).toBe(4);
    const again = await readTrace(Readable.from(['1', '2\n1', '2\n', '7']));
    expect([...again.ids]).toEqual([0, 0, 1]);
  });

  it('reads what parseTrace reads, however the text is cut into chunks', async () => {
    const text = '\uFEFF7\r\n# c\n\n123456789012345\n1234567890123456\nr,9\n  42 \nw, 7\n007\n9007199254740991\r\n7';
    const want = parseTrace(text);
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 7, 16, bytes.length]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
      const got = await readTrace(Readable.from(pieces));
      expect([...got.ids], `chunks of ${size}`).toEqual([...want.ids]);
      expect(got.distinct).toBe(want.distinct);
    }
    await expect(readTrace(Readable.from(['1\n12\r3\n']))).rejects.toThrow(/^line 2: "12\r3" is not a page id/);
  });

  it('a line longer than 4096 bytes is no trace (and is not buffered without end)', async () => {
    await expect(readTrace(Readable.from(['1\n', 'x'.repeat(5000)]))).rejects.toThrow(/^line 2: longer than 4096 bytes: not a page trace$/);
  });
});

describe('sim: errors (one line, an exit code)', () => {
  it('an unknown policy lists the known ones (2)', async () => {
    const r = await sim('ten.txt', '--policy', 'lru,nope');
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.lines).toEqual([`machpager: --policy lru,nope: unknown policy "nope" (known: ${ALL.join(', ')}, or all)`]);
    expect(r.stdout).toBe('');
  });

  it('a trace that does not exist, or is a directory (66)', async () => {
    const r = await sim('missing.txt');
    expect(r.code).toBe(EXIT.NOINPUT);
    expect(r.lines).toEqual(['machpager: trace missing.txt: no such file']);
    await mkdir(path.join(tmp, 'dir'));
    const d = await sim('dir');
    expect(d.code).toBe(EXIT.NOINPUT);
    expect(d.lines).toEqual(['machpager: trace dir: is a directory, not a trace file']);
  });

  it('a trace we may not read (77)', async () => {
    await writeFile(path.join(tmp, 'secret.txt'), '1\n');
    await chmod(path.join(tmp, 'secret.txt'), 0o000);
    if (process.getuid?.() !== 0) {
      const r = await sim('secret.txt');
      expect(r.code).toBe(EXIT.NOPERM);
      expect(r.lines).toEqual(['machpager: trace secret.txt: permission denied']);
      return;
    }
    // Root reads anything: run the built CLI as another user instead.
    await chmod(tmp, 0o755);
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', process.execPath, MAIN, 'sim', 'secret.txt'], { cwd: tmp, encoding: 'utf8' }, (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
      });
    });
    expect(r.code).toBe(EXIT.NOPERM);
    expect(r.stderr).toBe('machpager: trace secret.txt: permission denied\n');
  });

  it('a line that is not a page id names its line (65); so does an empty trace', async () => {
    await writeFile(path.join(tmp, 'bad.txt'), '1\n2\nr,x9\n');
    const r = await sim('bad.txt');
    expect(r.code).toBe(EXIT.DATAERR);
    expect(r.lines).toEqual(['machpager: trace bad.txt: line 3: "r,x9" is not a page id (a whole number) or op,id']);
    await writeFile(path.join(tmp, 'empty.txt'), '# nothing\n\n');
    const e = await sim('empty.txt');
    expect(e.code).toBe(EXIT.DATAERR);
    expect(e.lines).toEqual(['machpager: trace empty.txt: no requests in it (empty, or only blank lines and comments)']);
  });

  it.each([
    [['--cache', '0'], '--cache 0: a cache of 0 pages holds nothing (at least 1 page)'],
    [['--cache', '0%'], '--cache 0%: 0% is no cache (a percentage must be above 0)'],
    [['--cache', '12.5%'], '--cache 12.5%: 12.5% of 5 distinct pages is 0 pages (at least 1 page)'],
    [['--cache', '3,,4'], '--cache 3,,4: an empty size in the list'],
    [['--cache', '4k'], `--cache 4k: "4k" is not a cache size (PAGES, a whole number, or PERCENT% of the trace's distinct pages: 4096, 10%)`],
    [['--cache', String(2 ** 26 + 1)], `--cache ${2 ** 26 + 1}: ${2 ** 26 + 1} pages is more than the ${2 ** 26} pages sim replays`],
    [['--cache', '2000000000%'], `--cache 2000000000%: 2000000000% of 5 distinct pages is 100000000 pages, more than the ${2 ** 26} sim replays`],
    [['--plot', 'mrc.jpg'], '--plot mrc.jpg: writes FILE.svg or FILE.png (by the extension)'],
    [['--mrc-points', '1'], '--mrc-points 1: a curve takes 2 to 1000 points'],
    [['--mrc-points', 'x'], '--mrc-points x: not a positive whole number'],
    [['--mrc-from', '50%', '--mrc-to', '1'], '--mrc-from 50%: is above --mrc-to 1 (2 > 1 pages)'],
    [['--cache', '1', '--mrc-to', '50%'], '--cache 1: and --mrc-from/--mrc-to/--mrc-points both give the sizes; use one'],
  ])('%j is a usage error (2)', async (args, line) => {
    const r = await sim('ten.txt', '--policy', 'lru', ...args);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.lines).toEqual([`machpager: ${line}`]);
    expect(r.stdout).toBe('');
  });

  it('options are checked before the trace is read', async () => {
    const r = await sim('missing.txt', '--cache', 'x');
    expect(r.code).toBe(EXIT.USAGE);
  });

  it('a missing TRACE is a usage error (2)', async () => {
    const r = await sim();
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/missing required argument 'TRACE'/);
  });

  it('a plot that cannot be written (73), found before the trace is read', async () => {
    const r = await sim('ten.txt', '--policy', 'lru', '--plot', 'no/such/dir/mrc.svg');
    expect(r.code).toBe(EXIT.CANTCREAT);
    expect(r.lines).toEqual(['machpager: --plot no/such/dir/mrc.svg: cannot create it: no such directory']);
    expect(r.stdout).toBe('');
    await mkdir(path.join(tmp, 'plot.svg'));
    const d = await sim('missing.txt', '--plot', 'plot.svg');
    expect(d.code).toBe(EXIT.CANTCREAT);
    expect(d.lines).toEqual(['machpager: --plot plot.svg: cannot create it: is a directory']);
    const f = await sim('ten.txt', '--plot', 'ten.txt/mrc.svg');
    expect(f.code).toBe(EXIT.CANTCREAT);
    expect(f.lines).toEqual(['machpager: --plot ten.txt/mrc.svg: cannot create it: no such directory']);
  });

  it('--help explains the trace, the sizes and the curve, with examples', async () => {
    const r = await sim('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: machpager sim [options] TRACE');
    for (const text of ['--policy', '--cache', '--mrc', '--plot', 'PERCENT%', 'Examples:', ...ALL]) expect(r.stdout).toContain(text);
  });
});

const REFERENCE = CLOUD_PHYSICS_MISSES;

/**
 * Not in the reference (libCacheSim has no Mach policy): GNU Mach's queues,
 * pinned at what our implementation gives, so that a change to it is seen.
 */
const OURS: Record<string, readonly [number, number, number, number]> = {
  mach: [95448, 93925, 91661, 76579],
};

describe('sim on cloudPhysicsIO reproduces the reference table', () => {
  it('--cache 1%,5%,10%,25% is 489, 2448, 4897, 12243 pages; every policy in the registry has its exact miss counts', async () => {
    const r = await runInProcess(['sim', CLOUD, '--cache', '1%,5%,10%,25%', '--json'], { cwd: tmp });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const list = cells(r.stdout);
    expect(list.map((c) => c.policy)).toEqual(ALL.flatMap((p) => [p, p, p, p]));
    for (const c of list) {
      expect(c.requests).toBe(113872);
      expect(Object.keys(c).sort()).toEqual(KEYS);
    }
    const got: Record<string, number[]> = {};
    for (const c of list) (got[c.policy] ??= []).push(c.misses);
    const sizes = list.filter((c) => c.policy === ALL[0]).map((c) => c.cache_pages);
    expect(sizes).toEqual([489, 2448, 4897, 12243]);
    // A policy with no row here fails: every one the registry lists is checked.
    const missing = ALL.filter((p) => !(p in REFERENCE) && !(p in OURS));
    expect(missing, 'policies in the registry with no row in the reference table').toEqual([]);
    const want = Object.fromEntries(ALL.map((p) => [p, [...(REFERENCE[p] ?? OURS[p] ?? [])]]));
    expect(got).toEqual(want);
  });
});
