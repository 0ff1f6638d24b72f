/**
 * The miss-ratio curve of `machpager sim --plot FILE`: the cache size on a
 * log axis (percent of the trace's working set), the miss ratio on a linear
 * one, one line per policy and a legend. The plot is laid out once as a
 * list of shapes and written as SVG; FILE.png is that SVG drawn by resvg (a
 * maintained rasteriser), so FILE.svg and FILE.png show the same thing.
 * resvg is a native module: it is loaded only when a PNG is asked for.
 */
import type { ResvgRenderOptions } from '@resvg/resvg-js';
import { CliError } from '../cli-error.js';
import { EXIT } from '../exit-codes.js';

export interface CurvePoint {
  readonly pages: number;
  readonly missRatio: number;
}

export interface Curve {
  readonly name: string;
  readonly points: readonly CurvePoint[];
}

export interface PlotInput {
  readonly title: string;
  /** The trace's distinct pages: the x axis is in percent of them. */
  readonly wss: number;
  readonly curves: readonly Curve[];
}

type Anchor = 'start' | 'middle' | 'end';

type Shape =
  | { readonly kind: 'line'; readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number; readonly color: string; readonly width: number }
  | { readonly kind: 'curve'; readonly name: string; readonly points: readonly (readonly [number, number])[]; readonly color: string; readonly width: number; readonly dash?: readonly number[] }
  | { readonly kind: 'dot'; readonly x: number; readonly y: number; readonly r: number; readonly color: string }
  | { readonly kind: 'text'; readonly x: number; readonly y: number; readonly text: string; readonly size: number; readonly anchor: Anchor; readonly color: string; readonly up?: boolean };

interface Scene {
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly shapes: readonly Shape[];
}

// D3's category10: ten colours that stay apart on white; curves past ten repeat them dashed.
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'] as const;
const DASHES: readonly (readonly number[] | undefined)[] = [undefined, [7, 4], [2, 3], [9, 3, 2, 3]];
const INK = '#222222';
const GRID = '#e4e4e4';
const MUTED = '#555555';

const WIDTH = 820;
const HEIGHT = 500;
const FONT = 12;
const TITLE_FONT = 14;
const FONT_FAMILY = 'Helvetica, Arial, sans-serif';

/** Rough width of text in the SVG's sans-serif at `size`, for the layout (generous, so labels never overlap). */
function textWidth(text: string, size: number): number {
  return text.length * size * 0.62;
}

/** The style of the i-th curve. */
export function curveStyle(i: number): { color: string; dash?: readonly number[] } {
  const color = PALETTE[i % PALETTE.length] ?? INK;
  const dash = DASHES[Math.floor(i / PALETTE.length) % DASHES.length];
  return dash ? { color, dash } : { color };
}

/** A percentage for a tick label: 0.1%, 2%, 50%, 100%. */
function percentLabel(percent: number): string {
  return `${Number(percent.toPrecision(4))}%`;
}

/** Log-axis ticks (in percent) between lo and hi: 1-2-5 per decade, only powers of ten when that is too many. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const eps = 1e-9;
  for (const steps of [[1, 2, 5], [1]]) {
    ticks.length = 0;
    for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)) + 1; k++) {
      for (const m of steps) {
        const v = m * 10 ** k;
        if (v >= lo * (1 - eps) && v <= hi * (1 + eps)) ticks.push(Number(v.toPrecision(6)));
      }
    }
    if (ticks.length <= 10) break;
  }
  if (ticks.length < 2) return [lo, hi];
  return ticks;
}

/** A linear axis for miss ratios: a round step, the range widened to whole steps, within 0..1. */
function ratioAxis(lo: number, hi: number): { lo: number; hi: number; step: number } {
  for (const step of [0.01, 0.02, 0.05, 0.1, 0.2, 0.25]) {
    let a = Math.floor(lo / step + 1e-9) * step;
    let b = Math.ceil(hi / step - 1e-9) * step;
    if (b <= a) b = a + step;
    a = Math.max(0, a);
    b = Math.min(1, b);
    if (b <= a) a = Math.max(0, b - step);
    if ((b - a) / step <= 8) return { lo: a, hi: b, step };
  }
  return { lo: 0, hi: 1, step: 0.2 };
}

