/**
 * ileave:INTERLEAVE:CHILDREN — RAID-0 (libstore stripe.c, interleave):
 * stripe i of INTERLEAVE bytes lives on child i mod N, at stripe i div N of
 * that child. The children must be the same size, a whole number of
 * stripes; INTERLEAVE must be a multiple of every child's block size.
 */
import { childOptions, compositeClass } from './store-class.js';
import { childrenBlockSize, CompositeStore, type Segment } from './composite.js';
import { joinChildren, openChildren, splitParameter, storeOver } from './children.js';
import { formatSize, parseSize } from './size.js';
import { StoreError, type Store } from './store.js';

export class InterleaveStore extends CompositeStore {
  constructor(
    readonly interleave: number,
    children: readonly Store[],
    flags = 0,
  ) {
    if (children.length === 0) throw new StoreError('EINVAL', 'ileave needs at least one child');
    const blockSize = childrenBlockSize(children);
    if (interleave <= 0 || interleave % blockSize !== 0) {
      throw new StoreError('EINVAL', `interleave ${interleave} is not a multiple of the children's block size ${blockSize}`);
    }
    const childSize = children[0].size;
    for (const c of children) {
      if (c.size !== childSize) throw new StoreError('EINVAL', `ileave children differ in size (${c.name}: ${c.size}, not ${childSize})`);
    }
    if (childSize % interleave !== 0) {
      throw new StoreError('EINVAL', `ileave child size ${childSize} is not a whole number of ${interleave}-byte stripes`);
    }
    const name = `ileave:${formatSize(interleave)}:${joinChildren(children.map((c) => c.name))}`;
    super({ className: 'ileave', name, blockSize, size: childSize * children.length, flags }, children);
  }

  protected override segments(offset: number, length: number): Segment[] {
    const out: Segment[] = [];
    const il = this.interleave;
    const n = this.children.length;
    for (let pos = 0; pos < length; ) {
      const at = offset + pos;
      const stripe = Math.floor(at / il);
      const within = at - stripe * il;
      const len = Math.min(il - within, length - pos);
      out.push({ child: this.children[stripe % n], offset: Math.floor(stripe / n) * il + within, pos, length: len });
      pos += len;
    }
    return out;
  }
}

export const ileaveClass = compositeClass({
  name: 'ileave',
  aliases: ['interleave'],
  syntax: 'ileave:INTERLEAVE:SEP TYPE:NAME SEP TYPE:NAME ...',
  summary: 'RAID-0 striping over equal-sized children',
  async open(rest, options, context) {
    const { parameter, child } = splitParameter('ileave', rest, 'INTERLEAVE:CHILDREN');
    const interleave = parseSize(parameter, 'interleave');
    const children = await openChildren(child, childOptions(options), context);
    return storeOver(children, () => new InterleaveStore(interleave, children, options.flags));
  },
});
