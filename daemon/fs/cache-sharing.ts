/**
 * A snapshot shares its base's pages in the page cache, not only on disk
 * (docs/snapshots.md). When a snapshot's object is mapped, it is made a
 * delayed copy of its base's object, the Mach way (VmWindow.delayedCopyTo,
 * kernel/vm/delayed-copy.ts): a page the snapshot does not hold is read
 * from the base's resident page; the base's first write to a page it
 * still shares pushes the old page into the snapshot's object
 * (copy_pushes, written to the snapshot's store with data_initialize); the
 * snapshot's first write to one is a cow_fault.
 *
 * The base is synced first: the page cache link starts from a base whose
 * store holds what its cache holds, so that the pages the snapshot reads
 * from its own store (those it holds, and those the base has dirty at the
 * link) and those it reads from the base's pages agree. The link is made
 * again at each map (after a remount, or after the kernel let the objects
 * go); where it cannot be made (the base has another snapshot linked, or
 * pages in the laundry), the snapshot reads through its store alone.
 */
import type { VmWindow } from '../../kernel/index.js';
import type { FileObject } from './file-object.js';
import type { MachFilesystem } from './filesystem.js';

/** Tries: a base written to all the time may keep pages in the laundry. */
const ATTEMPTS = 3;

export async function linkShared(fs: MachFilesystem, copy: FileObject, window: VmWindow): Promise<void> {
  const ino = copy.inode.ino;
  const link = fs.sharedPages.linkOf(ino);
  if (link === undefined || link.end === 0 || window.object.shadow !== undefined) return;
  let baseInode;
  try {
    baseInode = fs.namespace.inode(link.base);
  } catch {
    return; // the base is gone: the store pushed everything into the snapshot
  }
  const base = await fs.acquireObject(baseInode);
  try {
    const baseWindow = base.window;
    if (baseWindow === undefined || baseWindow.object.copy !== undefined) return;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await base.sync();
      // Nothing awaits from here to the link: no write to the base slips in between.
      if (window.isDeallocated || baseWindow.isDeallocated || fs.sharedPages.linkOf(ino) !== link) return;
      const held = fs.sharedPages.ownedPages(ino, link.end / fs.pageSize);
      if (baseWindow.delayedCopyTo(window, link.end, held)) {
        base.copyTarget = copy;
        return;
      }
      if (window.object.shadow !== undefined || baseWindow.object.copy !== undefined) return;
    }
  } finally {
    base.release();
  }
}
