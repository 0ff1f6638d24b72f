/**
 * GNU Mach's own page queues (vm/vm_page.c since 2016): an active and an
 * inactive queue, each split into external pages (backed by a memory
 * manager) and internal ones (anonymous, backed by the default pager).
 *
 * - Pages supplied for a fault go to the active tail with the reference bit
 *   set; pages supplied unasked (prefetch, offer) go to the inactive tail.
 * - Refill: while active pages exceed 1/3 of all pages, the oldest active
 *   page (external first) moves to the inactive tail, its reference bit
 *   cleared.
 * - A fault on an inactive page reactivates it (vm_fault_page); a hit on an
 *   active page sets its reference bit.
 * - Eviction order: inactive external, inactive internal, active external,
 *   active internal, oldest first. An inactive page whose reference bit is
 *   set gets a second chance: back to the active tail, counted as a
 *   reactivation.
 */
import { INSERT_INTERNAL, INSERT_PREFETCH, type PolicyFactory, type ReplacementPolicy } from './policy.js';
import { NIL, SlotLinks, SlotList } from './slot-list.js';

const HIGH_ACTIVE_NUM = 1;
const HIGH_ACTIVE_DENOM = 3;

export class MachPolicy implements ReplacementPolicy {
  readonly name = 'mach';
  private readonly activeExternal: SlotList;
  private readonly activeInternal: SlotList;
  private readonly inactiveExternal: SlotList;
  private readonly inactiveInternal: SlotList;
  private readonly reference: Uint8Array;
  private readonly internal: Uint8Array;
  reactivations = 0;

  constructor(
    readonly capacity: number,
    readonly slots = capacity,
  ) {
    const links = new SlotLinks(slots);
    this.activeExternal = new SlotList(links, 1);
    this.activeInternal = new SlotList(links, 2);
    this.inactiveExternal = new SlotList(links, 3);
    this.inactiveInternal = new SlotList(links, 4);
    this.reference = new Uint8Array(slots);
    this.internal = new Uint8Array(slots);
  }

  get activeCount(): number {
    return this.activeExternal.size + this.activeInternal.size;
  }

  get inactiveCount(): number {
    return this.inactiveExternal.size + this.inactiveInternal.size;
  }

  get size(): number {
    return this.activeCount + this.inactiveCount;
  }

  has(slot: number): boolean {
    return this.activeExternal.links.owner[slot] !== 0;
  }

  isInactive(slot: number): boolean {
    return this.inactiveExternal.has(slot) || this.inactiveInternal.has(slot);
  }

  insert(slot: number, _key: number, flags: number): void {
    this.internal[slot] = (flags & INSERT_INTERNAL) !== 0 ? 1 : 0;
    if ((flags & INSERT_PREFETCH) !== 0) {
      this.reference[slot] = 0;
      this.inactiveList(slot).pushTail(slot);
    } else {
      this.activate(slot);
    }
  }

  access(slot: number): boolean {
    const inactive = this.inactiveList(slot);
    if (!inactive.has(slot)) {
      this.reference[slot] = 1;
      return false;
    }
    inactive.remove(slot);
    this.activate(slot);
    this.reactivations++;
    return true;
  }

  remove(slot: number): void {
    this.listOf(slot).remove(slot);
  }

  victim(): number {
    this.refillInactive();
    for (;;) {
      let slot = this.inactiveExternal.head !== NIL ? this.inactiveExternal.head : this.inactiveInternal.head;
      if (slot !== NIL) {
        this.inactiveList(slot).remove(slot);
        if (this.reference[slot] === 1) {
          this.activate(slot);
          this.reactivations++;
          continue;
        }
        return slot;
      }
      slot = this.activeExternal.head !== NIL ? this.activeExternal.head : this.activeInternal.head;
      if (slot !== NIL) this.activeList(slot).remove(slot);
      return slot;
    }
  }

  private refillInactive(): void {
    const high = Math.floor((this.size * HIGH_ACTIVE_NUM) / HIGH_ACTIVE_DENOM);
    while (this.activeCount > high) {
      const slot = this.activeExternal.head !== NIL ? this.activeExternal.head : this.activeInternal.head;
      this.activeList(slot).remove(slot);
      this.reference[slot] = 0;
      this.inactiveList(slot).pushTail(slot);
    }
  }

  private activate(slot: number): void {
    this.reference[slot] = 1;
    this.activeList(slot).pushTail(slot);
  }

  private activeList(slot: number): SlotList {
    return this.internal[slot] === 1 ? this.activeInternal : this.activeExternal;
  }

  private inactiveList(slot: number): SlotList {
    return this.internal[slot] === 1 ? this.inactiveInternal : this.inactiveExternal;
  }

  private listOf(slot: number): SlotList {
    return this.inactiveList(slot).has(slot) ? this.inactiveList(slot) : this.activeList(slot);
  }
}

export const mach: PolicyFactory = {
  name: 'mach',
  description: "GNU Mach's active/inactive queues with second chance (the kernel default)",
  byBytes: true,
  create: (capacity, slots) => new MachPolicy(capacity, slots),
};
