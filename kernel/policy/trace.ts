/**
 * Page traces: one page id per line (`42932745`), or `op,id` lines
 * (`r,42932745`; the op is ignored: reads and writes count alike). Blank
 * lines and lines starting with '#' are skipped. Ids are made dense
 * (0, 1, 2, ... in order of first appearance), so that a replay indexes
 * typed arrays instead of hashing.
 */
import type { Trace } from './replay.js';

export class TraceFormatError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'TraceFormatError';
  }
}

/** Dense ids for a sequence of page ids (any non-negative safe integers). */
export class TraceBuilder {
  private readonly dense = new Map<number, number>();
  private ids = new Int32Array(1024);
  private length = 0;

  add(pageId: number): void {
    let id = this.dense.get(pageId);
    if (id === undefined) {
      id = this.dense.size;
      this.dense.set(pageId, id);
    }
    if (this.length === this.ids.length) {
      const grown = new Int32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.length++] = id;
  }

  get requests(): number {
    return this.length;
  }

  build(): Trace {
    return { ids: this.ids.slice(0, this.length), distinct: this.dense.size };
  }
}

/** Parse one line into a page id; undefined for a line to skip. */
export function parseTraceLine(line: string, lineNumber: number): number | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const comma = text.lastIndexOf(',');
  const field = comma >= 0 ? text.slice(comma + 1).trim() : text;
  if (!/^\d+$/.test(field)) throw new TraceFormatError(lineNumber, `"${text.length > 40 ? `${text.slice(0, 37)}...` : text}" is not a page id (a whole number) or op,id`);
  const id = Number(field);
  if (!Number.isSafeInteger(id)) throw new TraceFormatError(lineNumber, `page id ${field} is larger than 2^53`);
  return id;
}

/** A whole trace from its text. */
export function parseTrace(text: string): Trace {
  const builder = new TraceBuilder();
  let lineNumber = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNumber++;
    const id = parseTraceLine(text.slice(start, end), lineNumber);
    if (id !== undefined) builder.add(id);
    start = end + 1;
  }
  return builder.build();
}
