/**
 * memory_object_data_initialize(object, control, offset, data): the first
 * write-out of pages the kernel pushed into a delayed copy (a snapshot's
 * object) before its source changed them. A page the pager holds already
 * keeps what it has (keepsPage: for a snapshot, the source's write-back may
 * have pushed the same page into the copy's store first); the others go to
 * the write-behind queue as a dirty data_return's do (counted with them),
 * so that a sync waits for them alike.
 */
import type { MemoryObjectDataInitialize } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';
import { validRange } from './validate.js';

export async function dataInitialize(pager: Pager, msg: MemoryObjectDataInitialize): Promise<void> {
  if (!validRange(pager, msg, msg.offset, msg.data.length)) return;
  pager.stats.data_returns++;
  const pageSize = pager.pageSize;
  const first = msg.offset / pageSize;
  const count = msg.data.length / pageSize;
  const callbacks = pager.callbacks;
  if (!callbacks.keepsPage) return pager.writer.add(first, msg.data, false);
  const runs: [number, number][] = [];
  for (let i = 0; i < count; ) {
    if (callbacks.keepsPage((first + i) * pageSize)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < count && !callbacks.keepsPage((first + j) * pageSize)) j++;
    runs.push([i, j]);
    i = j;
  }
  if (runs.length === 1 && runs[0][0] === 0 && runs[0][1] === count) return pager.writer.add(first, msg.data, false);
  const memory = pager.space.system.memory;
  const adds = runs.map(([i, j]) => {
    const part = memory.allocate((j - i) * pageSize);
    msg.data.copy(part, 0, i * pageSize, j * pageSize);
    return pager.writer.add(first + i, part, false);
  });
  // vm_deallocate: what is kept needs no write, the rest was copied.
  memory.deallocate(msg.data);
  await Promise.all(adds);
}
