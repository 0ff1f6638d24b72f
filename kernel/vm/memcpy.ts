/**
 * pager_memcpy: copy any byte range between a buffer and a memory object
 * through the page cache. Resident, accessible pages are copied at once
 * (copySync: no promise, no timer, the cache-hit path); the first page that
 * needs a fault ends the synchronous part and memcpy takes over, faulting
 * page by page. A pager error ends the copy with that errno and the count
 * of bytes done, as pager_memcpy returns it with *size. A read fault of a
 * sequential stream also starts read-ahead (readahead.ts).
 */
import { performance } from 'node:perf_hooks';
import type { FaultWait } from './fault-wait.js';
import type { Kernel } from './kernel.js';
import type { VmObject } from './object.js';
import { VM_PROT_WRITE, type VmProt } from './prot.js';
import { firstTouch, readAheadAfterFault, readAheadAtFault } from './readahead.js';
import { PG_ABSENT, PG_BUSY, PG_CLUSTERED, PG_ERROR, PG_READAHEAD } from './resident.js';
import { faultPage, lookupThroughChain, needsPush } from './shadow.js';
import { zeroFill } from './fault.js';

export interface MemcpyResult {
  /** Bytes copied. */
  bytes: number;
  /** 0, or the errno that stopped the copy (EIO, ENOSPC, EDQUOT). */
  error: number;
}

const NIL = -1;
const UNUSABLE = PG_BUSY | PG_ABSENT;
const FRESH = PG_READAHEAD | PG_CLUSTERED;
/** The fewest pages a sequential writer's fault asks for past what it writes (writeCluster). */
const WRITE_AHEAD_MIN_PAGES = 16;

/**
 * Copy between `buffer` and the object at `offset` while every page is
 * resident and allows `access` (READ: object → buffer; WRITE: buffer →
 * object). Returns the bytes copied; fewer than buffer.length means the
 * page at offset + result needs a fault.
 */
