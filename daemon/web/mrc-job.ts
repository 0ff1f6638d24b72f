/**
 * The miss-ratio curve of a recorded page trace (`machpager trace start`),
 * for the web view: the LRU miss ratio at every cache size in one pass
 * (Mattson's stack distances: kernel/policy/stack-distance.ts,
 * O(n log m)). It reads the trace file as a stream and yields to the event
 * loop between slices, so it never holds up the FUSE loop when the daemon
 * serves the view; one job at a time, a new start cancels the one running.
 *
 * A trace still being recorded can be read: a cut last line is skipped.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import readline from 'node:readline';
import { DistanceHistogram, parseTraceLine, StackDistances, TraceBuilder, TraceFormatError } from '../../kernel/index.js';

export interface MrcPoint {
  /** Cache size in pages. */
  pages: number;
  miss_ratio: number;
}

export interface MrcStatus {
  state: 'none' | 'reading' | 'computing' | 'done' | 'failed';
  path?: string;
  requests: number;
  /** Distinct pages (the working set: at this size only cold misses are left). */
  distinct: number;
  /** 0..1 of the work done. */
  progress: number;
  points: MrcPoint[];
  error?: string;
}

/** Requests handled between yields to the event loop. */
const SLICE = 1 << 16;
/** Points on the curve (sizes spaced evenly on a log scale, plus the working set). */
const POINTS = 96;

export class MrcJob {
  private current: MrcStatus = { state: 'none', requests: 0, distinct: 0, progress: 0, points: [] };
  private generation = 0;

  status(): MrcStatus {
    return this.current;
  }

  /** Compute the curve of the trace at `path`; the promise settles when this job ends (done, failed or replaced). */
  start(path: string): Promise<void> {
    const generation = ++this.generation;
    this.current = { state: 'reading', path, requests: 0, distinct: 0, progress: 0, points: [] };
    return this.run(path, generation).catch((err: unknown) => {
      if (generation !== this.generation) return;
      this.current = { ...this.current, state: 'failed', error: err instanceof Error ? err.message : String(err) };
    });
  }

  /** Stop the running job (the next slice sees it). */
  cancel(): void {
    this.generation++;
    if (this.current.state === 'reading' || this.current.state === 'computing') this.current = { ...this.current, state: 'none' };
  }

  private async run(path: string, generation: number): Promise<void> {
    const size = (await stat(path)).size;
    const builder = new TraceBuilder();
    const input = createReadStream(path, { encoding: 'utf8' });
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    let lineNumber = 0;
    let bytes = 0;
    try {
      for await (const line of lines) {
        if (generation !== this.generation) return;
        lineNumber++;
        bytes += line.length + 1;
        let id: number | undefined;
        try {
          id = parseTraceLine(line, lineNumber);
        } catch (err) {
          // A line cut by a recording still being written; anything else is not a trace.
          if (err instanceof TraceFormatError && bytes >= size) continue;
          throw err;
        }
        if (id !== undefined) builder.add(id);
        if (lineNumber % SLICE === 0) this.current = { ...this.current, requests: builder.requests, progress: size === 0 ? 0 : (0.5 * bytes) / size };
      }
    } finally {
      lines.close();
      input.destroy();
    }
    const trace = builder.build();
    this.current = { ...this.current, state: 'computing', requests: trace.ids.length, distinct: trace.distinct, progress: 0.5 };
    const points = await this.curve(trace.ids, trace.distinct, generation);
    if (points === undefined) return;
    this.current = { ...this.current, state: 'done', progress: 1, points };
  }

  /** LRU miss ratio by cache size; undefined when cancelled. */
  private async curve(ids: Int32Array, distinct: number, generation: number): Promise<MrcPoint[] | undefined> {
    const n = ids.length;
    if (n === 0) return [];
    const stack = new StackDistances(distinct);
    const histogram = new DistanceHistogram();
    for (let t = 0; t < n; t++) {
      histogram.record(stack.access(ids[t]));
      if (t % SLICE === SLICE - 1) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (generation !== this.generation) return undefined;
        this.current = { ...this.current, progress: 0.5 + (0.5 * t) / n };
      }
    }
    return curvePoints(histogram, distinct);
  }
}

/** The curve of `histogram` at POINTS sizes spaced evenly on a log scale up to `distinct` pages, and at `distinct`. */
export function curvePoints(histogram: DistanceHistogram, distinct: number): MrcPoint[] {
  if (distinct < 1) return [];
  const sizes = new Set<number>();
  for (let i = 0; i < POINTS; i++) sizes.add(Math.max(1, Math.round(distinct ** (i / (POINTS - 1)))));
  sizes.add(distinct);
  const sorted = [...sizes].sort((a, b) => a - b);
  const ratios = histogram.missRatios(sorted);
  return sorted.map((pages, i) => ({ pages, miss_ratio: ratios[i] ?? 0 }));
}
