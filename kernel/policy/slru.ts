/**
 * Segmented LRU with 4 equal segments, S4LRU(25:25:25:25), as libCacheSim's
 * SLRU does it (cache-policies.md §5.10; where that text is loose this
 * follows libCacheSim's SLRU.c, which the reference figures come from).
 * Segment i is an LRU of at most floor(C/4) pages; segment 3 is the top.
 *
 * - A miss goes to the MRU end of the lowest segment with room (so while the
 *   cache fills, pages land in higher segments), or of segment 0 when none
 *   has room. Segment 0 may then hold one page more than its size: the four
 *   sizes add up to less than C when 4 does not divide C.
 * - A hit in the top segment moves the page to its MRU end; any other hit
 *   promotes the page to the MRU end of the next segment. While that segment
 *   is over its size, its LRU page is demoted to the MRU end of the segment
 *   below, and so on down; a demotion that leaves segment 0 over its size
 *   evicts segment 0's LRU page, during the hit (evicted() hands it out).
 * - Evicting takes the LRU page of the lowest non-empty segment.
 *
 * Active = segments 1 to 3, inactive = segment 0 (the probationary one);
 * the promotion from 0 to 1 is a reactivation. A prefetched page goes to the
 * LRU end of segment 0: the next victim unless it is used first. Pages
 * evicted during a hit but not yet handed out count as inactive; victim()
 * returns them first.
 *
 * Too small a cache: libCacheSim caches nothing while floor(C/4) < 1 (C < 4;
 * canInsert() tells the replay); live, segments then hold one page each.
 */
import { INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

const SEGMENTS = 4;

export class SlruPolicy implements ReplacementPolicy {
  readonly name = 'slru';
  /** segments[0] is the lowest; SlotList head = the LRU end. */
  private readonly segments: SlotList[];
  /** Evicted by a demotion cascade, not handed out yet. */
  private readonly evictedList: SlotList;
  private readonly owner: Uint8Array;
  private readonly segmentSize: number;
  /** libCacheSim's segment size, floor(C/4), which may be 0. */
  private readonly exactSegmentSize: number;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    const links = new SlotLinks(slots);
    this.owner = links.owner;
    this.segments = [];
    for (let i = 0; i < SEGMENTS; i++) this.segments.push(new SlotList(links, i + 1));
    this.evictedList = new SlotList(links, SEGMENTS + 1);
    this.exactSegmentSize = Math.floor(capacity / SEGMENTS);
    this.segmentSize = Math.max(1, this.exactSegmentSize);
  }

  get size(): number {
    let n = this.evictedList.size;
    for (const segment of this.segments) n += segment.size;
    return n;
  }

  get activeCount(): number {
    let n = 0;
    for (let i = 1; i < SEGMENTS; i++) n += this.segments[i].size;
    return n;
  }

  get inactiveCount(): number {
    return this.segments[0].size + this.evictedList.size;
  }

  has(slot: number): boolean {
    return this.owner[slot] !== 0;
  }

  isInactive(slot: number): boolean {
    return this.segments[0].has(slot) || this.evictedList.has(slot);
  }

  canInsert(): boolean {
    return this.exactSegmentSize >= 1;
  }

  insert(slot: number, _key: number, flags: number): void {
    if ((flags & INSERT_PREFETCH) !== 0) {
      this.segments[0].pushHead(slot);
      return;
    }
    this.segments[this.lowestWithRoom()].pushTail(slot);
  }

  access(slot: number): boolean {
    const id = this.owner[slot] - 1;
    if (id === SEGMENTS) {
      // Evicted during an earlier hit but still held (live only): it comes back like a miss.
      this.evictedList.remove(slot);
      this.segments[this.lowestWithRoom()].pushTail(slot);
      return false;
    }
    const segments = this.segments;
    if (id === SEGMENTS - 1) {
      segments[id].moveToTail(slot);
      return false;
    }
    segments[id].remove(slot);
    segments[id + 1].pushTail(slot);
    while (segments[id + 1].size > this.segmentSize) this.cool(id + 1);
    if (id !== 0) return false;
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    const id = this.owner[slot] - 1;
    if (id === SEGMENTS) this.evictedList.remove(slot);
    else this.segments[id].remove(slot);
  }

  victim(): number {
    const slot = this.evictedList.popHead();
    return slot !== NIL ? slot : this.evictLowest();
  }

  evicted(): number {
    return this.evictedList.popHead();
  }

  private lowestWithRoom(): number {
    for (let i = 0; i < SEGMENTS; i++) if (this.segments[i].size < this.segmentSize) return i;
    return 0;
  }

  private evictLowest(): number {
    for (const segment of this.segments) if (segment.size > 0) return segment.popHead();
    return NIL;
  }

  /** libCacheSim's SLRU_cool: demote segment id's LRU page one segment down; from segment 0, evict. */
  private cool(id: number): void {
    if (id === 0) {
      const slot = this.evictLowest();
      if (slot !== NIL) this.evictedList.pushTail(slot);
      return;
    }
    const segments = this.segments;
    const slot = segments[id].popHead();
    segments[id - 1].pushTail(slot);
    while (segments[id - 1].size > this.segmentSize) this.cool(id - 1);
  }
}

export const slru: PolicyFactory = {
  name: 'slru',
  description: 'S4LRU: four LRU segments; a hit promotes a page one segment up, overflow demotes one down',
  create: (capacity, slots) => new SlruPolicy(capacity, slots),
};
