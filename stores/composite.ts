/**
 * The shared part of the stores made of other stores by address
 * translation (concat, ileave, remap; libstore's stripe.c and the run logic
 * of rdwr.c). A subclass maps a byte range to segments, each a range of one
 * child or a hole; this class does the I/O with libstore's rules:
 *
 *   - an error (or a hole) in the first segment is the operation's error;
 *   - an error, hole or short count in a later segment ends the operation
 *     there with a short count, not an error.
 *
 * Segments are issued in parallel (a striped read should use every child at
 * once) and accounted in order, so a write may have reached segments past
 * the point its count reports; a short count promises only the bytes before it.
 */
import { BaseStore, type StoreInit } from './base.js';
import { STORE_HARD_READONLY, STORE_READONLY, StoreError, type Store } from './store.js';

export interface Segment {
  /** undefined: a hole in the runs (reads and writes there are EIO). */
  child: Store | undefined;
  /** Byte offset in the child. */
  offset: number;
  /** Byte offset in the caller's buffer. */
  pos: number;
  length: number;
}

export abstract class CompositeStore extends BaseStore {
  protected constructor(
    init: Omit<StoreInit, 'flags'> & { flags?: number },
    readonly children: readonly Store[],
  ) {
    super({ ...init, flags: (init.flags ?? 0) | inheritedFlags(children) });
  }

  /** The segments of [offset, offset+length), in order, covering it exactly. */
  protected abstract segments(offset: number, length: number): Segment[];

  protected override backendRead(offset: number, into: Buffer): Promise<number> {
    return transfer(this.segments(offset, into.length), 'read', (seg, child) =>
      child.read(seg.offset, into.subarray(seg.pos, seg.pos + seg.length)),
    );
  }

  protected override backendWrite(offset: number, data: Buffer): Promise<number> {
    return transfer(this.segments(offset, data.length), 'write', (seg, child) =>
      child.write(seg.offset, data.subarray(seg.pos, seg.pos + seg.length)),
    );
  }

  /** A hole in the runs is not a hole in this sense: it does not read as zeros. */
  protected override async backendIsHole(offset: number, length: number): Promise<boolean> {
    for (const seg of this.segments(offset, length)) {
      if (!seg.child || !(await seg.child.isHole(seg.offset, seg.length))) return false;
    }
    return true;
  }

  protected override async backendSync(): Promise<void> {
    await Promise.all(this.children.map((c) => c.sync()));
  }

  protected override async backendClose(): Promise<void> {
    await closeAll(this.children);
  }
}

/** The largest child block size: a multiple of every other, since all are powers of two. */
export function childrenBlockSize(children: readonly Store[]): number {
  return Math.max(...children.map((c) => c.blockSize));
}

/** A composite is read-only where any child is. */
export function inheritedFlags(children: readonly Store[]): number {
  let flags = 0;
  for (const c of children) flags |= c.flags & (STORE_READONLY | STORE_HARD_READONLY);
  return flags;
}

/** Close every store, even when some fail; the first failure is thrown. */
export async function closeAll(stores: readonly Store[]): Promise<void> {
  const results = await Promise.allSettled(stores.map((s) => s.close()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function transfer(segments: Segment[], op: string, io: (seg: Segment, child: Store) => Promise<number>): Promise<number> {
  const results = await Promise.allSettled(
    segments.map((seg) => (seg.child ? io(seg, seg.child) : Promise.reject(new StoreError('EIO', `${op} into a hole of the runs`)))),
  );
  let done = 0;
  for (const [i, result] of results.entries()) {
    if (result.status === 'rejected') {
      if (i === 0) throw result.reason;
      return done;
    }
    done += result.value;
    if (result.value < segments[i].length) return done;
  }
  return done;
}
