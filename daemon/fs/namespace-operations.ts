/**
 * The namespace operations of MachFilesystem: attributes, directories,
 * names and links, each a catalog transaction (fs.commit undoes the
 * in-memory change if the catalog refuses it). The errnos are a Linux
 * filesystem's.
 */
import { Buffer } from 'node:buffer';
import { isHiddenName, newInodeRecord, nowSpec, ROOT_INO, type InodeRecord } from './catalog.js';
import { openInode, type DataOperations } from './data-operations.js';
import { FsError } from './errors.js';
import type { MachFilesystem } from './filesystem.js';
import type { FuseContext, FuseOperations, FuseStat, ReplyVoid, Timespec, TimeUpdate } from './fuse/contract.js';
import { recordOf, snapshot, statOf, type Inode } from './inode.js';
import { checkPathLength } from './namespace.js';
import { isDir, isLink, modeAfterChown, O_EXCL, PERMISSION_BITS, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_ISGID, SETID_BITS } from './mode.js';
import { later, laterVoid, touchTimes, writable } from './operation-common.js';
import type { XattrOperations } from './xattr-operations.js';

/** Every FUSE operation but the data and extended-attribute ones. */
export type NamespaceOperations = Omit<FuseOperations, keyof DataOperations | keyof XattrOperations>;

