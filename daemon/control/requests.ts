/**
 * `requests`: the FUSE requests faults hold now (daemon/fs/suspended-requests.ts),
 * with the requester's command (/proc/PID/comm), the file's path, and what
 * each waits for: the kernel's wait (data_request, data_unlock, free_frame,
 * busy_page, pager_init), or other_mount when its fault waits for page data
 * that lives on another FUSE mount (a store, or a store's file, on it): the
 * pager's read is stuck in that mount's daemon.
 *
 * Finding the other mount touches nothing on it: the data file's path is
 * compared with the FUSE mountpoints as a string, after one readlink of the
 * data file when its own directory is not on a FUSE mount.
 */
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MachFilesystem } from '../fs/filesystem.js';
import { isFuse, readMountinfo } from '../fs/fuse/mount-table.js';
import type { SuspendedRequest } from '../fs/suspended-requests.js';
import type { RequestRecord, RequestWait } from './protocol.js';

/** The requester's command name, or '' (pid 0: the kernel; or the process is gone). */
async function commandOf(pid: number): Promise<string> {
  if (pid <= 0) return '';
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    // Gone between its request and this listing: nothing to name.
    return '';
  }
}

/** The FUSE mount (other than `own`) that holds `file`, judged from the path alone. */
function fuseMountOf(file: string, mountpoints: readonly string[], own: string): string | undefined {
  let best: string | undefined;
  for (const m of mountpoints) {
    if (m === own) continue;
    if ((file === m || file.startsWith(m === '/' ? '/' : `${m}/`)) && (best === undefined || m.length > best.length)) best = m;
  }
  return best;
}

/** The other FUSE mount the data of `ino` lives on, if any. */
async function otherMountOf(fs: MachFilesystem, ino: number, mountpoints: readonly string[], own: string): Promise<string | undefined> {
  const file = path.resolve(fs.data.dataPath(ino));
  const direct = fuseMountOf(file, mountpoints, own);
  if (direct !== undefined) return direct;
  let target: string;
  try {
    target = await readlink(file);
  } catch {
    // Not a symbolic link (EINVAL), or no data file yet: the data is where it says.
    return undefined;
  }
  return fuseMountOf(path.resolve(path.dirname(file), target), mountpoints, own);
}

/** Waits that end when a store read ends: the ones another mount can hold. */
const STORE_WAITS: ReadonlySet<RequestWait> = new Set(['data_request', 'busy_page', 'data_unlock']);

export async function requestRecords(fs: MachFilesystem, mountpoint: string): Promise<RequestRecord[]> {
  const now = fs.suspended.now();
  if (now.length === 0) return [];
  const mountpoints = (await readMountinfo()).filter(isFuse).map((e) => e.mountPoint);
  const at = performance.now();
  const record = async (r: SuspendedRequest): Promise<RequestRecord> => {
    const wait = r.wait;
    let waitsFor: RequestWait = wait.reason ?? 'running';
    const other = STORE_WAITS.has(waitsFor) ? await otherMountOf(fs, r.ino, mountpoints, mountpoint) : undefined;
    if (other !== undefined) waitsFor = 'other_mount';
    const inode = fs.objects.get(r.ino)?.inode;
    return {
      id: r.id,
      op: r.op,
      pid: r.pid,
      command: await commandOf(r.pid),
      uid: r.uid,
      path: inode?.orphan === true ? '' : (fs.catalog.pathOf(r.ino) ?? ''),
      ino: r.ino,
      offset: r.offset,
      length: r.length,
      waits_for: waitsFor,
      ...(other !== undefined ? { other_mount: other } : {}),
      object: wait.object,
      page_offset: wait.offset,
      since: r.since,
      waited_ms: Math.round(at - r.started),
    };
  };
  return Promise.all(now.map(record));
}
