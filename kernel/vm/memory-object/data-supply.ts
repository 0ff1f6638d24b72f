/**
 * memory_object_data_supply(control, offset, data, lock_value, precious,
 * reply_to): pages for the object, in order. A page that replaces a
 * request's placeholder is activated and its faults woken; a page nobody
 * asked for goes in as inactive (prefetch). A page that is already resident
 * stops the supply: KERN_MEMORY_PRESENT at that offset, the rest ignored
 * (as GNU Mach does). Requests outstanding in the ignored rest are then
 * answered as far as the pager knows: their placeholders go and their
 * faults ask again rather than wait for ever (a late answer to a timed-out
 * request that filled the first pages of a newer one leads here).
 * Inserted pages are clean, with page_lock = lock_value.
 */
import { KERN_INVALID_ARGUMENT, KERN_MEMORY_PRESENT, KERN_SUCCESS } from '../../ipc/kern-return.js';
import { MACH_PORT_NULL } from '../../ipc/message.js';
import { dropPlaceholder, requestDone } from '../fault.js';
import type { Kernel } from '../kernel.js';
import type { MemoryObjectDataSupply, MemoryObjectSupplyCompleted } from '../memory-object-defs.js';
import type { VmObject } from '../object.js';
import { VM_PROT_ALL } from '../prot.js';
import { PG_ABSENT, PG_BUSY, PG_CLUSTERED, PG_HOLDING, PG_PRECIOUS, PG_PREFETCH, PG_READAHEAD, PG_TABLED } from '../resident.js';

const NIL = -1;

export async function dataSupply(vm: Kernel, object: VmObject, msg: MemoryObjectDataSupply): Promise<void> {
  const pageSize = vm.pageSize;
  const data = msg.data;
  if (
    !Buffer.isBuffer(data) ||
    data.length === 0 ||
    data.length % pageSize !== 0 ||
    msg.offset % pageSize !== 0 ||
    (msg.lockValue & ~VM_PROT_ALL) !== 0
  ) {
    vm.protocolError(object, `data_supply at ${msg.offset} of ${data.length} bytes, lock ${msg.lockValue}`);
    completed(vm, object, msg, KERN_INVALID_ARGUMENT, msg.offset);
    return;
  }
  const pages = vm.pages;
  const first = msg.offset / pageSize;
  const count = data.length / pageSize;
  let result = KERN_SUCCESS;
  let errorOffset = 0;
  let frame = NIL;
  for (let i = 0; i < count && object.alive; i++) {
    const pageIndex = first + i;
    for (;;) {
      const d = pages.lookup(object.id, pageIndex);
      const flags = d === NIL ? 0 : pages.flags[d];
      if (d !== NIL && (flags & PG_ABSENT) === 0) {
        if (flags & PG_BUSY) {
          // A holding page: its pageout must be queued first.
          await pages.wait(d);
          continue;
        }
        result = KERN_MEMORY_PRESENT;
        errorOffset = pageIndex * pageSize;
        break;
      }
      if (frame === NIL) frame = vm.grabFrame();
      if (frame === NIL) {
        await vm.waitForFrame();
        if (!object.alive) break;
        continue; // look again: the page may have changed while we waited
      }
      data.copy(pages.chunkOf(frame), pages.chunkOffset(frame), i * pageSize, (i + 1) * pageSize);
      install(vm, object, pageIndex, frame, d, flags, msg);
      frame = NIL;
      break;
    }
    if (result !== KERN_SUCCESS) break;
  }
  if (frame !== NIL) pages.release(frame);
  if (result === KERN_MEMORY_PRESENT) releaseIgnored(vm, object, errorOffset / pageSize + 1, first + count);
  // Copied into frames: memory the pager gave away goes back for reuse.
  if (msg.deallocate) vm.ipc.memory.deallocate(data);
  completed(vm, object, msg, result, errorOffset);
}

function install(
  vm: Kernel,
  object: VmObject,
  pageIndex: number,
  frame: number,
  placeholder: number,
  placeholderFlags: number,
  msg: MemoryObjectDataSupply,
): void {
  const pages = vm.pages;
  if (placeholder !== NIL) pages.replace(placeholder, frame, object);
  else pages.insert(frame, object, pageIndex);
  // Requested pages are activated; unrequested ones (and read-ahead nobody waits on) go inactive.
  const waited = placeholder !== NIL && pages.waiterCount(placeholder) > 0;
  const prefetch = placeholder === NIL || ((placeholderFlags & PG_PREFETCH) !== 0 && !waited);
  // Marked until a demand access (readahead.ts): read-ahead is counted apart from demand hits,
  // and so is the rest of a cluster its fault did not wait on.
  const fresh = prefetch ? PG_READAHEAD : waited ? 0 : PG_CLUSTERED;
  pages.flags[frame] = PG_TABLED | (msg.precious ? PG_PRECIOUS : 0) | fresh;
  if (msg.precious) object.preciousSupplied = true;
  pages.pageLock[frame] = msg.lockValue;
  pages.unlockRequest[frame] = 0;
  object.residentCount++;
  if (prefetch) {
    vm.stats.readahead_pages++;
    object.stats.readahead_pages++;
  }
  vm.pageIn(frame, object, prefetch);
  vm.stats.pageins++;
  object.stats.pageins++;
  if (placeholder !== NIL) {
    if (placeholderFlags & PG_BUSY) requestDone(object);
    pages.wakeup(placeholder, 0);
    pages.release(placeholder);
  }
}

/** Placeholders of outstanding requests in pages [from, end) of a stopped supply: their faults look again. */
function releaseIgnored(vm: Kernel, object: VmObject, from: number, end: number): void {
  const pages = vm.pages;
  for (let pageIndex = from; pageIndex < end; pageIndex++) {
    const d = pages.lookup(object.id, pageIndex);
    if (d === NIL || (pages.flags[d] & (PG_BUSY | PG_ABSENT | PG_HOLDING)) !== (PG_BUSY | PG_ABSENT)) continue;
    dropPlaceholder(vm, object, d, 0);
  }
}

function completed(vm: Kernel, object: VmObject, msg: MemoryObjectDataSupply, result: number, errorOffset: number): void {
  if (msg.replyTo === MACH_PORT_NULL) return;
  vm.reply({
    id: 'memory_object_supply_completed',
    dest: msg.replyTo,
    control: object.control,
    offset: msg.offset,
    length: msg.data.length,
    result,
    errorOffset,
  } satisfies MemoryObjectSupplyCompleted);
}
