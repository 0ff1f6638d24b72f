/**
 * LIRS (Jiang & Zhang, SIGMETRICS'02) as libCacheSim's LIRS.c does it, a
 * port of Cacheus's (cache-policies.md §5.6). hirs_limit = max(1,
 * floor(C/100)) resident HIR blocks, lirs_limit = C − hirs_limit LIR blocks.
 *
 * - S: an LRU stack of LIR blocks, resident HIR blocks and non-resident HIR
 *   blocks (ids only). Pruning removes HIR entries from the bottom until a
 *   LIR block is there (never the top entry). After every request, while
 *   |S| > 2C, the oldest entry of NH (the non-resident entries of S in the
 *   order they became non-resident) leaves S.
 * - Q: an LRU of the resident HIR blocks: the eviction candidates.
 * - evictLIR: the bottom LIR block of S becomes a resident HIR block at Q's
 *   MRU end (Q's LRU block is evicted first if Q is full), then S is pruned.
 * - evictHIR: Q's LRU block is evicted; its entry in S, if any, becomes
 *   non-resident.
 *
 * Cases: a LIR hit moves the block to the top of S and prunes. A hit on a
 * resident HIR block in S makes it LIR (leaving Q) after evictLIR while the
 * LIR set is full. A hit on a resident HIR block only in Q moves it to Q's
 * MRU end, runs evictLIR while the LIR set is full (libCacheSim; the paper
 * demotes nothing here, so libCacheSim's LIR set shrinks and later new
 * blocks become LIR directly) and pushes it on S. A miss on a non-resident
 * block of S: evictLIR while the LIR set is full, and it becomes a resident
 * LIR block. A miss on a new block: if both sets are full, evictHIR until Q
 * has room; it becomes LIR if the LIR set has room, else a resident HIR block
 * on top of S and at Q's MRU end.
 *
 * libCacheSim evicts in the middle of hits (evictLIR into a full Q) and in
 * can_insert (miss() here): evicted() hands those pages to the replay; live,
 * they stay tracked until victim() returns them, first. One more libCacheSim
 * corner is kept: when hirs_limit is 1 (C < 200), a hit on the only block of
 * Q that demotes a LIR block evicts the hit block itself from Q, yet pushes
 * it on S as resident: it stays cached without counting in libCacheSim's
 * occupancy (a "zombie") until it is hit again (it becomes LIR and counts)
 * or pruned (then it is gone). So the replay gives LIRS spare slots
 * (replaySlots) and LIRS says when it is full by its own count (needsRoom).
 *
 * Active = LIR blocks, inactive = resident HIR blocks (and evicted pages not
 * handed out yet); a resident HIR block becoming LIR on a hit is a
 * reactivation. A prefetched page becomes a resident HIR block at Q's LRU
 * end, not on S: the next victim unless it is used (its first use puts it
 * on S, the second can make it LIR).
 */
