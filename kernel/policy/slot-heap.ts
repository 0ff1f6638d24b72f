/**
 * A binary heap of slots ordered by a number per slot, in typed arrays: the
 * priority queue of LRU-K (smallest K-th most recent access first) and of
 * Belady's MIN (furthest next access first). A slot's position is kept, so
 * a key change or a removal is O(log n) and nothing is allocated.
 */
import { NIL } from './slot-list.js';

export class SlotHeap {
  /** The key of each slot in the heap. */
  readonly key: Float64Array;
  private readonly heap: Int32Array;
  /** Where each slot sits in `heap`, NIL when it is not in the heap. */
  private readonly position: Int32Array;
  size = 0;

  constructor(
    slots: number,
    /** true: the largest key is on top (Belady); false: the smallest (LRU-K). */
    private readonly largestFirst: boolean,
  ) {
    this.key = new Float64Array(slots);
    this.heap = new Int32Array(slots);
    this.position = new Int32Array(slots).fill(NIL);
  }

  has(slot: number): boolean {
    return this.position[slot] !== NIL;
  }

  /** The top slot, NIL when empty. */
  top(): number {
    return this.size === 0 ? NIL : this.heap[0];
  }

  push(slot: number, key: number): void {
    this.key[slot] = key;
    const i = this.size++;
    this.heap[i] = slot;
    this.position[slot] = i;
    this.up(i);
  }

  /** Change the key of a slot in the heap. */
  update(slot: number, key: number): void {
    const old = this.key[slot];
    this.key[slot] = key;
    const i = this.position[slot];
    if (this.before(key, old)) this.up(i);
    else this.down(i);
  }

  remove(slot: number): void {
    const i = this.position[slot];
    this.position[slot] = NIL;
    const last = this.heap[--this.size];
    if (i === this.size) return;
    this.heap[i] = last;
    this.position[last] = i;
    this.up(i);
    this.down(this.position[last]);
  }

  /** Remove and return the top slot, NIL when empty. */
  pop(): number {
    const slot = this.top();
    if (slot !== NIL) this.remove(slot);
    return slot;
  }

  /** Whether key a goes nearer the top than key b. */
  private before(a: number, b: number): boolean {
    return this.largestFirst ? a > b : a < b;
  }

  private up(i: number): void {
    const { heap, position, key } = this;
    const slot = heap[i];
    const k = key[slot];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (!this.before(k, key[p])) break;
      heap[i] = p;
      position[p] = i;
      i = parent;
    }
    heap[i] = slot;
    position[slot] = i;
  }

  private down(i: number): void {
    const { heap, position, key } = this;
    const n = this.size;
    const slot = heap[i];
    const k = key[slot];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.before(key[heap[right]], key[heap[child]])) child = right;
      const c = heap[child];
      if (!this.before(key[c], k)) break;
      heap[i] = c;
      position[c] = i;
      i = child;
    }
    heap[i] = slot;
    position[slot] = i;
  }
}
