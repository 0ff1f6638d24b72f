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
export const PERMISSION_BITS = 0o7777;

export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isLink = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

/** The longest name in a directory (NAME_MAX), in bytes. */
export const NAME_MAX = 255;
/** PATH_MAX, in bytes with the terminating NUL: a path (or symlink target) of this many bytes or more is too long. */
export const PATH_MAX = 4096;

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
