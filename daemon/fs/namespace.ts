/**
 * Paths to inodes: FUSE's high-level API names files by path, so every
 * operation resolves one. Inodes in use and directory entries seen recently
 * are kept in memory; the catalog is the truth.
 */
import { Buffer } from 'node:buffer';
import { ROOT_INO, type Catalog, type InodeRecord } from './catalog.js';
import { FsError } from './errors.js';
import { recordOf, toInode, type Inode } from './inode.js';
import { isDir, NAME_MAX, PATH_MAX } from './mode.js';

/**
 * The answer for a name that is not there, made once: a create is preceded
 * by a lookup that fails, and an error's stack costs more than the lookup.
 */
const NO_ENTRY = new FsError('ENOENT');

/** Directory entries remembered; past this the cache starts over. */
const MAX_DENTRIES = 200_000;
/** Clean, unused inodes kept; past this the cache is trimmed. */
const MAX_INODES = 50_000;

export class Namespace {
  private readonly inodes = new Map<number, Inode>();
  private readonly dentries = new Map<string, number>();
  private readonly dirty = new Set<Inode>();

  constructor(readonly catalog: Catalog) {}

  /** The inode `ino`; ENOENT if it is gone. */
  inode(ino: number): Inode {
    let inode = this.inodes.get(ino);
    if (!inode) {
      const record = this.catalog.get(ino);
      if (!record) throw new FsError('ENOENT');
      inode = toInode(record);
      if (this.inodes.size >= MAX_INODES) this.trim();
      this.inodes.set(ino, inode);
    }
    return inode;
  }

  /**
   * The inode at an absolute path. Every operation that names a file comes
   * through here or parentOf, so these are where names are checked for
   * length (ENAMETOOLONG, not ENOENT for a name that cannot exist). A
   * whole path of PATH_MAX bytes or more is refused only for a new name
   * (newEntry): one reached through a deep working directory must stay
   * readable and removable, as on ext4.
   */
  resolve(path: string): Inode {
    return this.walk(path, path.length);
  }

  /** The directory a path's last name would be in, and that name (checked for length). */
  parentOf(path: string): { parent: Inode; name: string } {
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    if (name === '' || name === '.' || name === '..') throw new FsError('EINVAL');
    // As Linux: the parent is looked up first (ENOENT, ENOTDIR), then the name checked.
    const parent = this.walk(path, Math.max(slash, 0));
    if (!isDir(parent.mode)) throw new FsError('ENOTDIR');
    checkName(name);
    return { parent, name };
  }

  /** parentOf for a name about to be made (create, mkdir, link, rename's target): the whole path is checked too. */
  newEntry(path: string): { parent: Inode; name: string } {
    checkPathLength(path);
    return this.parentOf(path);
  }

  /** The inode at `path.slice(0, stop)`, each name checked for length as it is reached. */
  private walk(path: string, stop: number): Inode {
    let inode = this.inode(ROOT_INO);
    let start = 1;
    while (start < stop) {
      let end = path.indexOf('/', start);
      if (end < 0 || end > stop) end = stop;
      if (end > start) {
        if (!isDir(inode.mode)) throw new FsError('ENOTDIR');
        const name = path.slice(start, end);
        checkName(name);
        inode = this.child(inode, name);
      }
      start = end + 1;
    }
    return inode;
  }

  /** The entry `name` of directory `dir`; ENOENT if none. */
  child(dir: Inode, name: string): Inode {
    const ino = this.lookup(dir, name);
    if (ino === undefined) throw NO_ENTRY;
    return this.inode(ino);
  }

  lookup(dir: Inode, name: string): number | undefined {
    const key = `${dir.ino}/${name}`;
    let ino = this.dentries.get(key);
    if (ino === undefined) {
      ino = this.catalog.lookup(dir.ino, name);
      if (ino === undefined) return undefined;
      if (this.dentries.size >= MAX_DENTRIES) this.dentries.clear();
      this.dentries.set(key, ino);
    }
    return ino;
  }