/** The plot as shapes in a WIDTH × HEIGHT box. */
function layout(input: PlotInput): Scene {
  const shapes: Shape[] = [];
  const all = input.curves.flatMap((c) => c.points);
  const wss = Math.max(1, input.wss);
  const pct = (pages: number): number => (100 * pages) / wss;
  let xLo = Math.min(...all.map((p) => pct(p.pages)));
  let xHi = Math.max(...all.map((p) => pct(p.pages)));
  if (!(xLo > 0) || !Number.isFinite(xHi)) {
    xLo = 1;
    xHi = 100;
  }
  if (xHi / xLo < 1.5) {
    xLo /= 2;
    xHi *= 2;
  }
  const ratios = all.map((p) => p.missRatio);
  const y = ratioAxis(ratios.length > 0 ? Math.min(...ratios) : 0, ratios.length > 0 ? Math.max(...ratios) : 1);

  const legendWidth = Math.max(90, 44 + Math.max(0, ...input.curves.map((c) => textWidth(c.name, FONT))));
  const left = 68;
  const top = 44;
  const right = WIDTH - legendWidth - 24;
  const bottom = HEIGHT - 62;
  const sx = (percent: number): number => left + ((Math.log10(percent) - Math.log10(xLo)) / (Math.log10(xHi) - Math.log10(xLo))) * (right - left);
  const sy = (ratio: number): number => bottom - ((ratio - y.lo) / (y.hi - y.lo)) * (bottom - top);

  shapes.push({ kind: 'text', x: (left + right) / 2, y: 26, text: input.title, size: TITLE_FONT, anchor: 'middle', color: INK });

  // Grid and ticks.
  for (const t of logTicks(xLo, xHi)) {
    const x = sx(t);
    shapes.push({ kind: 'line', x1: x, y1: top, x2: x, y2: bottom, color: GRID, width: 1 });
    shapes.push({ kind: 'line', x1: x, y1: bottom, x2: x, y2: bottom + 5, color: INK, width: 1 });
    shapes.push({ kind: 'text', x, y: bottom + 19, text: percentLabel(t), size: FONT, anchor: 'middle', color: INK });
  }
  const decimals = y.step < 0.1 ? 2 : y.step === 0.25 ? 2 : 1;
  for (let i = 0; ; i++) {
    const v = y.lo + i * y.step;
    if (v > y.hi + 1e-9) break;
    const yy = sy(v);
    shapes.push({ kind: 'line', x1: left, y1: yy, x2: right, y2: yy, color: GRID, width: 1 });
    shapes.push({ kind: 'line', x1: left - 5, y1: yy, x2: left, y2: yy, color: INK, width: 1 });
    shapes.push({ kind: 'text', x: left - 8, y: yy + 4, text: v.toFixed(decimals), size: FONT, anchor: 'end', color: INK });
  }
  // Axes.
  shapes.push({ kind: 'line', x1: left, y1: bottom, x2: right, y2: bottom, color: INK, width: 1 });
  shapes.push({ kind: 'line', x1: left, y1: top, x2: left, y2: bottom, color: INK, width: 1 });
  shapes.push({
    kind: 'text',
    x: (left + right) / 2,
    y: bottom + 44,
    text: `cache size, % of the ${input.wss} distinct pages (log scale)`,
    size: FONT,
    anchor: 'middle',
    color: MUTED,
  });
  shapes.push({ kind: 'text', x: 20, y: (top + bottom) / 2, text: 'miss ratio', size: FONT, anchor: 'middle', color: MUTED, up: true });

  // Curves, then their points on top.
  input.curves.forEach((curve, i) => {
    const style = curveStyle(i);
    const points = [...curve.points].sort((a, b) => a.pages - b.pages).map((p) => [sx(pct(p.pages)), sy(p.missRatio)] as const);
    shapes.push({ kind: 'curve', name: curve.name, points, color: style.color, width: 2, ...(style.dash ? { dash: style.dash } : {}) });
    for (const [px, py] of points) shapes.push({ kind: 'dot', x: px, y: py, r: 2.5, color: style.color });
  });

  // Legend, in the curves' order.
  const lx = right + 20;
  input.curves.forEach((curve, i) => {
    const style = curveStyle(i);
    const ly = top + 8 + i * 20;
    shapes.push({ kind: 'curve', name: '', points: [[lx, ly], [lx + 26, ly]], color: style.color, width: 2, ...(style.dash ? { dash: style.dash } : {}) });
    shapes.push({ kind: 'text', x: lx + 34, y: ly + 4, text: curve.name, size: FONT, anchor: 'start', color: INK });
  });
  return { width: WIDTH, height: HEIGHT, title: input.title, shapes };
}

