/**
 * 2Q (Johnson & Shasha, VLDB'94), the full version, as libCacheSim's TwoQ
 * does it (cache-policies.md §5.5): Kin = floor(C/4), Kout = floor(C/2).
 *
 * - A1in: a FIFO of pages seen once. A hit there moves nothing (2Q's
 *   correlated-reference period).
 * - A1out: a FIFO of the ids of pages pushed out of A1in, at most Kout.
 * - Am: an LRU of pages asked for again after they left A1in, with its own
 *   capacity C − Kin.
 *
 * A miss whose id is in A1out (the id leaves it) goes to Am, first evicting
 * Am's LRU pages while |Am| ≥ C − Kin (needsRoom() asks the replay for those
 * evictions); any other miss goes to A1in. Evicting while the cache is full:
 * A1in's oldest page, its id to A1out, if |A1in| > Kin; else Am's LRU page.
 * So A1in can exceed Kin while Am is below its own size.
 *
 * Active = Am, inactive = A1in. No resident page ever moves from A1in to Am
 * (pages reach Am only from A1out, that is on a miss), so 2Q counts no
 * reactivations. A prefetched page goes to A1in's oldest end (the first to
 * leave), even when its id was in A1out: it has not been asked for.
 *
 * Too small a cache: libCacheSim caches nothing while Kin < 1 (C < 4;
 * canInsert() tells the replay). The live kernel keeps every page.
 */
import { KeyIndex, NO_ENTRY } from './key-index.js';
import { INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

const IN_RATIO = 0.25;
const OUT_RATIO = 0.5;

export class TwoQPolicy implements ReplacementPolicy {
  readonly name = '2q';
  private readonly a1in: SlotList;
  private readonly am: SlotList;
  private readonly keyOf: Float64Array;
  private readonly kin: number;
  private readonly amCapacity: number;
  private readonly ghosts: KeyIndex;
  /** A1out in FIFO order, over the ghost entries. */
  private readonly a1out: SlotList;
  /** The page miss() saw was in A1out: it goes to Am. */
  private ghostHit = false;
  readonly reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    const links = new SlotLinks(slots);
    this.a1in = new SlotList(links, 1);
    this.am = new SlotList(links, 2);
    this.keyOf = new Float64Array(slots);
    this.kin = Math.floor(capacity * IN_RATIO);
    this.amCapacity = capacity - this.kin;
    const kout = Math.floor(capacity * OUT_RATIO);
    this.ghosts = new KeyIndex(kout);
    this.a1out = new SlotList(new SlotLinks(kout), 1);
  }

  get size(): number {
    return this.a1in.size + this.am.size;
  }

  get activeCount(): number {
    return this.am.size;
  }

  get inactiveCount(): number {
    return this.a1in.size;
  }

  has(slot: number): boolean {
    return this.a1in.links.owner[slot] !== 0;
  }

  miss(key: number): void {
    const entry = this.ghosts.find(key);
    this.ghostHit = entry !== NO_ENTRY;
    if (this.ghostHit) this.dropGhost(entry);
  }

  canInsert(): boolean {
    return this.kin >= 1;
  }

  /** Am.get(x) evicts Am's LRU page while |Am| ≥ C − Kin before x goes in. */
  needsRoom(): boolean {
    return this.ghostHit && this.am.size > 0 && this.am.size >= this.amCapacity;
  }

  insert(slot: number, key: number, flags: number): void {
    this.keyOf[slot] = key;
    if ((flags & INSERT_PREFETCH) !== 0) this.a1in.pushHead(slot);
    else if (this.ghostHit) this.am.pushTail(slot);
    else this.a1in.pushTail(slot);
    this.ghostHit = false;
  }

  access(slot: number): boolean {
    if (this.am.has(slot)) this.am.moveToTail(slot);
    return false;
  }

  remove(slot: number): void {
    if (this.a1in.has(slot)) this.a1in.remove(slot);
    else this.am.remove(slot);
  }

  victim(): number {
    // Between miss() on an A1out id and its insert, a cache that is not full
    // evicts for Am.get only (the replay's needsRoom); otherwise this is
    // TwoQ's own eviction.
    if (this.ghostHit && this.size < this.capacity && this.am.size > 0) return this.am.popHead();
    if (this.a1in.size > this.kin || this.am.size === 0) {
      const slot = this.a1in.popHead();
      if (slot !== NIL) this.addGhost(this.keyOf[slot]);
      return slot;
    }
    return this.am.popHead();
  }

  private addGhost(key: number): void {
    // A1out is libCacheSim's FIFO sub-cache: an id already there is a hit, nothing moves.
    if (this.ghosts.capacity === 0 || this.ghosts.find(key) !== NO_ENTRY) return;
    if (this.ghosts.full) this.dropGhost(this.a1out.head);
    this.a1out.pushTail(this.ghosts.add(key));
  }

  private dropGhost(entry: number): void {
    this.a1out.remove(entry);
    this.ghosts.delete(entry);
  }
}

export const twoQ: PolicyFactory = {
  name: '2q',
  description: '2Q: FIFO A1in for pages seen once, ghost A1out, LRU Am for pages seen again',
  create: (capacity, slots) => new TwoQPolicy(capacity, slots),
};
