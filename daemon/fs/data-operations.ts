/**
 * The data operations of MachFilesystem: open, read, write, flush, fsync,
 * release and truncate. Read and write are memcpy on the file's memory
 * object, and a read or write whose pages are resident is answered inside
 * the callback (no promise, no timer: the cache-hit path). The errnos are
 * a Linux filesystem's.
 */
import { MAX_OFFSET, VM_PROT_READ, VM_PROT_WRITE } from '../../kernel/index.js';
import { pagerErrno } from '../pager/index.js';
import { nowSpec } from './catalog.js';
import { FsError, toFsError } from './errors.js';
import type { Handle, MachFilesystem } from './filesystem.js';
import type { FuseContext, FuseOperations, Reply } from './fuse/contract.js';
import type { Inode } from './inode.js';
import { isDir, isReg, modeAfterWrite, O_ACCMODE, O_APPEND, O_RDONLY, O_TRUNC, SETID_BITS } from './mode.js';
import { later, laterVoid, touchTimes, writable } from './operation-common.js';

const DAY_S = 86_400;

export type DataOperations = Required<Pick<FuseOperations, 'open' | 'read' | 'write' | 'flush' | 'fsync' | 'release' | 'truncate' | 'ftruncate'>>;

export function buildDataOperations(fs: MachFilesystem): DataOperations {
  const ns = fs.namespace;

  /** After a write of bytes up to `end`: the size grows, mtime and ctime move (in memory). */
  function wrote(inode: Inode, end: number): void {
    if (end > inode.size) inode.size = end;
    touchTimes(inode, 'mc');
    ns.touch(inode);
  }

  /** relatime: atime moves on a read only if it is older than mtime or ctime, or a day old. */
  function readAccess(inode: Inode): void {
    if (fs.config.readOnly) return;
    const a = inode.atime;
    if (a.sec < inode.mtime.sec || a.sec < inode.ctime.sec || Date.now() / 1000 - a.sec > DAY_S) {
      inode.atime = nowSpec();
      ns.touch(inode);
    }
  }

  /** read(2) of an open file at `position`, within the size this mount knows. */
  function readAt(ctx: FuseContext, handle: Handle, buffer: Buffer, length: number, position: number, reply: Reply<number>): void {
    const inode = handle.inode;
    const window = handle.object?.window;
    if (!window) {
      reply(new FsError('EBADF'));
      return;
    }
    if (position >= inode.size) {
      reply(null, 0);
      return;
    }
    const n = Math.min(length, inode.size - position);
    const buf = n === buffer.length ? buffer : buffer.subarray(0, n);
    fs.tracer?.record(inode.ino, position, n);
    fs.liveMrc.record(inode.ino, position, n);
    const done = window.copySync(position, buf, VM_PROT_READ);
    if (done === n) {
      readAccess(inode);
      reply(null, n);
      return;
    }
    const suspended = fs.suspended.begin('read', ctx, inode.ino, position + done, n - done);
    window.completeCopy(position, buf, VM_PROT_READ, done, suspended.wait).finally(() => fs.suspended.end(suspended)).then(
      ({ bytes, error }) => {
        if (error !== 0 && bytes === 0) {
          reply(toFsError({ errno: error }));
          return;
        }
        readAccess(inode);
        reply(null, bytes);
      },
      (err: unknown) => reply(toFsError(err)),
    );
  }

  /**
   * The answer to a write. When other mounts share the store and the write
   * grew the file, its new size is in the database before write() returns:
   * a read on another mount then finds it (coherent-mount.ts).
   */
  function answerWrite(inode: Inode, sizeBefore: number, bytes: number, reply: Reply<number>): void {
    if (!fs.coherent || inode.size <= sizeBefore) {
      reply(null, bytes);
      return;
    }
    ns.flushOne(inode);
    fs.data.syncCatalog().then(
      () => reply(null, bytes),
      (err: unknown) => reply(toFsError(err)),
    );
  }

  return {
    open(ctx, path, flags, reply) {
      openInode(fs, ctx, ns.resolve(path), flags, reply);
    },

    read(ctx, _path, fh, buffer, length, position, reply) {
      const handle = fs.handle(fh);
      const inode = handle.inode;
      if (!handle.object?.window) throw new FsError(isDir(inode.mode) ? 'EISDIR' : 'EINVAL');
      // Another mount may have grown the file: its size is asked of the database before a read past the end here.
      const coherent = fs.coherent;
      if (coherent && position + length > inode.size && !inode.dirty) {
        coherent.refreshInode(inode.ino).then(
          () => readAt(ctx, handle, buffer, length, position, reply),
          (err: unknown) => reply(toFsError(err)),
        );
        return;
      }
      readAt(ctx, handle, buffer, length, position, reply);
    },

    write(ctx, _path, fh, buffer, length, position, reply) {
      const handle = fs.handle(fh);
      const inode = handle.inode;
      const window = handle.object?.window;
      if (!window) throw new FsError('EBADF');
      if (fs.config.readOnly) throw new FsError('EROFS');
      const refused = fs.writeRefused();
      if (refused) throw refused;
      const append = (handle.flags & O_APPEND) !== 0;
      const at = append ? inode.size : position;
      if (at + length > MAX_OFFSET) throw new FsError('EFBIG');
      // After the checks, as Linux's write does. One bit test on the hot path (in kernel
      // cache mode the kernel has sent a chmod first; with direct_io it sends none).
      if ((inode.mode & SETID_BITS) !== 0) dropSetIdOnWrite(fs, ctx, inode);
      const buf = length === buffer.length ? buffer : buffer.subarray(0, length);
      fs.tracer?.record(inode.ino, at, length);
      fs.liveMrc.record(inode.ino, at, length);
      fs.crash?.journal.noteWrite(inode.ino, at, length);
      const sizeBefore = inode.size;
      const done = window.copySync(at, buf, VM_PROT_WRITE);
      if (done === length) {
        wrote(inode, at + length);
        answerWrite(inode, sizeBefore, length, reply);
        return;
      }
      // The copy has to wait for a fault: an append takes its range now, so that
      // another append meanwhile goes after it rather than over it.
      if (append) wrote(inode, at + length);
      const suspended = fs.suspended.begin('write', ctx, inode.ino, at + done, length - done);
      // Pages this write pushes into a snapshot take room on the disk: promised first (ENOSPC is this write's).
      const room = handle.object?.roomForPushes(at + done, length - done);
      const copied = room
        ? room.then(
            () => window.completeCopy(at, buf, VM_PROT_WRITE, done, suspended.wait),
            (err: unknown) => ({ bytes: done, error: pagerErrno(err) }),
          )
        : window.completeCopy(at, buf, VM_PROT_WRITE, done, suspended.wait);
      copied.finally(() => fs.suspended.end(suspended)).then(
        ({ bytes, error }) => {
          if (append && bytes < length && inode.size === at + length) inode.size = at + bytes;
          if (bytes > 0) wrote(inode, at + bytes);
          if (error !== 0 && bytes === 0) reply(toFsError({ errno: error }));
          else answerWrite(inode, sizeBefore, bytes, reply);
        },
        (err: unknown) => reply(toFsError(err)),
      );
    },

    flush(_ctx, _path, fh, reply) {
      const handle = fs.handle(fh);
      // A reader's close is not where a write-back error belongs (cmp would fail on it).
      const pending = (handle.flags & O_ACCMODE) === O_RDONLY ? undefined : fs.flushPending(handle.inode);
      if (pending) laterVoid(reply, () => pending);
      else reply();
    },

    fsync(_ctx, _path, _datasync, fh, reply) {
      const { inode } = fs.handle(fh);
      laterVoid(reply, () => fs.syncInode(inode));
    },

    release(_ctx, _path, fh, reply) {
      laterVoid(reply, () => fs.closeHandle(fh));
    },

    truncate(ctx, path, size, reply) {
      writable(fs);
      const inode = ns.resolve(path);
      laterVoid(reply, () => truncateInode(fs, ctx, inode, size));
    },

    ftruncate(ctx, _path, fh, size, reply) {
      writable(fs);
      const { inode } = fs.handle(fh);
      laterVoid(reply, () => truncateInode(fs, ctx, inode, size));
    },
  };
}