// ---------------------------------------------------------------- SVG

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const num = (v: number): string => String(Math.round(v * 100) / 100);

/** The plot as an SVG document. Each policy's curve is one <polyline> with data-policy; the legend's samples are <line>s. */
export function renderSvg(input: PlotInput): string {
  const scene = layout(input);
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="${FONT_FAMILY}" font-size="${FONT}">`,
    `<title>${esc(scene.title)}</title>`,
    `<rect width="${scene.width}" height="${scene.height}" fill="#ffffff"/>`,
  ];
  for (const s of scene.shapes) {
    switch (s.kind) {
      case 'line':
        out.push(`<line x1="${num(s.x1)}" y1="${num(s.y1)}" x2="${num(s.x2)}" y2="${num(s.y2)}" stroke="${s.color}" stroke-width="${s.width}" shape-rendering="crispEdges"/>`);
        break;
      case 'curve': {
        const dash = s.dash ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
        if (s.name === '') {
          const [a, b] = s.points;
          if (a && b) out.push(`<line x1="${num(a[0])}" y1="${num(a[1])}" x2="${num(b[0])}" y2="${num(b[1])}" stroke="${s.color}" stroke-width="${s.width}"${dash}/>`);
        } else {
          const pts = s.points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
          out.push(`<polyline data-policy="${esc(s.name)}" points="${pts}" fill="none" stroke="${s.color}" stroke-width="${s.width}" stroke-linejoin="round" stroke-linecap="round"${dash}/>`);
        }
        break;
      }
      case 'dot':
        out.push(`<circle cx="${num(s.x)}" cy="${num(s.y)}" r="${s.r}" fill="${s.color}"/>`);
        break;
      case 'text': {
        const size = s.size === FONT ? '' : ` font-size="${s.size}"`;
        const turn = s.up === true ? ` transform="rotate(-90 ${num(s.x)} ${num(s.y)})"` : '';
        out.push(`<text x="${num(s.x)}" y="${num(s.y)}" text-anchor="${s.anchor}" fill="${s.color}"${size}${turn}>${esc(s.text)}</text>`);
        break;
      }
    }
  }
  out.push('</svg>', '');
  return out.join('\n');
}

// ---------------------------------------------------------------- PNG

/** Pixels per SVG unit: a PNG twice the SVG's size, sharp on high-density screens. */
const PNG_SCALE = 2;

/** Where resvg finds the labels' font: the system's fonts (false only to show what happens without one). */
export interface PngFonts {
  readonly loadSystemFonts: boolean;
}

const SYSTEM_FONTS: PngFonts = { loadSystemFonts: true };

function fontOptions(fonts: PngFonts): NonNullable<ResvgRenderOptions['font']> {
  return { loadSystemFonts: fonts.loadSystemFonts, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };
}

/**
 * resvg draws text it has no font for as nothing: a plot without its labels.
 * A one-letter SVG that comes out empty means there is no font to use; the
 * command asks before the replay (which may be long), as for the plot's path.
 */
export async function checkPngFont(file: string, fonts: PngFonts = SYSTEM_FONTS): Promise<void> {
  const { Resvg } = await import('@resvg/resvg-js');
  const probe = new Resvg(`<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><text x="2" y="16" font-family="${FONT_FAMILY}">M</text></svg>`, { font: fontOptions(fonts) });
  const box = probe.getBBox();
  if (box === undefined || !(box.width > 0)) {
    throw new CliError(`--plot ${file}`, 'a PNG needs a font for its labels and none is installed (Debian: apt install fonts-dejavu-core); or write the plot as FILE.svg', EXIT.UNAVAILABLE);
  }
}

/** The plot as a PNG image: the SVG above, rasterised by resvg at PNG_SCALE (checkPngFont first: without a font the labels are missing). */
export async function renderPng(input: PlotInput, fonts: PngFonts = SYSTEM_FONTS): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(renderSvg(input), { font: fontOptions(fonts), fitTo: { mode: 'zoom', value: PNG_SCALE }, background: '#ffffff' });
  return resvg.render().asPng();
}

/** The file format a plot path asks for, by its extension; undefined for one we cannot write. */
export function plotFormat(file: string): 'svg' | 'png' | undefined {
  const ext = /\.([^./]+)$/.exec(file)?.[1]?.toLowerCase();
  return ext === 'svg' || ext === 'png' ? ext : undefined;
}
