/**
 * pager_memcpy: copy between a buffer and a pager's memory object through
 * the kernel, as the Hurd does with a temporary mapping. The kernel is
 * reached through its vm_map call only (the pager library knows no more of
 * it): give a mapper that maps the object. Returns the bytes copied and 0,
 * or the error (EIO, ENOSPC, EDQUOT) that stopped the copy.
 */
import type { IpcSpace, PortName, VmProt } from '../../kernel/index.js';
import type { Pager } from './pager.js';

export interface MappedWindow {
  memcpy(address: number, buffer: Buffer, access: VmProt): Promise<{ bytes: number; error: number }>;
  deallocate(): void;
}

/** vm_map as the Kernel offers it. */
export interface VmMapper {
  vmMap(caller: IpcSpace, memoryObject: PortName, offset: number, size: number, prot: VmProt): Promise<MappedWindow>;
}

export async function pagerMemcpy(
  vm: VmMapper,
  pager: Pager,
  task: IpcSpace,
  offset: number,
  buffer: Buffer,
  prot: VmProt,
): Promise<{ bytes: number; error: number }> {
  if (buffer.length === 0) return { bytes: 0, error: 0 };
  const pageSize = pager.pageSize || 4096;
  const start = Math.floor(offset / pageSize) * pageSize;
  const end = Math.ceil((offset + buffer.length) / pageSize) * pageSize;
  const window = await vm.vmMap(task, pager.makeSendRight(task), start, end - start, prot);
  // vm_map took its own send right; the one made for the call goes.
  task.deallocate(pager.port);
  try {
    return await window.memcpy(offset - start, buffer, prot);
  } finally {
    window.deallocate();
  }
}
