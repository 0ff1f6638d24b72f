/**
 * `regions`: every region of every task of the mount's kernel, as seed 000's
 * region_scan prints a task's map: walked with vm_region from address 0 up,
 * with the file each region's object is.
 */
import { inheritString, protString } from '../../kernel/index.js';
import type { MachFilesystem } from '../fs/filesystem.js';
import type { RegionRecord } from './protocol.js';
import { mountTasks, objectFiles, taskName } from './task-records.js';

export function regionRecords(fs: MachFilesystem): RegionRecord[] {
  const files = objectFiles(fs);
  const out: RegionRecord[] = [];
  for (const task of mountTasks(fs)) {
    for (const r of fs.kernel.regions(task)) {
      const file = files.get(r.objectName);
      out.push({
        task: taskName(task),
        start: r.address,
        end: r.address + r.size,
        size: r.size,
        protection: protString(r.protection),
        max_protection: protString(r.maxProtection),
        inheritance: inheritString(r.inheritance),
        shared: r.shared,
        object: r.objectName,
        offset: r.offset,
        growable: r.growable,
        internal: r.internal,
        ...(file ? { path: file.path, ino: file.ino } : {}),
      });
    }
  }
  return out;
}
