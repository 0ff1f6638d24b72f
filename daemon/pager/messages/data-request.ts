/**
 * memory_object_data_request(object, control, offset, length, access): the
 * kernel faults on these pages. Per page:
 * - being written (PM_PAGINGOUT): not read now; PM_PAGEINWAIT, and the
 *   writer supplies the data being written when it is done;
 * - held after a failed write (PM_HELD): supplied from the pager's copy;
 * - stored data invalid (a write failed): data_error EIO;
 * - an error saved for the next write access (a refused unlock) and the
 *   request wants write: data_error with that error;
 * - otherwise read, in runs: one readPage call and one data_supply (or
 *   data_error) per run of pages. Clustered requests ask for many pages.
 * Unlike libpager, the errno the callback gave (EIO, ENOSPC, EDQUOT) is the
 * one the kernel gets, and the page keeps it (getError) until it is read
 * successfully. A run that fails because stored data is damaged is read
 * again page by page: one bad page must not fail its good neighbours (a
 * clustered read-ahead would otherwise spread one EIO over 32 pages).
 */
import {
  EIO,
  MACH_PORT_NULL,
  VM_PROT_NONE,
  VM_PROT_WRITE,
  type MemoryObjectDataError,
  type MemoryObjectDataRequest,
  type MemoryObjectDataSupply,
  type MemoryObjectDataUnavailable,
} from '../../../kernel/index.js';
import { isDamaged, pagerErrno } from '../errors.js';
import { PM_HELD, PM_INCORE, PM_INVALID, PM_PAGEINWAIT, PM_PAGINGOUT } from '../pagemap.js';
import type { Pager } from '../pager.js';
import { validRange } from './validate.js';

export async function dataRequest(pager: Pager, msg: MemoryObjectDataRequest): Promise<void> {
  if (!validRange(pager, msg, msg.offset, msg.length)) return;
  pager.stats.data_requests++;
  pager.noterm++;
  try {
    const pageSize = pager.pageSize;
    const pagemap = pager.pagemap;
    const first = msg.offset / pageSize;
    const count = msg.length / pageSize;
    let runStart = -1;
    const runs: [number, number][] = [];
    const endRun = (page: number): void => {
      if (runStart >= 0) runs.push([runStart, page]);
      runStart = -1;
    };
    for (let page = first; page < first + count; page++) {
      const state = pagemap.get(page);
      if (state & PM_PAGINGOUT) {
        endRun(page);
        pagemap.add(page, PM_PAGEINWAIT);
        continue;
      }
      if (state & PM_HELD) {
        endRun(page);
        pager.writer.supplyHeld(page);
        continue;
      }
      if (state & PM_INVALID) {
        endRun(page);
        dataError(pager, page, 1, EIO);
        continue;
      }
      pagemap.add(page, PM_INCORE);
      const next = pagemap.nextError(page);
      if (next !== 0 && (msg.desiredAccess & VM_PROT_WRITE) !== 0) {
        endRun(page);
        pagemap.setNextError(page, 0);
        dataError(pager, page, 1, next);
        continue;
      }
      if (runStart < 0) runStart = page;
    }
    endRun(first + count);
    const writing = (msg.desiredAccess & VM_PROT_WRITE) !== 0;
    for (const [start, end] of runs) await readRun(pager, start, end, writing);
  } finally {
    pager.noterm--;
    pager.wakeup();
  }
}

/** Read pages [start, end) with one readPage call and supply them (split where their locks differ). */
async function readRun(pager: Pager, start: number, end: number, writing: boolean): Promise<void> {
  const pageSize = pager.pageSize;
  const data = pager.space.system.memory.allocate((end - start) * pageSize);
  let locks: boolean | readonly boolean[] = false;
  try {
    const reply = await pager.callbacks.readPage(start * pageSize, data, writing);
    locks = reply?.writeLock ?? false;
    // Pages with no data (past a file's end): data_unavailable, and the kernel zero-fills them
    // if they are faulted on, or drops them if they were only read ahead.
    const have = reply?.zeros === true ? 0 : Math.min(end - start, reply?.dataPages ?? end - start);
    if (pager.gate && !writing) {
      // Coherent: every page read-only, zeros too (a zero-filled page would be writable without an
      // unlock, and another mount would never hear of the write).
      data.fill(0, have * pageSize);
      pager.stats.pages_read += have;
      pager.stats.pages_unavailable += end - start - have;
      for (let page = start; page < end; page++) pager.pagemap.setError(page, 0);
      supply(pager, start, end, data, () => true);
      return;
    }
    if (have < end - start) {
      pager.stats.pages_read += have;
      pager.stats.pages_unavailable += end - start - have;
      for (let page = start; page < end; page++) pager.pagemap.setError(page, 0);
      pager.send<MemoryObjectDataUnavailable>({
        id: 'memory_object_data_unavailable',
        dest: pager.control,
        offset: (start + have) * pageSize,
        size: (end - start - have) * pageSize,
      });
      if (have === 0) {
        pager.space.system.memory.deallocate(data);
        return;
      }
      const lockedHave = locks;
      supply(pager, start, start + have, data, (page) => (typeof lockedHave === 'boolean' ? lockedHave : lockedHave[page - start] === true));
      return;
    }
  } catch (err) {
    if (isDamaged(err) && end - start > 1) {
      pager.space.system.memory.deallocate(data);
      for (let page = start; page < end; page++) await readRun(pager, page, page + 1, writing);
      return;
    }
    const errno = pagerErrno(err);
    pager.stats.read_errors++;
    if (isDamaged(err)) pager.stats.checksum_errors++;
    pager.requests.log(`pager ${pager.label}: readPage at ${start * pageSize}: ${String(err)} (errno ${errno})`);
    pager.space.system.memory.deallocate(data);
    dataError(pager, start, end - start, errno);
    return;
  }
  pager.stats.pages_read += end - start;
  for (let page = start; page < end; page++) pager.pagemap.setError(page, 0);
  const lockOf = (page: number): boolean => (typeof locks === 'boolean' ? locks : locks[page - start] === true);
  supply(pager, start, end, data, lockOf);
}

/** data_supply of pages [start, end) from `data` (which the message takes), split where their locks differ. */
function supply(pager: Pager, start: number, end: number, data: Buffer, lockOf: (page: number) => boolean): void {
  const pageSize = pager.pageSize;
  let from = start;
  while (from < end) {
    const locked = lockOf(from);
    let to = from + 1;
    while (to < end && lockOf(to) === locked) to++;
    pager.send<MemoryObjectDataSupply>({
      id: 'memory_object_data_supply',
      dest: pager.control,
      offset: from * pageSize,
      // The whole buffer when one message takes it all: the kernel gives that back to the pool.
      data: from === start && data.length === (to - start) * pageSize ? data : data.subarray((from - start) * pageSize, (to - start) * pageSize),
      lockValue: locked ? VM_PROT_WRITE : VM_PROT_NONE,
      precious: pager.notifyOnEvict,
      replyTo: MACH_PORT_NULL,
      deallocate: true,
    });
    from = to;
  }
}

/** data_error for pages [page, page + count), remembered for getError. */
function dataError(pager: Pager, page: number, count: number, errno: number): void {
  for (let p = page; p < page + count; p++) pager.pagemap.setError(p, errno);
  pager.send<MemoryObjectDataError>({
    id: 'memory_object_data_error',
    dest: pager.control,
    offset: page * pager.pageSize,
    size: count * pager.pageSize,
    errorValue: errno,
  });
}
