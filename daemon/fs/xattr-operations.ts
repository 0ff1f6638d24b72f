/**
 * The extended-attribute operations of MachFilesystem. Attributes live in
 * the catalog next to their inode; a change moves the inode's ctime. The
 * errnos are Linux's.
 */
import { Buffer } from 'node:buffer';
import { nowSpec } from './catalog.js';
import { FsError } from './errors.js';
import type { MachFilesystem } from './filesystem.js';
import type { FuseOperations } from './fuse/contract.js';
import { recordOf } from './inode.js';
import { isDir, isReg, XATTR_CREATE, XATTR_REPLACE } from './mode.js';
import { writable } from './operation-common.js';

/** XATTR_NAME_MAX and XATTR_SIZE_MAX of Linux. */
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
const NO_ATTRIBUTE = new FsError('ENODATA');

export type XattrOperations = Required<Pick<FuseOperations, 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr'>>;

export function buildXattrOperations(fs: MachFilesystem): XattrOperations {
  const ns = fs.namespace;
  const catalog = fs.catalog;

  function checkXattrName(name: string): void {
    if (name.length === 0 || Buffer.byteLength(name) > XATTR_NAME_MAX) throw new FsError('ERANGE');
    if (!/^(user|trusted|security|system)\./.test(name)) throw new FsError('EOPNOTSUPP');
  }

  return {
    setxattr(_ctx, path, name, value, flags, reply) {
      writable(fs);
      checkXattrName(name);
      if (value.length > XATTR_SIZE_MAX) throw new FsError('E2BIG');
      const inode = ns.resolve(path);
      // As on Linux: user attributes only on regular files and directories.
      if (name.startsWith('user.') && !isReg(inode.mode) && !isDir(inode.mode)) throw new FsError('EPERM');
      const exists = catalog.getXattr(inode.ino, name) !== undefined;
      if (flags & XATTR_CREATE && exists) throw new FsError('EEXIST');
      if (flags & XATTR_REPLACE && !exists) throw new FsError('ENODATA');
      inode.ctime = nowSpec();
      catalog.setXattr(recordOf(inode), name, Buffer.from(value));
      ns.written(inode);
      reply();
    },

    getxattr(_ctx, path, name, _size, reply) {
      checkXattrName(name);
      const inode = ns.resolve(path);
      const value = catalog.getXattr(inode.ino, name);
      // Asked at every write (security.capability): one answer made once, no stack captured each time.
      if (value === undefined) throw NO_ATTRIBUTE;
      reply(null, value);
    },

    listxattr(_ctx, path, _size, reply) {
      reply(null, catalog.listXattrs(ns.resolve(path).ino));
    },

    removexattr(_ctx, path, name, reply) {
      writable(fs);
      checkXattrName(name);
      const inode = ns.resolve(path);
      inode.ctime = nowSpec();
      if (!catalog.removeXattr(recordOf(inode), name)) throw new FsError('ENODATA');
      ns.written(inode);
      reply();
    },
  };
}
