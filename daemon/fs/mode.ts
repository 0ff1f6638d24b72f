/** File types and permission bits (<sys/stat.h>), and a few rules about them. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
export const SETID_BITS = S_ISUID | S_ISGID;
/** Group execute: with it, S_ISGID means setgid; without it, mandatory locking. */
const S_IXGRP = 0o010;
export const PERMISSION_BITS = 0o7777;

export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isLink = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

/** The longest name in a directory (NAME_MAX), in bytes. */
export const NAME_MAX = 255;
/** PATH_MAX, in bytes with the terminating NUL: a path (or symlink target) of this many bytes or more is too long. */
export const PATH_MAX = 4096;

/**
 * The mode after a write or truncate by a caller (should_remove_suid):
 * without CAP_FSETID (taken as: not uid 0) a regular file loses S_ISUID,
 * and S_ISGID if group-execute is set.
 */
export function modeAfterWrite(mode: number, callerUid: number): number {
  if (callerUid === 0 || !isReg(mode)) return mode;
  let kill = mode & S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) kill |= S_ISGID;
  return mode & ~kill;
}

/**
 * The mode after chown (chown_common, setattr_should_drop_sgid): a
 * non-directory loses S_ISUID whoever changes it (root too, as on Linux
 * since 2.2.13), and S_ISGID if group-execute is set or the caller is
 * neither root nor in the file's group (its gid; FUSE gives us no
 * supplementary groups).
 */
export function modeAfterChown(mode: number, caller: { uid: number; gid: number }, fileGid: number): number {
  if (isDir(mode)) return mode;
  let kill = mode & S_ISUID;
  if ((mode & S_ISGID) !== 0 && ((mode & S_IXGRP) !== 0 || (caller.uid !== 0 && caller.gid !== fileGid))) kill |= S_ISGID;
  return mode & ~kill;
}

/** O_ flags the filesystem looks at. */
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;

/** setxattr flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
