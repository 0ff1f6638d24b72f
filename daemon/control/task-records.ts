/**
 * Who is who in a mount's kernel, for `regions` and `requests`: the tasks
 * that map something (the filesystem, the pager library, the kernel itself)
 * by a name a user can read, and which file each memory object is.
 */
import type { IpcSpace } from '../../kernel/index.js';
import type { MachFilesystem } from '../fs/filesystem.js';

export interface ObjectFile {
  ino: number;
  /** The file's path in the mount; '' when it has no name left. */
  path: string;
}

/** A task's name: what its IPC space was made as (fs, pager, kernel ...). */
export function taskName(task: IpcSpace): string {
  return task.label;
}

/** Every task with an address map, the filesystem's first. */
export function mountTasks(fs: MachFilesystem): IpcSpace[] {
  const tasks = fs.kernel.maps.tasks();
  return [...tasks.filter((t) => t === fs.task), ...tasks.filter((t) => t !== fs.task)];
}

/** The file of each memory object the filesystem's files have now, by the kernel's object id. */
export function objectFiles(fs: MachFilesystem): Map<number, ObjectFile> {
  const out = new Map<number, ObjectFile>();
  for (const object of fs.objects.values()) {
    if (object.isFreed || object.pager.state !== 'normal') continue;
    const record = fs.kernel.objectStatisticsByControl(object.pager.control);
    if (!record) continue;
    const inode = object.inode;
    out.set(record.object, { ino: inode.ino, path: inode.orphan ? '' : (fs.catalog.pathOf(inode.ino) ?? '') });
  }
  return out;
}
