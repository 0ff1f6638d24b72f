/**
 * The shape 2Q and S3-FIFO share (libCacheSim's TwoQ and S3FIFO): a
 * probationary FIFO for pages seen once (2Q's A1in, S3-FIFO's S), a main
 * queue for pages seen again (Am, M), and a ghost FIFO of the ids the
 * probationary queue gave up (A1out, G).
 *
 * A miss whose id is a ghost (the id leaves the ghost FIFO) goes to main;
 * any other miss to probation's newest end; a prefetched page to
 * probation's oldest end (the next one it gives up: it has not been asked
 * for, even when its id was a ghost). An id already among the ghosts stays
 * where it is (the ghost FIFO is libCacheSim's FIFO sub-cache: a hit there
 * moves nothing). Active = main, inactive = probation. Each policy says
 * how hits count and how it chooses victims.
 */
import { KeyIndex, NO_ENTRY } from './key-index.js';
import { INSERT_PREFETCH, type ReplacementPolicy } from './policy.js';
import { SlotLinks, SlotList } from './slot-list.js';

export abstract class ProbationPolicy implements ReplacementPolicy {
  abstract readonly name: string;
  protected readonly probation: SlotList;
  protected readonly main: SlotList;
  protected readonly keyOf: Float64Array;
  private readonly ghosts: KeyIndex;
  /** The ghost entries in FIFO order. */
  private readonly ghostFifo: SlotList;
  /** The page miss() saw was a ghost: it goes to main. */
  protected ghostHit = false;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots: number,
    ghostCapacity: number,
  ) {
    const links = new SlotLinks(slots);
    this.probation = new SlotList(links, 1);
    this.main = new SlotList(links, 2);
    this.keyOf = new Float64Array(slots);
    this.ghosts = new KeyIndex(ghostCapacity);
    this.ghostFifo = new SlotList(new SlotLinks(ghostCapacity), 1);
  }

  get size(): number {
    return this.probation.size + this.main.size;
  }

  get activeCount(): number {
    return this.main.size;
  }

  get inactiveCount(): number {
    return this.probation.size;
  }

  has(slot: number): boolean {
    return this.probation.links.owner[slot] !== 0;
  }

  isInactive(slot: number): boolean {
    return this.probation.has(slot);
  }

  miss(key: number): void {
    const entry = this.ghosts.find(key);
    this.ghostHit = entry !== NO_ENTRY;
    if (this.ghostHit) this.dropGhost(entry);
  }

  insert(slot: number, key: number, flags: number): void {
    this.keyOf[slot] = key;
    if ((flags & INSERT_PREFETCH) !== 0) this.probation.pushHead(slot);
    else if (this.ghostHit) this.main.pushTail(slot);
    else this.probation.pushTail(slot);
    this.ghostHit = false;
  }

  remove(slot: number): void {
    if (this.probation.has(slot)) this.probation.remove(slot);
    else this.main.remove(slot);
  }

  abstract access(slot: number): boolean;
  abstract victim(): number;

  /** The page in `slot` leaves probation for good: its id becomes a ghost. */
  protected addGhost(slot: number): void {
    const key = this.keyOf[slot];
    if (this.ghosts.capacity === 0 || this.ghosts.find(key) !== NO_ENTRY) return;
    if (this.ghosts.full) this.dropGhost(this.ghostFifo.head);
    this.ghostFifo.pushTail(this.ghosts.add(key));
  }

  private dropGhost(entry: number): void {
    this.ghostFifo.remove(entry);
    this.ghosts.delete(entry);
  }
}