  /** A name was added or removed: the cache follows. */
  setEntry(dir: Inode, name: string, ino: number | undefined): void {
    const key = `${dir.ino}/${name}`;
    if (ino === undefined) this.dentries.delete(key);
    else this.dentries.set(key, ino);
  }

  /** A new inode made by the catalog from `record` (what it wrote, so not read back). */
  adopt(ino: number, record?: Omit<InodeRecord, 'ino'>): Inode {
    if (record === undefined || this.inodes.has(ino)) return this.inode(ino);
    const { atime, mtime, ctime } = record;
    const inode = toInode({ ...record, ino, atime: { ...atime }, mtime: { ...mtime }, ctime: { ...ctime } });
    if (this.inodes.size >= MAX_INODES) this.trim();
    this.inodes.set(ino, inode);
    return inode;
  }

  /** The inode is gone from the catalog. */
  forget(inode: Inode): void {
    this.inodes.delete(inode.ino);
    this.dirty.delete(inode);
    inode.dirty = false;
  }

  /** Its attributes changed in memory; they reach the catalog at the next flush. */
  touch(inode: Inode): void {
    if (!inode.dirty) {
      inode.dirty = true;
      this.dirty.add(inode);
    }
  }

  /** Written to the catalog by the caller (in a transaction of its own): clean now. */
  written(inode: Inode): void {
    if (inode.dirty) {
      inode.dirty = false;
      this.dirty.delete(inode);
    }
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Write every dirty inode to the catalog, in one transaction. */
  flush(): void {
    if (this.dirty.size === 0) return;
    const inodes = [...this.dirty];
    this.catalog.writeAll(inodes.map(recordOf));
    for (const inode of inodes) inode.dirty = false;
    this.dirty.clear();
  }

  /** Write one inode if it is dirty. */
  flushOne(inode: Inode): void {
    if (!inode.dirty) return;
    this.catalog.writeAll([recordOf(inode)]);
    this.written(inode);
  }

  /** Forget every inode and name in memory, dirty ones too (a power loss: the catalog is the truth again). */
  clear(): void {
    this.inodes.clear();
    this.dentries.clear();
    this.dirty.clear();
  }

  /**
   * Another mount changed inode `ino` in the catalog (coherence): the copy in
   * memory takes the catalog's attributes, unless it has changes of its own
   * not yet written (those win when they are). Returns the size it had, or
   * undefined when it was not in memory.
   */
  refresh(ino: number): { inode: Inode; oldSize: number } | undefined {
    const inode = this.inodes.get(ino);
    if (!inode || inode.dirty) return undefined;
    const record = this.catalog.get(ino);
    const oldSize = inode.size;
    if (!record) {
      if (inode.opens === 0 && !inode.object) this.inodes.delete(ino);
      return undefined;
    }
    Object.assign(inode, record);
    return { inode, oldSize };
  }

  /** Another mount changed names: the names seen here are asked of the catalog again. */
  forgetNames(): void {
    this.dentries.clear();
  }

  /** Every inode in memory (for sync and unmount). */
  all(): IterableIterator<Inode> {
    return this.inodes.values();
  }

  /** Drop clean inodes nobody uses. */
  private trim(): void {
    for (const [ino, inode] of this.inodes) {
      if (!inode.dirty && inode.opens === 0 && !inode.object && ino !== ROOT_INO) this.inodes.delete(ino);
    }
  }
}

/*
 * A UTF-16 unit is 1 to 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes),
 * so the string's length bounds its byte length both ways: only a length in
 * between needs counting. getattr of a short name pays two comparisons.
 */

/** ENAMETOOLONG for a name of more than NAME_MAX bytes. */
export function checkName(name: string): void {
  if (name.length > NAME_MAX || (name.length * 3 > NAME_MAX && Buffer.byteLength(name) > NAME_MAX)) throw new FsError('ENAMETOOLONG');
}

/** ENAMETOOLONG for a path (or symlink target) of PATH_MAX bytes or more (no room for its NUL). */
export function checkPathLength(path: string): void {
  if (path.length >= PATH_MAX || (path.length * 3 >= PATH_MAX && Buffer.byteLength(path) >= PATH_MAX)) throw new FsError('ENAMETOOLONG');
}
