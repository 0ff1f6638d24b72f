/**
 * An inode in memory: its catalog record plus what the daemon tracks while
 * it is in use. Attribute changes made on the data path (size, mtime on
 * every write) stay in memory and reach the catalog in batches
 * (Namespace.flush), at fsync, and at unmount.
 */
import type { InodeRecord } from './catalog.js';
import type { FileObject } from './file-object.js';
import type { FuseStat } from './fuse/contract.js';

export interface Inode extends InodeRecord {
  /** Changed in memory since it was last written to the catalog. */
  dirty: boolean;
  /** Open handles (files and directories). */
  opens: number;
  /** No name left but still open: removed at the last close. */
  orphan: boolean;
  /** Regular files: the memory object holding the data, while it is mapped. */
  object?: FileObject;
}

export function toInode(record: InodeRecord): Inode {
  return { ...record, dirty: false, opens: 0, orphan: false };
}

/** The record as stored (without the in-memory fields). */
export function recordOf(inode: Inode): InodeRecord {
  const { ino, mode, uid, gid, nlink, size, rdev, atime, mtime, ctime, target } = inode;
  return { ino, mode, uid, gid, nlink, size, rdev, atime, mtime, ctime, target };
}

export function statOf(inode: Inode, blockSize: number): FuseStat {
  return {
    ino: inode.ino,
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    size: inode.size,
    nlink: inode.nlink,
    rdev: inode.rdev,
    blksize: blockSize,
    blocks: Math.ceil(inode.size / 512),
    atime: inode.atime,
    mtime: inode.mtime,
    ctime: inode.ctime,
  };
}

/** The attributes of `inodes` as they are now; the function returned puts them back (a catalog change failed). */
export function snapshot(...inodes: Inode[]): () => void {
  const saved = inodes.map((inode) => [inode, recordOf(inode), inode.orphan] as const);
  return () => {
    for (const [inode, record, orphan] of saved) Object.assign(inode, record, { orphan });
  };
}
