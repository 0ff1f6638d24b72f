/**
 * Doubly linked lists of slots kept in typed arrays: the intrusive list of
 * the kernel's page queues, without an object per page. Several lists can
 * share one SlotLinks (a slot is on at most one of them at a time).
 */
export const NIL = -1;

export class SlotLinks {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Which list (by id) a slot is on; 0 = none. */
  readonly owner: Uint8Array;

  constructor(readonly capacity: number) {
    this.next = new Int32Array(capacity).fill(NIL);
    this.prev = new Int32Array(capacity).fill(NIL);
    this.owner = new Uint8Array(capacity);
  }
}

/** One list over shared links. head = oldest end, tail = newest end. */
export class SlotList {
  head = NIL;
  tail = NIL;
  size = 0;

  constructor(
    readonly links: SlotLinks,
    /** Non-zero id stored in links.owner for members. */
    readonly id: number,
  ) {
    if (id <= 0 || id > 255) throw new RangeError('list id must be in 1..255');
  }

  has(slot: number): boolean {
    return this.links.owner[slot] === this.id;
  }

  /** Append at the newest end. */
  pushTail(slot: number): void {
    const { next, prev, owner } = this.links;
    owner[slot] = this.id;
    next[slot] = NIL;
    prev[slot] = this.tail;
    if (this.tail !== NIL) next[this.tail] = slot;
    else this.head = slot;
    this.tail = slot;
    this.size++;
  }

  /** Insert at the oldest end. */
  pushHead(slot: number): void {
    const { next, prev, owner } = this.links;
    owner[slot] = this.id;
    prev[slot] = NIL;
    next[slot] = this.head;
    if (this.head !== NIL) prev[this.head] = slot;
    else this.tail = slot;
    this.head = slot;
    this.size++;
  }

  remove(slot: number): void {
    const { next, prev, owner } = this.links;
    const n = next[slot];
    const p = prev[slot];
    if (p !== NIL) next[p] = n;
    else this.head = n;
    if (n !== NIL) prev[n] = p;
    else this.tail = p;
    next[slot] = NIL;
    prev[slot] = NIL;
    owner[slot] = 0;
    this.size--;
  }

  /** Remove and return the oldest slot, or NIL. */
  popHead(): number {
    const slot = this.head;
    if (slot !== NIL) this.remove(slot);
    return slot;
  }

  /** Move a member to the newest end. */
  moveToTail(slot: number): void {
    if (this.tail === slot) return;
    this.remove(slot);
    this.pushTail(slot);
  }

  nextOf(slot: number): number {
    return this.links.next[slot];
  }

  prevOf(slot: number): number {
    return this.links.prev[slot];
  }
}