import { KeyIndex, NO_ENTRY } from './key-index.js';
import { INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

const HIRS_RATIO = 0.01;

export class LirsPolicy implements ReplacementPolicy {
  readonly name = 'lirs';
  /** S over slots [0, slots) and ghost entries (slots + entry). Head = bottom. */
  private readonly stack: SlotList;
  private readonly stackLinks: SlotLinks;
  /** Q over slots; head = LRU. */
  private readonly queue: SlotList;
  /** Evicted pages not handed out yet (same links as Q: such a page is on neither S nor Q). */
  private readonly evictedList: SlotList;
  private readonly qOwner: Uint8Array;
  /** NH over ghost entries, oldest first. */
  private readonly nonResident: SlotList;
  private readonly ghosts: KeyIndex;
  private readonly isLir: Uint8Array;
  private readonly keyOf: Float64Array;
  private readonly hirsLimit: number;
  private readonly lirsLimit: number;
  /** libCacheSim's lirs_limit, which is 0 for C = 1 (it then caches nothing). */
  private readonly exactLirsLimit: number;
  private lirs = 0;
  /** Resident HIR blocks on S only (see above). */
  private zombies = 0;
  /** Between miss() and insert(): the missed key, and its non-resident entry of S (or NO_ENTRY). */
  private missPending = false;
  private missedKey = -1;
  private missEntry = NO_ENTRY;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    this.hirsLimit = Math.max(1, Math.floor(capacity * HIRS_RATIO));
    this.exactLirsLimit = capacity - this.hirsLimit;
    this.lirsLimit = Math.max(1, this.exactLirsLimit);
    // Non-resident entries are bounded by |S| ≤ 2C (after each request, plus
    // one push), and live by the resident pages on S (at most `slots`).
    const ghostCapacity = 2 * capacity + slots + 2;
    this.ghosts = new KeyIndex(ghostCapacity);
    this.stackLinks = new SlotLinks(slots + ghostCapacity);
    this.stack = new SlotList(this.stackLinks, 1);
    const qLinks = new SlotLinks(slots);
    this.qOwner = qLinks.owner;
    this.queue = new SlotList(qLinks, 1);
    this.evictedList = new SlotList(qLinks, 2);
    this.nonResident = new SlotList(new SlotLinks(ghostCapacity), 1);
    this.isLir = new Uint8Array(slots);
    this.keyOf = new Float64Array(slots);
  }

  get size(): number {
    return this.lirs + this.queue.size + this.zombies + this.evictedList.size;
  }

  get activeCount(): number {
    return this.lirs;
  }

  get inactiveCount(): number {
    return this.queue.size + this.zombies + this.evictedList.size;
  }

  has(slot: number): boolean {
    return this.stack.has(slot) || this.qOwner[slot] !== 0;
  }

  /** Resident HIR blocks (on Q or on S only) and evicted ones not handed out: what inactiveCount counts. */
  isInactive(slot: number): boolean {
    return this.qOwner[slot] !== 0 || (this.stack.has(slot) && this.isLir[slot] === 0);
  }

  miss(key: number): void {
    this.missPending = true;
    this.missedKey = key;
    this.missEntry = NO_ENTRY;
    const entry = this.ghosts.find(key);
    if (entry !== NO_ENTRY) {
      // find() moved it to the top of S; can_insert makes room in the LIR set.
      this.stack.moveToTail(this.slots + entry);
      if (this.nonResident.has(entry)) this.nonResident.remove(entry);
      this.missEntry = entry;
      while (this.lirs + 1 > this.lirsLimit) this.evictLir(NIL);
      return;
    }
    if (this.exactLirsLimit < 1) return; // libCacheSim refuses the page (canInsert)
    if (this.lirs + 1 > this.lirsLimit && this.queue.size + 1 > this.hirsLimit) {
      while (this.queue.size + 1 > this.hirsLimit) this.evictHir(NIL);
    }
  }

  canInsert(): boolean {
    return this.exactLirsLimit >= 1 || this.missEntry !== NO_ENTRY;
  }

  /** libCacheSim's occupancy (LIR blocks and Q) is full. */
  needsRoom(): boolean {
    return this.lirs + this.queue.size + 1 > this.capacity;
  }

  evicted(): number {
    return this.evictedList.popHead();
  }

  insert(slot: number, key: number, flags: number): void {
    this.keyOf[slot] = key;
    this.isLir[slot] = 0;
    let entry = NO_ENTRY;
    if (this.missPending && key === this.missedKey) entry = this.missEntry;
    else this.forgetGhost(this.ghosts.find(key)); // inserted without miss(): a stale entry must not stay on S
    this.missPending = false;
    this.missEntry = NO_ENTRY;
    if ((flags & INSERT_PREFETCH) !== 0) {
      this.forgetGhost(entry);
      this.queue.pushHead(slot);
    } else if (entry !== NO_ENTRY) {
      // A non-resident HIR block of S comes back as LIR, where its entry is (the top).
      this.replaceOnStack(this.slots + entry, slot);
      this.ghosts.delete(entry);
      this.isLir[slot] = 1;
      this.lirs++;
    } else if (this.lirs + 1 <= this.lirsLimit) {
      this.stack.pushTail(slot);
      this.isLir[slot] = 1;
      this.lirs++;
    } else {
      this.stack.pushTail(slot);
      this.queue.pushTail(slot);
    }
    this.limitStack();
  }

  access(slot: number): boolean {
    if (this.isLir[slot] === 1) {
      this.stack.moveToTail(slot);
      this.prune();
      this.limitStack();
      return false;
    }
    if (this.qOwner[slot] === this.evictedList.id) {
      // Evicted during an earlier call but still held (live only): it comes back like a miss.
      this.evictedList.remove(slot);
      const key = this.keyOf[slot];
      this.miss(key);
      this.insert(slot, key, 0);
      return false;
    }
    const inQueue = this.queue.has(slot);
    if (this.stack.has(slot)) {
      // Resident HIR block in S: it becomes LIR.
      this.stack.moveToTail(slot);
      if (inQueue) this.queue.remove(slot);
      else this.zombies--;
      while (this.lirs + 1 > this.lirsLimit) this.evictLir(NIL);
      this.isLir[slot] = 1;
      this.lirs++;
      this.limitStack();
      this.reactivations++;
      return true;
    }
    // Resident HIR block only in Q.
    this.queue.moveToTail(slot);
    while (this.lirs + 1 > this.lirsLimit) this.evictLir(slot);
    if (!this.queue.has(slot)) this.zombies++;
    this.stack.pushTail(slot);
    this.limitStack();
    return false;
  }

  remove(slot: number): void {
    if (this.qOwner[slot] === this.evictedList.id) {
      this.evictedList.remove(slot);
      return;
    }
    if (!this.stack.has(slot)) {
      this.queue.remove(slot);
      return;
    }
    this.stack.remove(slot);
    if (this.isLir[slot] === 1) {
      this.isLir[slot] = 0;
      this.lirs--;
      this.prune();
    } else if (this.queue.has(slot)) {
      this.queue.remove(slot);
    } else {
      this.zombies--;
    }
  }

  victim(): number {
    for (;;) {
      const done = this.evictedList.popHead();
      if (done !== NIL) return done;
      if (this.size === 0) return NIL;
      if (this.missPending && this.missEntry !== NO_ENTRY && this.lirs > 0) {
        // LIRS_evict for a non-resident block of S (called again until something is evicted).
        while (this.queue.size >= this.hirsLimit) this.evictHir(NIL);
        this.evictLir(NIL);
      } else if (this.queue.size > 0) {
        // LIRS_evict for a new block (both sets full), and the live rule: Q's LRU block.
        this.evictHir(NIL);
      } else if (!this.evictLir(NIL)) {
        return this.dropZombie();
      }
    }
  }

  /** evictLIR; false when S holds no LIR block. `hit` is the block being hit, if any (see evictHir). */
  private evictLir(hit: number): boolean {
    const next = this.stackLinks.next;
    let slot = this.stack.head;
    // After pruning the bottom is a LIR block; walk up only if something left it otherwise.
    while (slot !== NIL && !(slot < this.slots && this.isLir[slot] === 1)) slot = next[slot];
    if (slot === NIL) return false;
    this.stack.remove(slot);
    this.isLir[slot] = 0;
    this.lirs--;
    while (this.queue.size + 1 > this.hirsLimit) this.evictHir(hit);
    this.queue.pushTail(slot);
    this.prune();
    return true;
  }

  /** evictHIR: Q's LRU block leaves the cache; its entry in S, if any, becomes non-resident. */
  private evictHir(hit: number): void {
    const slot = this.queue.popHead();
    if (slot === NIL || slot === hit) return; // hit: libCacheSim's zombie, which the caller pushes on S, still cached
    if (this.stack.has(slot)) {
      const entry = this.addGhost(this.keyOf[slot]);
      if (entry === NO_ENTRY) this.stack.remove(slot);
      else {
        this.replaceOnStack(slot, this.slots + entry);
        this.nonResident.pushTail(entry);
      }
    }
    this.evictedList.pushTail(slot);
  }

  private prune(): void {
    const stack = this.stack;
    for (let bottom = stack.head; bottom !== NIL && bottom !== stack.tail; bottom = stack.head) {
      if (bottom < this.slots) {
        if (this.isLir[bottom] === 1) return;
        stack.remove(bottom);
        if (!this.queue.has(bottom)) {
          // A zombie off S is no longer cached in libCacheSim.
          this.zombies--;
          this.evictedList.pushTail(bottom);
        }
      } else {
        this.forgetGhost(bottom - this.slots);
      }
    }
  }

  private limitStack(): void {
    const limit = 2 * this.capacity;
    while (this.stack.size > limit && this.nonResident.size > 0) this.forgetGhost(this.nonResident.head);
  }

  /** Live only, and only when nothing else is left: a zombie off S. */
  private dropZombie(): number {
    const next = this.stackLinks.next;
    for (let slot = this.stack.head; slot !== NIL; slot = next[slot]) {
      if (slot < this.slots && this.isLir[slot] === 0 && !this.queue.has(slot)) {
        this.stack.remove(slot);
        this.zombies--;
        return slot;
      }
    }
    return NIL;
  }

  private addGhost(key: number): number {
    if (this.ghosts.full) {
      // Unreachable by the bound above; kept so that S can never overflow the table.
      if (this.nonResident.size === 0) return NO_ENTRY;
      this.forgetGhost(this.nonResident.head);
    }
    return this.ghosts.add(key);
  }

  /** A non-resident entry leaves S, NH and the table. */
  private forgetGhost(entry: number): void {
    if (entry === NO_ENTRY) return;
    if (this.stack.has(this.slots + entry)) this.stack.remove(this.slots + entry);
    if (this.nonResident.has(entry)) this.nonResident.remove(entry);
    this.ghosts.delete(entry);
  }

  /** Put `incoming` where `outgoing` is on S. */
  private replaceOnStack(outgoing: number, incoming: number): void {
    const { next, prev, owner } = this.stackLinks;
    const stack = this.stack;
    const p = prev[outgoing];
    const n = next[outgoing];
    prev[incoming] = p;
    next[incoming] = n;
    owner[incoming] = stack.id;
    if (p !== NIL) next[p] = incoming;
    else stack.head = incoming;
    if (n !== NIL) prev[n] = incoming;
    else stack.tail = incoming;
    next[outgoing] = NIL;
    prev[outgoing] = NIL;
    owner[outgoing] = 0;
  }
}

export const lirs: PolicyFactory = {
  name: 'lirs',
  description: "LIRS: LIR blocks by inter-reference recency, HIR blocks in a small queue (libCacheSim's variant)",
  create: (capacity, slots) => new LirsPolicy(capacity, slots),
  // Room for libCacheSim's zombies (see above).
  replaySlots: (capacity) => 2 * capacity + 1,
};
