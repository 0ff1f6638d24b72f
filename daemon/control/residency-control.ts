/**
 * The control verbs behind `machpager vmtouch`: the per-page residency of
 * files (the kernel's mincore, nothing faulted in), touching a file (every
 * page read into the cache through its memory object, as vmtouch -t reads
 * through a mapping), and locking one (its pages wired, vm_wire, for as
 * long as the caller's connection stays open: vmtouch -l stays in the
 * foreground, and its exit, or kill, unlocks). Wiring is refused past 3/4
 * of the cache: the pageout daemon must always have pages to evict, or
 * every other file of the mount would stop.
 */
import { MINCORE_INCORE, MINCORE_MODIFIED, MINCORE_WIRED, VM_PROT_READ } from '../../kernel/index.js';
import { codeOf } from '../fs/errors.js';
import type { FileObject } from '../fs/file-object.js';
import type { MachFilesystem } from '../fs/filesystem.js';
import type { Inode } from '../fs/inode.js';
import { isDir, isReg } from '../fs/mode.js';
import { ControlError } from './control-error.js';
import { optionalBoolean, optionalStrings, requiredString } from './params.js';
import type { LockResult, ResidencyRecord, TouchResult } from './protocol.js';
import type { ControlSession } from './server.js';
import { filesAt, resolveInner } from './tree-walk.js';

/** The share of the cache's frames that may be wired at most. */
export const WIRE_LIMIT_FRACTION = 3 / 4;

/** Bytes read at a time by touch (a run of pages in one fault, as a read of that size). */
const TOUCH_CHUNK_BYTES = 256 * 1024;

/** The page map's characters (ResidencyRecord.map). */
const MAP_ABSENT = '.';
const MAP_RESIDENT = 'o';
const MAP_DIRTY = 'd';
const MAP_WIRED = 'w';

export class ResidencyControl {
  constructor(private readonly fs: MachFilesystem) {}

  /** Per file of the paths (directories: their files, the tree with recursive): pages resident, dirty, wired; the page map with map. */
  async residency(params: Record<string, unknown>): Promise<ResidencyRecord[]> {
    const paths = optionalStrings(params.paths, 'paths');
    if (paths === undefined || paths.length === 0) throw new ControlError('EINVAL', 'residency needs paths');
    const recursive = optionalBoolean(params.recursive, 'recursive') ?? false;
    const map = optionalBoolean(params.map, 'map') ?? false;
    return (await filesAt(this.fs, paths, recursive)).map((f) => this.record(f.inode, f.path, map));
  }

  /** Read every page of the file into the cache. */
  async touch(params: Record<string, unknown>): Promise<TouchResult> {
    const p = requiredString(params.path, 'path');
    const inode = this.regularFile(p);
    const before = this.record(inode, p, false);
    if (before.pages > 0) {
      const object = await this.fs.acquireObject(inode);
      try {
        await this.readAll(object, inode);
      } finally {
        object.release();
      }
    }
    const after = this.record(inode, p, false);
    return { path: p, pages: after.pages, touched_pages: Math.max(0, after.pages - before.resident_pages), resident_pages: after.resident_pages };
  }

  /** Wire every page of the file until `session` closes. */
  async lock(params: Record<string, unknown>, session: ControlSession): Promise<LockResult> {
    const p = requiredString(params.path, 'path');
    const inode = this.regularFile(p);
    const kernel = this.fs.kernel;
    const pages = this.pagesOf(inode);
    const limit = Math.floor(kernel.frameCount * WIRE_LIMIT_FRACTION);
    const answer = (locked: number): LockResult => ({ path: p, locked_pages: locked, wired_pages: kernel.wiredPages, frames: kernel.frameCount, wire_limit: limit });
    if (pages === 0) return answer(0);
    if (kernel.wiredPages + pages > limit) {
      throw new ControlError(
        'ENOMEM',
        `${p}: locking its ${pages} pages would wire ${kernel.wiredPages + pages} of the cache's ${kernel.frameCount} pages; at most 3/4 (${limit}) may be wired (grow the cache with cache-size, or lock less)`,
      );
    }
    const object = await this.fs.acquireObject(inode);
    const window = object.window;
    if (!window) {
      object.release();
      throw new ControlError('EIO', `${p}: its memory object has no mapping`);
    }
    const bytes = pages * kernel.pageSize;
    let error: number;
    try {
      error = await window.wireRange(0, bytes);
    } catch (err) {
      object.release();
      throw err;
    }
    if (error !== 0) {
      object.release();
      throw new ControlError(codeOf(error) ?? 'EIO', `${p}: reading its pages to lock them failed`);
    }
    session.onClose(() => {
      window.unwireRange(0, bytes);
      object.release();
    });
    return answer(pages);
  }

