/**
 * Paths to inodes: FUSE's high-level API names files by path, so every
 * operation resolves one. Inodes in use and directory entries seen recently
 * are kept in memory; the catalog is the truth.
 */
import { Buffer } from 'node:buffer';
import { ROOT_INO, type Catalog } from './catalog.js';
import { FsError } from './errors.js';
import { recordOf, toInode, type Inode } from './inode.js';
import { isDir, NAME_MAX } from './mode.js';

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

  /** The inode at an absolute path. */
  resolve(path: string): Inode {
    let inode = this.inode(ROOT_INO);
    if (path === '/') return inode;
    let start = 1;
    while (start <= path.length) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      if (end > start) {
        if (!isDir(inode.mode)) throw new FsError('ENOTDIR');
        inode = this.child(inode, path.slice(start, end));
      }
      start = end + 1;
    }
    return inode;
  }

  /** The directory a path's last name would be in, and that name (checked for length). */
  parentOf(path: string): { parent: Inode; name: string } {
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    if (name === '' || name === '.' || name === '..') throw new FsError('EINVAL');
    if (Buffer.byteLength(name) > NAME_MAX) throw new FsError('ENAMETOOLONG');
    const parent = this.resolve(slash <= 0 ? '/' : path.slice(0, slash));
    if (!isDir(parent.mode)) throw new FsError('ENOTDIR');
    return { parent, name };
  }

  /** The entry `name` of directory `dir`; ENOENT if none. */
  child(dir: Inode, name: string): Inode {
    const ino = this.lookup(dir, name);
    if (ino === undefined) throw new FsError('ENOENT');
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

  /** A new inode made by the catalog. */
  adopt(ino: number): Inode {
    return this.inode(ino);
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
