/**
 * Ghost entries: the ids of pages a policy no longer caches but still
 * remembers (ARC's B1/B2, 2Q's A1out, S3-FIFO's G, LIRS's non-resident HIR
 * blocks). An entry is an index in [0, capacity) that holds a page key; the
 * policy orders entries with SlotLists over its own SlotLinks(capacity), and
 * this table finds an entry by key: open addressing with linear probing and
 * backward-shift deletion (no tombstones, so probes stay short however long
 * the table runs). Everything is in typed arrays: nothing is allocated per
 * entry. Keys are page keys: non-negative integers below 2^53.
 */
export const NO_ENTRY = -1;

export class KeyIndex {
  /** The key each entry holds. */
  readonly keys: Float64Array;
  /** Hash slots: an entry index, or NO_ENTRY. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly free: Int32Array;
  private freeCount: number;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`ghost capacity must be a whole number ≥ 0, not ${capacity}`);
    this.keys = new Float64Array(capacity);
    // At most half full: probe sequences stay short.
    let size = 2;
    while (size < capacity * 2) size *= 2;
    this.table = new Int32Array(size).fill(NO_ENTRY);
    this.mask = size - 1;
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.freeCount = capacity;
  }

  /** Entries in use. */
  get used(): number {
    return this.capacity - this.freeCount;
  }

  get full(): boolean {
    return this.freeCount === 0;
  }

  /** The entry holding `key`, or NO_ENTRY. */
  find(key: number): number {
    const keys = this.keys;
    const table = this.table;
    const mask = this.mask;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const entry = table[i];
      if (entry === NO_ENTRY || keys[entry] === key) return entry;
    }
  }

  /** A new entry for `key` (which must not be in the table); NO_ENTRY when every entry is in use. */
  add(key: number): number {
    if (this.freeCount === 0) return NO_ENTRY;
    const entry = this.free[--this.freeCount];
    this.keys[entry] = key;
    const table = this.table;
    const mask = this.mask;
    let i = hash(key) & mask;
    while (table[i] !== NO_ENTRY) i = (i + 1) & mask;
    table[i] = entry;
    return entry;
  }

  /** Forget an entry in use. */
  delete(entry: number): void {
    const keys = this.keys;
    const table = this.table;
    const mask = this.mask;
    let i = hash(keys[entry]) & mask;
    while (table[i] !== entry) i = (i + 1) & mask;
    // Backward shift: pull later members of the probe run into the hole, so
    // that no lookup stops early at it.
    for (;;) {
      table[i] = NO_ENTRY;
      let j = i;
      let moved = false;
      for (;;) {
        j = (j + 1) & mask;
        const other = table[j];
        if (other === NO_ENTRY) break;
        const home = hash(keys[other]) & mask;
        // `other` may fill the hole at i unless its home lies cyclically in (i, j].
        const stays = i <= j ? i < home && home <= j : i < home || home <= j;
        if (stays) continue;
        table[i] = other;
        i = j;
        moved = true;
        break;
      }
      if (!moved) break;
    }
    this.free[this.freeCount++] = entry;
  }
}

/** 32-bit mix of a key below 2^53 (both halves count: page keys put the object id in the high bits). */
function hash(key: number): number {
  const low = key >>> 0;
  const high = (key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x27d4eb2d), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
