/**
 * `machpager snapshot FILE NEWFILE`: a copy-on-write copy in the same mount.
 * The source's dirty pages are written back first (its store then holds
 * what the copy must see), a new inode with the source's attributes is made,
 * and a link records that it reads every page it has not written from the
 * source (shared-pages.ts): nothing is copied, so a snapshot of a 1 GiB file
 * takes what one fsync and one catalog row take. From then on the source
 * pushes a page into the copy before it overwrites or drops it
 * (shadow-store.ts), as the kernel pushes into a delayed copy.
 */
import { nowSpec } from './catalog.js';
import { FsError } from './errors.js';
import type { MachFilesystem } from './filesystem.js';
import { recordOf, snapshot as undoOf } from './inode.js';
import { isDir, isReg } from './mode.js';
import { writable } from './operation-common.js';

export interface SnapshotResult {
  source: string;
  target: string;
  ino: number;
  size: number;
  /** Pages the copy shares with its source (all of them, at first). */
  shared_pages: number;
}

export async function snapshotFile(fs: MachFilesystem, source: string, target: string): Promise<SnapshotResult> {
  writable(fs);
  // Shared pages read through to the source's store with a synchronous check of what the copy holds itself: SQLite and raw files only.
  if (fs.data.kind === 'postgres') throw new FsError('EOPNOTSUPP', `snapshot needs a sqlite: or file: store, not ${fs.data.name}`);
  const ns = fs.namespace;
  const inode = ns.resolve(source);
  if (isDir(inode.mode)) throw new FsError('EISDIR', `${source} is a directory: snapshot copies one file`);
  if (!isReg(inode.mode)) throw new FsError('EINVAL', `${source} is not a regular file`);
  const entry = (): { parent: ReturnType<typeof ns.resolve>; name: string } => {
    const e = ns.newEntry(target);
    if (ns.lookup(e.parent, e.name) !== undefined) throw new FsError('EEXIST', `${target} exists`);
    return e;
  };
  entry();
  // The store must hold the source as it is now: what the copy reads through to.
  await fs.syncInode(inode);
  // Nothing awaits from here to the link: no write can slip in between.
  const { parent, name } = entry();
  const now = nowSpec();
  const record = { mode: inode.mode, uid: inode.uid, gid: inode.gid, nlink: 1, size: inode.size, rdev: 0, atime: now, mtime: inode.mtime, ctime: now, target: null };
  const undo = undoOf(parent);
  parent.mtime = parent.ctime = now;
  const end = Math.ceil(inode.size / fs.pageSize) * fs.pageSize;
  // The inode and its link in one transaction: a crash leaves both or neither.
  const ino = fs.commit(undo, () =>
    fs.catalog.db.transaction(() => {
      const made = fs.catalog.create(recordOf(parent), name, record);
      fs.sharedPages.linkNow(made, inode.ino, end);
      return made;
    })(),
  );
  ns.written(parent);
  ns.setEntry(parent, name, ino);
  ns.flush();
  await fs.data.syncCatalog();
  return { source, target, ino, size: inode.size, shared_pages: end / fs.pageSize };
}