  /** Pages of the object of `object` that are wired now (evict leaves such files alone: their flush would wait for the unlock). */
  wiredPages(object: FileObject): number {
    if (this.fs.kernel.wiredPages === 0) return 0;
    let n = 0;
    for (const bits of this.mincore(object.inode)) if ((bits & MINCORE_WIRED) !== 0) n++;
    return n;
  }

  // ------------------------------------------------------------------ helpers

  private regularFile(p: string): Inode {
    const inode = resolveInner(this.fs, p);
    if (isDir(inode.mode)) throw new ControlError('EISDIR', `${p}: a directory (name its files, or let the CLI walk it)`);
    if (!isReg(inode.mode)) throw new ControlError('EINVAL', `${p}: not a regular file`);
    return inode;
  }

  private pagesOf(inode: Inode): number {
    return Math.ceil(inode.size / this.fs.pageSize);
  }

  /** The kernel's mincore of the file's pages; all zero when the kernel holds no object for it. */
  private mincore(inode: Inode): Uint8Array {
    const pages = this.pagesOf(inode);
    const object = this.fs.objects.get(inode.ino);
    if (pages === 0 || !object || object.isFreed || object.pager.state !== 'normal') return new Uint8Array(pages);
    return this.fs.kernel.mincoreByControl(object.pager.control, 0, pages * this.fs.pageSize) ?? new Uint8Array(pages);
  }

  private record(inode: Inode, path: string, withMap: boolean): ResidencyRecord {
    const vec = this.mincore(inode);
    let resident = 0;
    let dirty = 0;
    let wired = 0;
    let map = '';
    for (const bits of vec) {
      if ((bits & MINCORE_INCORE) !== 0) resident++;
      if ((bits & MINCORE_MODIFIED) !== 0) dirty++;
      if ((bits & MINCORE_WIRED) !== 0) wired++;
      if (withMap) map += (bits & MINCORE_WIRED) !== 0 ? MAP_WIRED : (bits & MINCORE_MODIFIED) !== 0 ? MAP_DIRTY : (bits & MINCORE_INCORE) !== 0 ? MAP_RESIDENT : MAP_ABSENT;
    }
    const record: ResidencyRecord = { path, ino: inode.ino, size: inode.size, pages: vec.length, resident_pages: resident, dirty_pages: dirty, wired_pages: wired };
    if (withMap) record.map = map;
    return record;
  }

  /** Read the file's pages through its object, a chunk at a time (the pager's errno ends it). */
  private async readAll(object: FileObject, inode: Inode): Promise<void> {
    const window = object.window;
    if (!window) throw new ControlError('EIO', `inode ${inode.ino}: its memory object has no mapping`);
    const scratch = Buffer.alloc(TOUCH_CHUNK_BYTES);
    for (let at = 0; at < inode.size; at += TOUCH_CHUNK_BYTES) {
      const n = Math.min(TOUCH_CHUNK_BYTES, inode.size - at);
      const { error } = await window.memcpy(at, scratch.subarray(0, n), VM_PROT_READ);
      if (error !== 0) throw new ControlError(codeOf(error) ?? 'EIO', `reading the pages at ${at}: ${codeOf(error) ?? error}`);
    }
  }
}