/** open(2) of an inode: regular files get their memory object mapped (and O_TRUNC applied). */
export function openInode(fs: MachFilesystem, ctx: FuseContext, inode: Inode, flags: number, reply: Reply<number>): void {
  if (isDir(inode.mode)) throw new FsError('EISDIR');
  if (!isReg(inode.mode)) {
    reply(null, fs.openHandle(inode, flags));
    return;
  }
  if (flags & O_TRUNC) writable(fs);
  later(reply, async () => {
    const object = await fs.acquireObject(inode);
    try {
      // O_TRUNC of an empty setuid file still drops the bit, as Linux's open does.
      if (flags & O_TRUNC && (inode.size > 0 || (inode.mode & SETID_BITS) !== 0)) await truncateInode(fs, ctx, inode, 0);
    } catch (err) {
      object.release();
      throw err;
    }
    return fs.openHandle(inode, flags, object);
  });
}

/** truncate(2) of an inode: its memory object cut (pages past the end flushed), times moved, the catalog written. */
export async function truncateInode(fs: MachFilesystem, ctx: FuseContext, inode: Inode, size: number): Promise<void> {
  const ns = fs.namespace;
  if (isDir(inode.mode)) throw new FsError('EISDIR');
  if (!isReg(inode.mode)) throw new FsError('EINVAL');
  if (!Number.isSafeInteger(size) || size < 0) throw new FsError('EINVAL');
  if (size > MAX_OFFSET) throw new FsError('EFBIG');
  // Also when the size stays: Linux's do_truncate drops them whatever the size.
  if ((inode.mode & SETID_BITS) !== 0) dropSetIdOnWrite(fs, ctx, inode);
  const old = inode.size;
  if (size !== old) {
    const object = await fs.acquireObject(inode);
    try {
      if (size < old) await fs.freeing(() => object.truncate(size, old));
    } finally {
      object.release();
    }
    inode.size = size;
  }
  touchTimes(inode, 'mc');
  ns.touch(inode);
  fs.freeingSync(() => ns.flushOne(inode));
  // Other mounts read the new size from the database before a read past the end they know.
  if (fs.coherent && size !== old) await fs.data.syncCatalog();
}

/**
 * A write or truncate by `ctx` drops setuid/setgid (modeAfterWrite), in the catalog at
 * once, before the data changes: a crash must not leave them on changed data. pid 0 is
 * the kernel's own mmap write-back, not a caller's (ext4 drops nothing on a mmap write).
 */
function dropSetIdOnWrite(fs: MachFilesystem, ctx: FuseContext, inode: Inode): void {
  if (ctx.pid === 0) return;
  const mode = modeAfterWrite(inode.mode, ctx.uid);
  if (mode === inode.mode) return;
  inode.mode = mode;
  touchTimes(inode, 'c');
  fs.namespace.touch(inode);
  fs.namespace.flushOne(inode);
  // The catalog groups its changes until fsync; this one may not wait.
  fs.catalog.commitNow();
}
