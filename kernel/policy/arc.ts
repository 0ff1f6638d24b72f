/**
 * ARC (Megiddo & Modha, FAST'03), as libCacheSim defines it
 * (cache-policies.md §5.4): two LRU lists of pages, T1 (seen once
 * recently) and T2 (seen at least twice), two LRU lists of ids, B1 and B2
 * (pages evicted from T1 and T2), and the target size p of T1, a double
 * starting at 0.
 *
 * - A hit moves the page to T2's MRU end.
 * - A miss on an id in B1 raises p by max(|B2|/|B1|, 1) (at most C), one in
 *   B2 lowers it by max(|B1|/|B2|, 1) (at least 0); the id leaves its ghost
 *   list (miss() does this), REPLACE makes room and the page enters T2.
 * - REPLACE: T1's LRU page to B1 if T1 is non-empty and larger than p (or
 *   equal to p when the missed id was in B2), or if T2 is empty; otherwise
 *   T2's LRU page to B2.
 * - Any other miss, with the cache full: if |T1| + |B1| + 1 > C, drop B1's
 *   LRU id and REPLACE, or drop T1's LRU page outright when B1 is empty;
 *   otherwise drop B2's LRU id when all four lists hold 2C, and REPLACE. The
 *   page enters T1.
 *
 * In the live kernel evictions come before the page they make room for, so
 * victim() then follows the last rule ("any other miss").
 *
 * Active = T2, inactive = T1; a hit in T1 is the reactivation. A prefetched
 * page enters T1 at its LRU end, even when its id was in a ghost list (it
 * has not been asked for; the ghost hit has still adapted p, since the
 * kernel tells miss() about every page that comes in).
 */
import { KeyIndex, NO_ENTRY } from './key-index.js';
import { INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

export class ArcPolicy implements ReplacementPolicy {
  readonly name = 'arc';
  private readonly t1: SlotList;
  private readonly t2: SlotList;
  private readonly keyOf: Float64Array;
  private readonly ghosts: KeyIndex;
  private readonly b1: SlotList;
  private readonly b2: SlotList;
  /** Target size of T1. */
  private p = 0;
  /** Where the id miss() looked up was: 0 nowhere, 1 in B1, 2 in B2. */
  private missedIn = 0;
  /** The key miss() looked up (insert() need not look it up again). */
  private missedKey = -1;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    const links = new SlotLinks(slots);
    this.t1 = new SlotList(links, 1);
    this.t2 = new SlotList(links, 2);
    this.keyOf = new Float64Array(slots);
    // ARC keeps |T1| + |T2| + |B1| + |B2| ≤ 2C; live caches over capacity
    // (a shrink) may hold more pages, hence the slots. Beyond that the
    // oldest ghost goes (addGhost).
    const ghostCapacity = 2 * capacity + (slots - capacity);
    this.ghosts = new KeyIndex(ghostCapacity);
    const ghostLinks = new SlotLinks(ghostCapacity);
    this.b1 = new SlotList(ghostLinks, 1);
    this.b2 = new SlotList(ghostLinks, 2);
  }

  get size(): number {
    return this.t1.size + this.t2.size;
  }

  get activeCount(): number {
    return this.t2.size;
  }

  get inactiveCount(): number {
    return this.t1.size;
  }

  isInactive(slot: number): boolean {
    return this.t1.has(slot);
  }

  /** T1's target size (for tests and statistics). */
  get target(): number {
    return this.p;
  }

  has(slot: number): boolean {
    return this.t1.links.owner[slot] !== 0;
  }

  miss(key: number): void {
    this.missedKey = key;
    this.missedIn = 0;
    const entry = this.ghosts.find(key);
    if (entry === NO_ENTRY) return;
    const b1 = this.b1.size;
    const b2 = this.b2.size;
    if (this.b1.has(entry)) {
      this.p = Math.min(this.p + Math.max(b2 / b1, 1), this.capacity);
      this.b1.remove(entry);
      this.missedIn = 1;
    } else {
      this.p = Math.max(this.p - Math.max(b1 / b2, 1), 0);
      this.b2.remove(entry);
      this.missedIn = 2;
    }
    this.ghosts.delete(entry);
  }

  insert(slot: number, key: number, flags: number): void {
    this.keyOf[slot] = key;
    if (key !== this.missedKey) this.forgetGhost(key);
    if ((flags & INSERT_PREFETCH) !== 0) this.t1.pushHead(slot);
    else if (this.missedIn !== 0) this.t2.pushTail(slot);
    else this.t1.pushTail(slot);
    this.missedIn = 0;
    this.missedKey = -1;
  }

  access(slot: number): boolean {
    if (this.t2.has(slot)) {
      this.t2.moveToTail(slot);
      return false;
    }
    this.t1.remove(slot);
    this.t2.pushTail(slot);
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    if (this.t1.has(slot)) this.t1.remove(slot);
    else this.t2.remove(slot);
  }

  victim(): number {
    if (this.size === 0) return NIL;
    // A ghost hit (cases II and III): REPLACE.
    if (this.missedIn !== 0) return this.replace();
    // A complete miss (case IV).
    const c = this.capacity;
    if (this.t1.size + this.b1.size + 1 > c) {
      if (this.b1.size > 0) {
        this.dropGhost(this.b1, this.b1.head);
        return this.replace();
      }
      return this.t1.popHead();
    }
    if (this.t1.size + this.b1.size + this.t2.size + this.b2.size >= 2 * c && this.b2.size > 0) this.dropGhost(this.b2, this.b2.head);
    return this.replace();
  }

  private replace(): number {
    const t1 = this.t1.size;
    if ((t1 >= 1 && (t1 > this.p || (t1 === this.p && this.missedIn === 2))) || this.t2.size === 0) {
      const slot = this.t1.popHead();
      this.addGhost(this.b1, this.keyOf[slot]);
      return slot;
    }
    const slot = this.t2.popHead();
    this.addGhost(this.b2, this.keyOf[slot]);
    return slot;
  }

  private addGhost(list: SlotList, key: number): void {
    if (this.ghosts.full) {
      // Unreachable while the cache holds at most `slots` pages; kept so that a ghost list can never overflow.
      if (this.b2.size > 0) this.dropGhost(this.b2, this.b2.head);
      else this.dropGhost(this.b1, this.b1.head);
    }
    list.pushTail(this.ghosts.add(key));
  }

  private dropGhost(list: SlotList, entry: number): void {
    list.remove(entry);
    this.ghosts.delete(entry);
  }

  /** A page inserted without miss() (re-tracked, or another policy's pages) must not also be a ghost. */
  private forgetGhost(key: number): void {
    const entry = this.ghosts.find(key);
    if (entry === NO_ENTRY) return;
    this.dropGhost(this.b1.has(entry) ? this.b1 : this.b2, entry);
  }
}

export const arc: PolicyFactory = {
  name: 'arc',
  description: 'ARC: recency list T1 and frequency list T2 sized adaptively by ghost hits in B1/B2',
  create: (capacity, slots) => new ArcPolicy(capacity, slots),
};