export function copySync(vm: Kernel, object: VmObject, offset: number, buffer: Uint8Array, access: VmProt): number {
  const length = buffer.length;
  let done = 0;
  while (done < length) {
    const n = copyPage(vm, object, offset + done, buffer, done, access, true);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Copy the rest of `buffer` (from byte `done` on), faulting pages in as
 * needed. Whether the copy continues a stream is noteAccess's verdict
 * (readahead.ts), made before copySync.
 */
export async function memcpy(
  vm: Kernel,
  object: VmObject,
  offset: number,
  buffer: Uint8Array,
  access: VmProt,
  done: number,
  wait?: FaultWait,
): Promise<MemcpyResult> {
  const pageSize = vm.pageSize;
  const length = buffer.length;
  const lastPage = Math.floor((offset + length - 1) / pageSize);
  while (done < length) {
    const pageIndex = Math.floor((offset + done) / pageSize);
    const want = lastPage - pageIndex + 1;
    vm.stats.lookups++;
    vm.stats.faults++;
    object.stats.faults++;
    const started = performance.now();
    // The page can be taken away between the fault's wake-up and our turn
    // (pageout ran in between): then it is simply faulted again.
    let copied: number;
    // A sequential writer's fault asks for the pages it will write next too (writeCluster).
    const cluster = (access & VM_PROT_WRITE) !== 0 ? writeCluster(vm, object, want) : want;
    do {
      // Not for a write: read ahead of a write, a pager that supplies pages past a file's end
      // write-locked (to allocate them at unlock) fills the cache with pages nobody wrote.
      const ahead = (access & VM_PROT_WRITE) === 0 && readAheadAtFault(vm, object, pageIndex);
      const faulted = faultPage(vm, object, pageIndex, access, cluster, cluster, wait);
      // The fault has sent its request (if it needed one) before its first wait: the window
      // ahead goes after it.
      if (ahead) readAheadAfterFault(vm, object, pageIndex, want);
      const error = await faulted;
      if (error !== 0) {
        object.readAhead.reset();
        vm.stats.faultLatency.record((performance.now() - started) * 1000);
        return { bytes: done, error };
      }
      copied = copyPage(vm, object, offset + done, buffer, done, access, false);
    } while (copied === 0);
    vm.stats.faultLatency.record((performance.now() - started) * 1000);
    done += copied;
    if (done < length) done += copySync(vm, object, offset + done, buffer.subarray(done), access);
  }
  return { bytes: done, error: 0 };
}

/**
 * How many pages a write fault asks for, from the faulting page on: the
 * pages the copy wants, and on a sequential stream (noteAccess) as many
 * again, at least WRITE_AHEAD_MIN_PAGES, up to the cluster limit. They are
 * part of the request, not read-ahead: pages the pager has no data for
 * (past a file's end, promised room) stay absent, and the writer's next
 * copies zero-fill them without a message (fault.ts), as XNU's cluster_write
 * zero-fills the rest of a cluster past EOF; pages it has data for come in
 * as a cluster's do. A writer that stops leaves the rest absent, taking no
 * frame (reclaimed when placeholders run low).
 */
function writeCluster(vm: Kernel, object: VmObject, want: number): number {
  if (!object.readAhead.sequential) return want;
  return Math.max(want, Math.min(vm.maxClusterPages, want + Math.max(want, WRITE_AHEAD_MIN_PAGES)));
}

/**
 * Copy the part of the page at `offset` that buffer[at...] covers, if the
 * page is resident and allows `access`; 0 if not. The policy hears of the
 * access. `lookup`: count it as a lookup, and as a hit unless the page is
 * fresh from read-ahead or a cluster (after a fault, the fault counted it).
 */
function copyPage(vm: Kernel, object: VmObject, offset: number, buffer: Uint8Array, at: number, access: VmProt, lookup: boolean): number {
  const pages = vm.pages;
  const pageSize = vm.pageSize;
  const pageIndex = Math.floor(offset / pageSize);
  const write = (access & VM_PROT_WRITE) !== 0;
  let d = pages.lookup(object.id, pageIndex);
  // Reads of a page the object does not hold come from its shadow chain (shared in the cache).
  if (object.shadow !== undefined && !write && (d === NIL || (pages.flags[d] & UNUSABLE) !== 0)) d = lookupThroughChain(vm, object, pageIndex);
  if (d === NIL) return 0;
  let flags = pages.flags[d];
  let zeroFilled = false;
  // A write to a page its pager has no data for (the rest of a sequential writer's cluster, past
  // the end) zero-fills it here, as the fault would, without leaving the synchronous path.
  if (write && (flags & (UNUSABLE | PG_ERROR)) === PG_ABSENT && object.shadow === undefined && object.copy === undefined) {
    if (!zeroFill(vm, object, d)) return 0;
    vm.stats.faults++;
    object.stats.faults++;
    d = pages.lookup(object.id, pageIndex);
    flags = pages.flags[d];
    zeroFilled = true;
  }
  if ((flags & UNUSABLE) !== 0 || (pages.pageLock[d] & access) !== 0) return 0;
  if ((flags & FRESH) !== 0) firstTouch(vm, object, d, flags);
  else if (lookup && !zeroFilled) {
    vm.stats.hits++;
    object.stats.hits++;
  }
  if (lookup) vm.stats.lookups++;
  // The first write to a page a delayed copy has not got yet pushes it there first (a fault does).
  if (write && object.copy !== undefined && needsPush(object, pageIndex)) return 0;
  const inPage = offset - pageIndex * pageSize;
  const n = Math.min(pageSize - inPage, buffer.length - at);
  const chunk = pages.chunkOf(d);
  const start = pages.chunkOffset(d) + inPage;
  if (write) {
    chunk.set(buffer.subarray(at, at + n), start);
    vm.setDirty(d, object);
  } else {
    buffer.set(chunk.subarray(start, start + n), at);
  }
  // A wired page is out of the policy (wire.ts untracked it): an access to it is none of the policy's
  // business, and telling it would move a slot it does not hold (LRU's list breaks).
  if (pages.wireCount[d] === 0) vm.policy.access(d - pages.fictitiousCount);
  return n;
}
