/**
 * A small raster canvas and a PNG encoder, for `machpager sim --plot
 * FILE.png` without a native or a large dependency: shapes are drawn with
 * anti-aliased coverage (the distance of each pixel from a segment or a
 * disc), text with the bitmap font, and the image is written as an 8-bit
 * RGB PNG: the scanlines deflated by node's zlib, the chunk CRCs computed
 * here (zlib.crc32 is newer than Node 20.0).
 */
import { deflateSync } from 'node:zlib';
import { GLYPH_ASCENT, GLYPH_ROWS, GLYPH_WIDTH, glyph, inked } from './bitmap-font.js';

export type Rgb = readonly [number, number, number];

/** '#rrggbb' as numbers. */
export function rgb(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1] ?? '0', 16), parseInt(m[2] ?? '0', 16), parseInt(m[3] ?? '0', 16)];
}

/** Dashes as on/off lengths in pixels, the pattern repeating along the line. */
export type Dash = readonly number[];

export class Raster {
  readonly pixels: Uint8Array;
  /** The coverage (0..1) of the shape being drawn: each shape is blended once, so a polyline's joints are not drawn twice. */
  private readonly mask: Float32Array;
  private x0 = 0;
  private y0 = 0;
  private x1 = -1;
  private y1 = -1;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb,
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < this.pixels.length; i += 3) this.pixels.set(background, i);
    this.mask = new Float32Array(width * height);
  }

  /** Grow the box the current shape touches (clipped to the canvas); false when it lies outside. */
  private touch(ax: number, ay: number, bx: number, by: number): [number, number, number, number] | undefined {
    const x0 = Math.max(0, Math.floor(ax));
    const y0 = Math.max(0, Math.floor(ay));
    const x1 = Math.min(this.width - 1, Math.ceil(bx));
    const y1 = Math.min(this.height - 1, Math.ceil(by));
    if (x0 > x1 || y0 > y1) return undefined;
    if (this.x1 < this.x0) {
      this.x0 = x0;
      this.y0 = y0;
      this.x1 = x1;
      this.y1 = y1;
    } else {
      this.x0 = Math.min(this.x0, x0);
      this.y0 = Math.min(this.y0, y0);
      this.x1 = Math.max(this.x1, x1);
      this.y1 = Math.max(this.y1, y1);
    }
    return [x0, y0, x1, y1];
  }

  /** Cover a segment `width` pixels wide with round ends; `along` is the dash position at its start. */
  private coverSegment(ax: number, ay: number, bx: number, by: number, width: number, dash?: Dash, along = 0): void {
    const hw = width / 2;
    const box = this.touch(Math.min(ax, bx) - hw - 1, Math.min(ay, by) - hw - 1, Math.max(ax, bx) + hw + 1, Math.max(ay, by) + hw + 1);
    if (!box) return;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const len = Math.sqrt(len2);
    const period = dash ? dash.reduce((a, b) => a + b, 0) : 0;
    for (let y = box[1]; y <= box[3]; y++) {
      const py = y + 0.5;
      for (let x = box[0]; x <= box[2]; x++) {
        const px = x + 0.5;
        let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = px - (ax + t * dx);
        const ey = py - (ay + t * dy);
        let c = hw + 0.5 - Math.sqrt(ex * ex + ey * ey);
        if (c <= 0) continue;
        if (c > 1) c = 1;
        if (dash && period > 0 && !dashOn(dash, period, along + t * len)) continue;
        const i = y * this.width + x;
        if (c > (this.mask[i] ?? 0)) this.mask[i] = c;
      }
    }
  }

  /** Blend the current shape in `color` and clear it. */
  private fill(color: Rgb): void {
    if (this.x1 < this.x0) return;
    for (let y = this.y0; y <= this.y1; y++) {
      for (let x = this.x0; x <= this.x1; x++) {
        const i = y * this.width + x;
        const m = this.mask[i] ?? 0;
        if (m <= 0) continue;
        this.mask[i] = 0;
        const p = i * 3;
        for (let k = 0; k < 3; k++) this.pixels[p + k] = Math.round((this.pixels[p + k] ?? 0) * (1 - m) + color[k] * m);
      }
    }
    this.x0 = 0;
    this.y0 = 0;
    this.x1 = -1;
    this.y1 = -1;
  }

  /** A line through pixel centres; axis-parallel ones are snapped to whole pixels so that grid lines stay crisp. */
  line(ax: number, ay: number, bx: number, by: number, width: number, color: Rgb): void {
    if (ax === bx || ay === by) {
      const w = Math.max(1, Math.round(width));
      if (ax === bx) this.rect(Math.round(ax - w / 2), Math.round(Math.min(ay, by)), w, Math.round(Math.abs(by - ay)) || 1, color);
      else this.rect(Math.round(Math.min(ax, bx)), Math.round(ay - w / 2), Math.round(Math.abs(bx - ax)) || 1, w, color);
      return;
    }
    this.coverSegment(ax, ay, bx, by, width);
    this.fill(color);
  }

  /** Connected segments, dashed or not, blended as one shape. */
  polyline(points: readonly (readonly [number, number])[], width: number, color: Rgb, dash?: Dash): void {
    let along = 0;
    for (let i = 0; i < points.length; i++) {
      const a = points[i];
      const b = points[i + 1] ?? a;
      if (!a || !b) continue;
      if (i + 1 < points.length || points.length === 1) this.coverSegment(a[0], a[1], b[0], b[1], width, dash, along);
      along += Math.hypot(b[0] - a[0], b[1] - a[1]);
    }
    this.fill(color);
  }

  /** A filled disc. */
  disc(cx: number, cy: number, r: number, color: Rgb): void {
    this.coverSegment(cx, cy, cx, cy, 2 * r);
    this.fill(color);
  }

  /** A filled rectangle of whole pixels. */
  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.pixels.set(color, (yy * this.width + xx) * 3);
  }

  /** The width in pixels of `text` drawn with glyph pixels of `scale`. */
  static textWidth(text: string, scale: number): number {
    const n = [...text].length;
    return n === 0 ? 0 : (n * (GLYPH_WIDTH + 1) - 1) * scale;
  }

  /**
   * Text in the bitmap font, each font pixel `scale` pixels square, its
   * baseline at y; `anchor` places x at its start, middle or end. `up`
   * turns it a quarter to the left (reading upwards, for a y axis title).
   */
  text(x: number, y: number, text: string, scale: number, color: Rgb, anchor: 'start' | 'middle' | 'end' = 'start', up = false): void {
    const width = Raster.textWidth(text, scale);
    const shift = anchor === 'start' ? 0 : anchor === 'middle' ? width / 2 : width;
    let u = -shift;
    for (const ch of text) {
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_ROWS; r++) {
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (!inked(rows, c, r)) continue;
          const gu = u + c * scale;
          const gv = (r - GLYPH_ASCENT) * scale;
          if (up) this.rect(x + gv, y - gu - scale, scale, scale, color);
          else this.rect(x + gu, y + gv, scale, scale, color);
        }
      }
      u += (GLYPH_WIDTH + 1) * scale;
    }
  }
}

/** Whether distance `s` along a dashed line falls on a dash. */
function dashOn(dash: Dash, period: number, s: number): boolean {
  let r = s % period;
  for (let k = 0; k < dash.length; k++) {
    const d = dash[k] ?? 0;
    if (r < d) return k % 2 === 0;
    r -= d;
  }
  return true;
}

// ---------------------------------------------------------------- PNG

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG's chunks use). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An 8-bit RGB PNG of `pixels` (width × height × 3 bytes, rows top down). */
export function encodePng(width: number, height: number, pixels: Uint8Array): Buffer {
  if (pixels.length !== width * height * 3) throw new RangeError(`${pixels.length} bytes are not ${width}×${height} RGB pixels`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  header[10] = 0; // deflate
  header[11] = 0; // adaptive filtering
  header[12] = 0; // no interlace
  // Filter "Up" on every row: plots are mostly runs of identical rows, which it turns into zeros.
  const stride = width * 3;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = 2;
    const row = y * stride;
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = ((pixels[row + i] ?? 0) - (y > 0 ? (pixels[row - stride + i] ?? 0) : 0)) & 0xff;
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
}