export function buildNamespaceOperations(fs: MachFilesystem): NamespaceOperations {
  const ns = fs.namespace;
  const catalog = fs.catalog;
  const blockSize = fs.pageSize;

  /** A new inode's attributes: owned by the caller, group by the setgid rule. */
  function newRecord(ctx: FuseContext, parent: Inode, mode: number, extra: Partial<InodeRecord> = {}): Omit<InodeRecord, 'ino'> {
    const now = nowSpec();
    const inherit = (parent.mode & S_ISGID) !== 0;
    let finalMode = mode;
    if (inherit && isDir(mode)) finalMode |= S_ISGID;
    const gid = inherit ? parent.gid : ctx.gid;
    // A caller outside the file's group may not make it setgid (inode_init_owner).
    if ((finalMode & S_ISGID) !== 0 && !isDir(mode) && gid !== ctx.gid && ctx.uid !== 0) finalMode &= ~S_ISGID;
    return { ...newInodeRecord(finalMode, ctx.uid, gid, isDir(mode) ? 2 : 1, now), ...extra };
  }

  /** Make `name` in `parent`; EEXIST if it is there. */
  function makeNode(ctx: FuseContext, { parent, name }: { parent: Inode; name: string }, mode: number, extra: Partial<InodeRecord> = {}): Inode {
    writable(fs);
    if (ns.lookup(parent, name) !== undefined) throw new FsError('EEXIST');
    const record = newRecord(ctx, parent, mode, extra);
    const undo = snapshot(parent);
    parent.mtime = parent.ctime = record.ctime;
    if (isDir(mode)) parent.nlink++;
    const ino = fs.commit(undo, () => catalog.create(recordOf(parent), name, record));
    ns.written(parent);
    ns.setEntry(parent, name, ino);
    return ns.adopt(ino, record);
  }

  /**
   * Reply to an unlink or rename that took one of `inode`'s names. With none left its data goes:
   * after the reply (or, with many going, after one of them), or at its last close if it is open.
   */
  function lostLink(inode: Inode, reply: ReplyVoid): void {
    // An open inode is an orphan now (the catalog made it one): closeHandle removes it.
    const waiting = inode.nlink > 0 || inode.orphan || inode.opens > 0 ? undefined : fs.removeLater(inode);
    if (waiting) laterVoid(reply, () => waiting);
    else reply();
  }

  function setTime(update: TimeUpdate, current: Timespec, now: Timespec): Timespec {
    if (update === 'omit') return current;
    if (update === 'now') return now;
    return update;
  }

  const ops: NamespaceOperations = {
    getattr(_ctx, path, reply) {
      reply(null, statOf(ns.resolve(path), blockSize));
    },

    fgetattr(_ctx, _path, fh, reply) {
      reply(null, statOf(fs.handle(fh).inode, blockSize));
    },

    access(ctx, path, mode, reply) {
      const inode = ns.resolve(path);
      if (mode === 0 || ctx.uid === 0) {
        // Root may do anything but execute a file nobody may execute.
        if (ctx.uid === 0 && mode & 1 && !isDir(inode.mode) && (inode.mode & 0o111) === 0) throw new FsError('EACCES');
        reply();
        return;
      }
      const bits = ctx.uid === inode.uid ? (inode.mode >> 6) & 7 : ctx.gid === inode.gid ? (inode.mode >> 3) & 7 : inode.mode & 7;
      if ((bits & mode) !== mode) throw new FsError('EACCES');
      reply();
    },

    statfs(_ctx, _path, reply) {
      later(reply, async () => {
        const s = await fs.statfs();
        return {
          bsize: s.bsize,
          frsize: s.bsize,
          blocks: s.blocks,
          bfree: s.bfree,
          bavail: s.bavail,
          files: s.files,
          ffree: s.ffree,
          favail: s.ffree,
          fsid: 0x6d706772,
          flag: 0,
          namemax: 255,
        };
      });
    },

    readdir(_ctx, path, reply) {
      const dir = ns.resolve(path);
      if (!isDir(dir.mode)) throw new FsError('ENOTDIR');
      const entries = catalog.list(dir.ino).filter((e) => !isHiddenName(e.name));
      const names = ['.', '..', ...entries.map((e) => e.name)];
      const self: FuseStat = statOf(dir, blockSize);
      const stats: FuseStat[] = [self, self, ...entries.map((e) => ({ ...self, ino: e.ino, mode: e.mode }))];
      for (const e of entries) ns.setEntry(dir, e.name, e.ino);
      reply(null, names, stats);
    },

    opendir(_ctx, path, flags, reply) {
      const dir = ns.resolve(path);
      if (!isDir(dir.mode)) throw new FsError('ENOTDIR');
      reply(null, fs.openHandle(dir, flags));
    },

    releasedir(_ctx, _path, fh, reply) {
      laterVoid(reply, () => fs.closeHandle(fh));
    },

    fsyncdir(_ctx, _path, _datasync, fh, reply) {
      const { inode } = fs.handle(fh);
      ns.flush();
      laterVoid(reply, async () => {
        await fs.data.syncCatalog();
        fs.crash?.dirDurable(inode.ino);
      });
    },

    create(ctx, path, mode, flags, reply) {
      // Two processes may both have seen no file and both create it: only O_EXCL makes that an error.
      const { parent, name } = ns.newEntry(path);
      const existing = ns.lookup(parent, name);
      if (existing !== undefined) {
        if (flags & O_EXCL) throw new FsError('EEXIST');
        openInode(fs, ctx, ns.inode(existing), flags, reply);
        return;
      }
      const inode = makeNode(ctx, { parent, name }, S_IFREG | (mode & PERMISSION_BITS));
      later(reply, async () => fs.openHandle(inode, flags, await fs.acquireObject(inode)));
    },

    utimens(_ctx, path, atime, mtime, reply) {
      writable(fs);
      const inode = ns.resolve(path);
      const now = nowSpec();
      const undo = snapshot(inode);
      inode.atime = setTime(atime, inode.atime, now);
      inode.mtime = setTime(mtime, inode.mtime, now);
      inode.ctime = now;
      ns.touch(inode);
      fs.commit(undo, () => ns.flushOne(inode));
      reply();
    },

    chmod(_ctx, path, mode, reply) {
      writable(fs);
      const inode = ns.resolve(path);
      const undo = snapshot(inode);
      // Setuid/setgid taken away (Linux's killpriv on a write in kernel cache mode comes as this
      // chmod): durable at once, as a write's own drop is (data-operations.ts).
      const dropsSetId = (inode.mode & SETID_BITS & ~mode) !== 0;
      inode.mode = (inode.mode & S_IFMT) | (mode & PERMISSION_BITS);
      touchTimes(inode, 'c');
      ns.touch(inode);
      fs.commit(undo, () => ns.flushOne(inode));
      if (dropsSetId) fs.catalog.commitNow();
      reply();
    },

    chown(ctx, path, uid, gid, reply) {
      writable(fs);
      const inode = ns.resolve(path);
      const undo = snapshot(inode);
      // Before the group changes: the rule looks at the file's group as it was.
      if ((inode.mode & SETID_BITS) !== 0) inode.mode = modeAfterChown(inode.mode, ctx, inode.gid);
      if (uid !== -1 && uid !== 0xffffffff) inode.uid = uid;
      if (gid !== -1 && gid !== 0xffffffff) inode.gid = gid;
      touchTimes(inode, 'c');
      ns.touch(inode);
      fs.commit(undo, () => ns.flushOne(inode));
      reply();
    },

    mknod(ctx, path, mode, rdev, reply) {
      makeNode(ctx, ns.newEntry(path), mode, { rdev });
      reply();
    },

    mkdir(ctx, path, mode, reply) {
      makeNode(ctx, ns.newEntry(path), S_IFDIR | (mode & PERMISSION_BITS));
      reply();
    },

    rmdir(_ctx, path, reply) {
      writable(fs);
      const { parent, name } = ns.parentOf(path);
      const dir = ns.child(parent, name);
      if (!isDir(dir.mode)) throw new FsError('ENOTDIR');
      if (dir.ino === ROOT_INO) throw new FsError('EBUSY');
      if (!catalog.isEmptyDir(dir.ino)) throw new FsError('ENOTEMPTY');
      dropHidden(dir);
      const undo = snapshot(dir, parent);
      dir.nlink = 0;
      touchTimes(parent, 'mc');
      parent.nlink--;
      fs.commit(undo, () => catalog.unlink(recordOf(parent), name, recordOf(dir), false), true);
      ns.written(parent);
      ns.setEntry(parent, name, undefined);
      ns.forget(dir);
      reply();
    },

    unlink(_ctx, path, reply) {
      writable(fs);
      const { parent, name } = ns.parentOf(path);
      const inode = ns.child(parent, name);
      if (isDir(inode.mode)) throw new FsError('EISDIR');
      const undo = snapshot(inode, parent);
      inode.nlink--;
      touchTimes(inode, 'c');
      touchTimes(parent, 'mc');
      const keep = inode.nlink === 0 && inode.opens > 0;
      fs.commit(undo, () => catalog.unlink(recordOf(parent), name, recordOf(inode), keep), true);
      ns.written(parent);
      ns.written(inode);
      ns.setEntry(parent, name, undefined);
      if (keep) inode.orphan = true;
      lostLink(inode, reply);
    },

    rename(_ctx, path, newPath, reply) {
      writable(fs);
      const from = ns.parentOf(path);
      const to = ns.newEntry(newPath);
      const moved = ns.child(from.parent, from.name);
      const replacedIno = ns.lookup(to.parent, to.name);
      const replaced = replacedIno === undefined ? undefined : ns.inode(replacedIno);
      if (replaced && replaced.ino === moved.ino) {
        reply(); // two names of one file: rename does nothing
        return;
      }
      if (isDir(moved.mode)) {
        // A directory cannot move into itself or below.
        for (let dir: Inode | undefined = to.parent; dir; ) {
          if (dir.ino === moved.ino) throw new FsError('EINVAL');
          if (dir.ino === ROOT_INO) break;
          dir = parentDir(dir);
        }
        if (replaced && !isDir(replaced.mode)) throw new FsError('ENOTDIR');
        if (replaced && !catalog.isEmptyDir(replaced.ino)) throw new FsError('ENOTEMPTY');
        if (replaced) dropHidden(replaced);
      } else if (replaced && isDir(replaced.mode)) {
        throw new FsError('EISDIR');
      }
      const now = nowSpec();
      const undo = snapshot(moved, from.parent, to.parent, ...(replaced ? [replaced] : []));
      moved.ctime = now;
      from.parent.mtime = from.parent.ctime = now;
      to.parent.mtime = to.parent.ctime = now;
      if (isDir(moved.mode) && from.parent.ino !== to.parent.ino) {
        from.parent.nlink--;
        to.parent.nlink++;
      }
      let keep = false;
      if (replaced) {
        replaced.ctime = now;
        if (isDir(replaced.mode)) {
          replaced.nlink = 0;
          to.parent.nlink--;
        } else {
          replaced.nlink--;
          keep = replaced.nlink === 0 && replaced.opens > 0;
          if (keep) replaced.orphan = true;
        }
      }
      const replacing = replaced ? { inode: recordOf(replaced), keep } : undefined;
      fs.commit(undo, () => catalog.rename(recordOf(from.parent), from.name, recordOf(to.parent), to.name, recordOf(moved), replacing), true);
      for (const inode of [moved, from.parent, to.parent]) ns.written(inode);
      ns.setEntry(from.parent, from.name, undefined);
      ns.setEntry(to.parent, to.name, moved.ino);
      if (!replaced) {
        reply();
        return;
      }
      ns.written(replaced);
      if (isDir(replaced.mode)) {
        ns.forget(replaced);
        reply();
        return;
      }
      lostLink(replaced, reply);
    },

    link(_ctx, existingPath, newPath, reply) {
      writable(fs);
      const inode = ns.resolve(existingPath);
      if (isDir(inode.mode)) throw new FsError('EPERM');
      const { parent, name } = ns.newEntry(newPath);
      if (ns.lookup(parent, name) !== undefined) throw new FsError('EEXIST');
      const undo = snapshot(inode, parent);
      inode.nlink++;
      touchTimes(inode, 'c');
      touchTimes(parent, 'mc');
      fs.commit(undo, () => catalog.link(recordOf(inode), recordOf(parent), name));
      ns.written(inode);
      ns.written(parent);
      ns.setEntry(parent, name, inode.ino);
      reply();
    },

    symlink(ctx, target, linkPath, reply) {
      checkPathLength(target);
      makeNode(ctx, ns.newEntry(linkPath), S_IFLNK | 0o777, { target, size: Buffer.byteLength(target) });
      reply();
    },

    readlink(_ctx, path, reply) {
      const inode = ns.resolve(path);
      if (!isLink(inode.mode) || inode.target === null) throw new FsError('EINVAL');
      reply(null, inode.target);
    },
  };

  /**
   * A directory about to go still holds hidden names of open files: they
   * lose those names and become orphans (removed at their last close).
   */
  function dropHidden(dir: Inode): void {
    for (const entry of catalog.hiddenIn(dir.ino)) {
      const inode = ns.inode(entry.ino);
      const undo = snapshot(inode);
      inode.nlink--;
      const keep = inode.nlink === 0;
      fs.commit(undo, () => catalog.unlink(recordOf(dir), entry.name, recordOf(inode), keep), true);
      ns.written(inode);
      ns.setEntry(dir, entry.name, undefined);
      if (keep) inode.orphan = true;
    }
  }

  /** The directory holding `dir` (its '..'). */
  function parentDir(dir: Inode): Inode | undefined {
    const parent = catalog.parentOf(dir.ino);
    return parent === undefined ? undefined : ns.inode(parent);
  }

  return ops;
}
