/**
 * concat:CHILDREN — the children one after another (libstore stripe.c,
 * concat). The block size is the largest of the children's (they are powers
 * of two, so it is a multiple of each), and every child must be a whole
 * number of those blocks, so no block straddles two children.
 */
import { childOptions, compositeClass } from './store-class.js';
import { childrenBlockSize, CompositeStore, type Segment } from './composite.js';
import { joinChildren, openChildren, storeOver } from './children.js';
import { StoreError, type Store } from './store.js';

export class ConcatStore extends CompositeStore {
  /** Where each child starts, in bytes. */
  private readonly starts: number[];

  constructor(children: readonly Store[], flags = 0) {
    if (children.length === 0) throw new StoreError('EINVAL', 'concat needs at least one child');
    const blockSize = childrenBlockSize(children);
    const starts: number[] = [];
    let size = 0;
    for (const c of children) {
      if (c.size % blockSize !== 0) {
        throw new StoreError('EINVAL', `concat child ${c.name} is not a whole number of ${blockSize}-byte blocks`);
      }
      starts.push(size);
      size += c.size;
    }
    super({ className: 'concat', name: `concat:${joinChildren(children.map((c) => c.name))}`, blockSize, size, flags }, children);
    this.starts = starts;
  }

  protected override segments(offset: number, length: number): Segment[] {
    const out: Segment[] = [];
    let pos = 0;
    for (let i = 0; i < this.children.length && pos < length; i++) {
      const child = this.children[i];
      const start = this.starts[i];
      const at = offset + pos;
      if (at >= start + child.size) continue;
      const n = Math.min(length - pos, start + child.size - at);
      out.push({ child, offset: at - start, pos, length: n });
      pos += n;
    }
    return out;
  }
}

export const concatClass = compositeClass({
  name: 'concat',
  syntax: 'concat:SEP TYPE:NAME SEP TYPE:NAME ... (or concat:TYPE:SEP NAME SEP NAME ...)',
  summary: 'children one after another',
  async open(rest, options, context) {
    const children = await openChildren(rest, childOptions(options), context);
    return storeOver(children, () => new ConcatStore(children, options.flags));
  },
});
