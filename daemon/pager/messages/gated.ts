/**
 * The kernel's requests that pass a coherent pager's gate (coherence/)
 * before they are handled: data_request and data_unlock, the ones that
 * give the kernel pages or write access. A request the gate refused (the
 * other mounts could not be asked) fails: data_error EIO for a page-in, a
 * refused unlock (EIO saved for the next write request) for a write.
 */
import {
  MACH_PORT_NULL,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_WRITE,
  type KernelToPagerMessage,
  type MemoryObjectDataError,
  type MemoryObjectLockRequest,
  type Message,
} from '../../../kernel/index.js';
import { pagerErrno } from '../errors.js';
import type { Pager } from '../pager.js';

/** The gate's answer for a request that needs one, or undefined. */
export function gatedRequest(pager: Pager, msg: Message): Promise<() => void> | undefined {
  const gate = pager.gate;
  const m = msg as KernelToPagerMessage;
  if (!gate || pager.pageSize === 0) return undefined;
  if (m.id === 'memory_object_data_request') {
    const first = Math.floor(m.offset / pager.pageSize);
    return gate.acquire(first, first + Math.ceil(m.length / pager.pageSize), (m.desiredAccess & VM_PROT_WRITE) !== 0);
  }
  if (m.id === 'memory_object_data_unlock') {
    const first = Math.floor(m.offset / pager.pageSize);
    return gate.acquire(first, first + Math.ceil(m.length / pager.pageSize), true);
  }
  return undefined;
}

export function refuseRequest(pager: Pager, msg: Message, reason: unknown): void {
  const m = msg as KernelToPagerMessage;
  const errno = pagerErrno(reason);
  pager.requests.log(`pager ${pager.label}: ${m.id} refused: ${reason instanceof Error ? reason.message : String(reason)}`);
  if (m.id === 'memory_object_data_request') {
    for (let page = m.offset / pager.pageSize; page < (m.offset + m.length) / pager.pageSize; page++) pager.pagemap.setError(page, errno);
    pager.send<MemoryObjectDataError>({ id: 'memory_object_data_error', dest: pager.control, offset: m.offset, size: m.length, errorValue: errno });
  } else if (m.id === 'memory_object_data_unlock') {
    pager.pagemap.setNextError(m.offset / pager.pageSize, errno);
    pager.send<MemoryObjectLockRequest>({
      id: 'memory_object_lock_request',
      dest: pager.control,
      offset: m.offset,
      size: m.length,
      shouldReturn: MEMORY_OBJECT_RETURN_NONE,
      shouldFlush: true,
      lockValue: VM_PROT_WRITE,
      replyTo: MACH_PORT_NULL,
    });
  }
}
