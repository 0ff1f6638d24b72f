/**
 * remap:RUNS:TYPE:NAME — chosen runs of a child, one after another
 * (libstore remap.c). RUNS is a comma-separated list, in the child's blocks:
 *
 *   START+LENGTH   LENGTH blocks from START
 *   START+         from START to the end of the child
 *   START          one block
 *   -1+LENGTH      a hole of LENGTH blocks: reads and writes there are EIO
 *                  (libstore's runs with start -1), or end the operation
 *                  short when it started in a run before the hole
 */
import { CompositeStore, type Segment } from './composite.js';
import { openParameterChild, storeOver } from './children.js';
import { compositeClass } from './store-class.js';
import { StoreError, type Store } from './store.js';

export interface Run {
  /** First block in the child; -1 for a hole. */
  start: number;
  /** Blocks. */
  length: number;
}

export const HOLE_RUN = -1;

export class RemapStore extends CompositeStore {
  /** Where each run starts in this store, in bytes. */
  private readonly offsets: number[];

  constructor(
    readonly child: Store,
    readonly runs: readonly Run[],
    flags = 0,
  ) {
    const bs = child.blockSize;
    const childBlocks = child.size / bs;
    if (runs.length === 0) throw new StoreError('EINVAL', 'remap needs at least one run');
    const offsets: number[] = [];
    let size = 0;
    for (const run of runs) {
      if (!Number.isSafeInteger(run.length) || run.length <= 0) throw new StoreError('EINVAL', `remap run of ${run.length} blocks`);
      if (run.start !== HOLE_RUN && (!Number.isSafeInteger(run.start) || run.start < 0 || run.start + run.length > childBlocks)) {
        throw new StoreError('EINVAL', `remap run ${run.start}+${run.length} is outside ${child.name} (${childBlocks} blocks)`);
      }
      offsets.push(size);
      size += run.length * bs;
    }
    super({ className: 'remap', name: `remap:${formatRuns(runs)}:${child.name}`, blockSize: bs, size, flags }, [child]);
    this.offsets = offsets;
  }

  protected override segments(offset: number, length: number): Segment[] {
    const bs = this.blockSize;
    const out: Segment[] = [];
    for (let i = this.runAt(offset), pos = 0; pos < length; i++) {
      const run = this.runs[i];
      const at = offset + pos;
      const within = at - this.offsets[i];
      const n = Math.min(run.length * bs - within, length - pos);
      out.push({ child: run.start === HOLE_RUN ? undefined : this.child, offset: run.start * bs + within, pos, length: n });
      pos += n;
    }
    return out;
  }

  /** The run holding byte `offset` (binary search: runs can be many). */
  private runAt(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** A run as written: `length` undefined means "to the end of the child". */
export interface RunSpec {
  start: number;
  length: number | undefined;
}

/** Parse RUNS (syntax only: the child's size is not known yet). */
export function parseRunSpecs(text: string): RunSpec[] {
  if (text === '') throw new StoreError('EINVAL', 'remap needs at least one run');
  return text.split(',').map((item) => {
    const m = /^(-1|\d+)(?:\+(\d*))?$/.exec(item);
    if (!m) throw new StoreError('EINVAL', `bad remap run '${item}' (START+LENGTH, START+, START or -1+LENGTH)`);
    const start = Number(m[1]);
    const length = m[2] === undefined ? 1 : m[2] === '' ? undefined : Number(m[2]);
    if (start === HOLE_RUN && length === undefined) throw new StoreError('EINVAL', `a hole run needs a length: '${item}'`);
    return { start, length };
  });
}

/** Runs against a child of `childBlocks` blocks: "to the end" becomes a length. */
export function resolveRuns(specs: readonly RunSpec[], childBlocks: number): Run[] {
  return specs.map(({ start, length }) => ({ start, length: length ?? childBlocks - start }));
}

/** Parse RUNS against a child of `childBlocks` blocks. */
export function parseRuns(text: string, childBlocks: number): Run[] {
  return resolveRuns(parseRunSpecs(text), childBlocks);
}

export function formatRuns(runs: readonly Run[]): string {
  return runs.map((r) => `${r.start}+${r.length}`).join(',');
}

export const remapClass = compositeClass({
  name: 'remap',
  syntax: 'remap:RUNS:TYPE:NAME (RUNS: START+LENGTH,START+,START,-1+LENGTH in child blocks)',
  summary: 'chosen block runs of a child',
  async open(rest, options, context) {
    const { parsed: specs, child } = await openParameterChild('remap', rest, 'RUNS:TYPE:NAME', parseRunSpecs, options, context);
    return storeOver([child], () => new RemapStore(child, resolveRuns(specs, child.size / child.blockSize), options.flags));
  },
});
