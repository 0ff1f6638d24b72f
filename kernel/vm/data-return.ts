/**
 * Sending pages back with memory_object_data_return, and the laundry.
 *
 * A page in a data_return stays in kernel memory until the pager receives
 * the message, as its frame in the laundry (Mach's laundry pages): the
 * frame is not free and is counted against the pool, so a pager that does
 * not take returned pages cannot make the kernel hold more page data than
 * it has frames. The message's data is copied out of the laundry frames
 * when it is received (Mach's copyout of out-of-line memory) and the frames
 * go back to the free list then.
 *
 * An external pager's pages stay laundry after that, until the pager gives
 * the message's memory back (vm_deallocate, once it has written them; in
 * GNU Mach the laundry page is freed only when the pager deallocates it):
 * they count against externalLaundryMax as `externalWriting`, so a pager
 * that receives promptly but writes slowly is sent no more than that, and
 * the pageout daemon double-pages to the default pager when memory is short.
 */
import type { Kernel } from './kernel.js';
import type { MemoryObjectDataInitialize, MemoryObjectDataReturn } from './memory-object-defs.js';
import type { VmObject } from './object.js';
import { PG_INITIAL, PG_LAUNDRY } from './resident.js';

/** PAGEOUT_PAGES / DATA_WRITE_MAX: the most pages in one data_return. */
export const DATA_WRITE_MAX = 32;

export type LaundryKind = 'external' | 'default';

/**
 * Send frames (already out of any object, data in place) back to
 * `object`'s pager as one data_return at page index `firstPage`. The frames
 * are laundry until the message is received or destroyed.
 */
export function sendDataReturn(
  vm: Kernel,
  object: VmObject,
  firstPage: number,
  frames: readonly number[],
  dirty: boolean,
  kernelCopy: boolean,
): void {
  const pages = vm.pages;
  // Pages pushed into a copy object and not written since go out as memory_object_data_initialize
  // (vm_pageout_page with initial): the pager keeps what it has if it already has the page.
  const initial = (pages.flags[frames[0]] & PG_INITIAL) !== 0;
  let run = 1;
  while (run < frames.length && ((pages.flags[frames[run]] & PG_INITIAL) !== 0) === initial) run++;
  if (run < frames.length) {
    sendDataReturn(vm, object, firstPage, frames.slice(0, run), dirty, kernelCopy);
    sendDataReturn(vm, object, firstPage + run, frames.slice(run), dirty, kernelCopy);
    return;
  }
  const kind: LaundryKind = object.internal ? 'default' : 'external';
  for (const d of frames) pages.flags[d] = PG_LAUNDRY;
  vm.pageout.laundrySent(kind, (kind === 'external' ? vm.externalLaundry : vm.defaultLaundry) === 0);
  if (kind === 'external') {
    vm.externalLaundry += frames.length;
    object.laundry += frames.length;
  } else vm.defaultLaundry += frames.length;

  const msg: MemoryObjectDataReturn | MemoryObjectDataInitialize = initial && dirty
    ? { id: 'memory_object_data_initialize', dest: object.pager, control: object.control, offset: firstPage * vm.pageSize, data: EMPTY }
    : {
        id: 'memory_object_data_return',
        dest: object.pager,
        control: object.control,
        offset: firstPage * vm.pageSize,
        data: EMPTY,
        dirty,
        kernelCopy,
      };
  const release = (delivered: boolean): void => {
    if (delivered) msg.data = gather(vm, frames);
    for (const d of frames) pages.release(d);
    if (kind === 'external') {
      vm.externalLaundry -= frames.length;
      if (delivered) {
        vm.externalWriting += frames.length;
        vm.ipc.memory.watch(msg.data, writtenBack(vm, object, frames.length));
      } else object.laundry -= frames.length;
    } else vm.defaultLaundry -= frames.length;
    vm.pageout.laundryReleased(kind);
  };
  vm.stats.data_returns++;
  vm.stats.pageouts += frames.length;
  object.stats.pageouts += frames.length;
  if (!object.hasPager() || !vm.send(msg, { onRelease: release })) {
    // The pager is gone: nobody will ever take these pages.
    vm.stats.pages_lost += dirty ? frames.length : 0;
    release(false);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * What to do when a pager gives back a data_return's memory. A function of
 * its own so that the closure holds only these values, never the message
 * or its data (a watch that held the buffer would keep it from the collector).
 */
function writtenBack(vm: Kernel, object: VmObject, count: number): () => void {
  return () => {
    vm.externalWriting -= count;
    object.laundry -= count;
    vm.pageout.laundryReleased('external');
  };
}

function gather(vm: Kernel, frames: readonly number[]): Buffer {
  const pageSize = vm.pageSize;
  const data = vm.ipc.memory.allocate(frames.length * pageSize);
  for (let i = 0; i < frames.length; i++) {
    const d = frames[i];
    const chunk = vm.pages.chunkOf(d);
    const start = vm.pages.chunkOffset(d);
    chunk.copy(data, i * pageSize, start, start + pageSize);
  }
  return data;
}

/**
 * A run of pages being collected for one data_return: contiguous page
 * indexes, one kind (dirty, or clean precious), at most DATA_WRITE_MAX.
 */
export class ReturnBatch {
  private frames: number[] = [];
  private first = -1;
  private dirty = false;

  constructor(
    private readonly vm: Kernel,
    private readonly object: VmObject,
    private readonly kernelCopy: boolean,
  ) {}

  /** Whether a page at `pageIndex` of kind `dirty` would extend this batch. */
  fits(pageIndex: number, dirty: boolean): boolean {
    return (
      this.frames.length === 0 ||
      (pageIndex === this.first + this.frames.length && dirty === this.dirty && this.frames.length < DATA_WRITE_MAX)
    );
  }

  add(pageIndex: number, frame: number, dirty: boolean): void {
    if (!this.fits(pageIndex, dirty)) this.flush();
    if (this.frames.length === 0) {
      this.first = pageIndex;
      this.dirty = dirty;
    }
    this.frames.push(frame);
  }

  /** Send what has been collected. */
  flush(): void {
    if (this.frames.length === 0) return;
    sendDataReturn(this.vm, this.object, this.first, this.frames, this.dirty, this.kernelCopy);
    this.frames = [];
    this.first = -1;
  }
}
