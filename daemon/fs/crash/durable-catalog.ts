/**
 * The catalog as a power loss would leave it: a copy in memory of the rows
 * (inodes, directory entries, extended attributes, orphans) as of their
 * last durable point. The live catalog commits its grouped changes on a
 * timer, so what SQLite holds is not what an fsync made durable; this copy
 * is.
 *
 * Durable points, as POSIX has them: fsync/fdatasync of a file makes its
 * inode (size, times, mode, xattrs) durable; fsync of a directory makes its
 * entries durable (a name made or removed in it, either side of a rename);
 * sync makes everything durable. A file that became durable only through
 * its directory's entry comes back empty (size 0): its data was never
 * synced.
 *
 * target() is the state a crash leaves, made consistent the way fsck would
 * want it: entries naming no inode go, inodes no entry names go (unless they
 * are orphans), a directory keeps one name, link counts are counted.
 */
import type Database from 'better-sqlite3';
import { ROOT_INO } from '../catalog.js';
import { isDir, isReg } from '../mode.js';

/** The catalog's database connection (only catalog files name better-sqlite3). */
export type CatalogDb = Database.Database;

type Row = Record<string, unknown> & { ino: number; mode: number; nlink: number; size: number };

interface Entry {
  parent: number;
  name: string;
  ino: number;
}

/** The catalog's rows, as plain values. */
export interface CatalogRows {
  inodes: Map<number, Row>;
  /** parent → name → ino */
  dirents: Map<number, Map<string, number>>;
  xattrs: Map<number, Map<string, Buffer>>;
  orphans: Set<number>;
}

function emptyRows(): CatalogRows {
  return { inodes: new Map(), dirents: new Map(), xattrs: new Map(), orphans: new Set() };
}

export function readRows(db: Database.Database): CatalogRows {
  const rows = emptyRows();
  for (const row of db.prepare<[], Row>('SELECT * FROM inode').all()) rows.inodes.set(row.ino, row);
  for (const e of db.prepare<[], Entry>('SELECT parent, name, ino FROM dirent').all()) entriesOf(rows, e.parent).set(e.name, e.ino);
  for (const x of db.prepare<[], { ino: number; name: string; value: Buffer }>('SELECT ino, name, value FROM xattr').all()) xattrsOf(rows, x.ino).set(x.name, x.value);
  for (const ino of db.prepare<[], number>('SELECT ino FROM orphan').pluck().all()) rows.orphans.add(ino);
  return rows;
}

function entriesOf(rows: CatalogRows, parent: number): Map<string, number> {
  let entries = rows.dirents.get(parent);
  if (!entries) {
    entries = new Map();
    rows.dirents.set(parent, entries);
  }
  return entries;
}

function xattrsOf(rows: CatalogRows, ino: number): Map<string, Buffer> {
  let xattrs = rows.xattrs.get(ino);
  if (!xattrs) {
    xattrs = new Map();
    rows.xattrs.set(ino, xattrs);
  }
  return xattrs;
}

export class DurableCatalog {
  private rows: CatalogRows = emptyRows();
  private readonly selectInode;
  private readonly selectXattrs;
  private readonly selectEntries;

  constructor(private readonly db: Database.Database) {
    this.selectInode = db.prepare<[number], Row>('SELECT * FROM inode WHERE ino = ?');
    this.selectXattrs = db.prepare<[number], { name: string; value: Buffer }>('SELECT name, value FROM xattr WHERE ino = ?');
    this.selectEntries = db.prepare<[number], { name: string; ino: number }>('SELECT name, ino FROM dirent WHERE parent = ?');
  }

  /** Everything in the catalog now is durable (begin, sync, after a crash). */
  load(): void {
    this.rows = readRows(this.db);
  }

  has(ino: number): boolean {
    return this.rows.inodes.has(ino);
  }

  /** The highest inode number the durable state knows. */
  maxIno(): number {
    let max = ROOT_INO;
    for (const ino of this.rows.inodes.keys()) max = Math.max(max, ino);
    return max;
  }

  /** fsync of a file: its inode and xattrs as the catalog has them now. */
  syncInode(ino: number): void {
    const row = this.selectInode.get(ino);
    if (!row) return;
    this.rows.inodes.set(ino, row);
    this.copyXattrs(ino);
  }

  /** fsync of a directory: its entries (and its own inode) as the catalog has them now. */
  syncDir(dir: number): void {
    const row = this.selectInode.get(dir);
    if (!row) return;
    this.rows.inodes.set(dir, row);
    const entries = new Map<string, number>();
    for (const e of this.selectEntries.all(dir)) {
      entries.set(e.name, e.ino);
      if (this.rows.inodes.has(e.ino)) continue;
      // New through its name only: the inode exists, its data was never synced.
      const child = this.selectInode.get(e.ino);
      if (!child) continue;
      this.rows.inodes.set(e.ino, isReg(child.mode) ? { ...child, size: 0 } : child);
      this.copyXattrs(e.ino);
    }
    this.rows.dirents.set(dir, entries);
  }

  private copyXattrs(ino: number): void {
    const values = this.selectXattrs.all(ino);
    if (values.length === 0) this.rows.xattrs.delete(ino);
    else this.rows.xattrs.set(ino, new Map(values.map((x) => [x.name, x.value])));
  }

  /**
   * What a crash leaves: the durable rows made consistent. `sizes` replaces
   * files' sizes (pages --keep or --torn kept past the durable size).
   */
  target(sizes: ReadonlyMap<number, number> = new Map()): CatalogRows {
    const t: CatalogRows = {
      inodes: new Map([...this.rows.inodes].map(([ino, row]) => [ino, { ...row, ...(sizes.has(ino) ? { size: sizes.get(ino) } : {}) }])),
      dirents: new Map([...this.rows.dirents].map(([parent, entries]) => [parent, new Map(entries)])),
      xattrs: new Map([...this.rows.xattrs].map(([ino, x]) => [ino, new Map(x)])),
      orphans: new Set(this.rows.orphans),
    };
    makeConsistent(t);
    return t;
  }

  /** Replace the catalog's namespace tables by `rows`, in one transaction (the commit group must have committed). */
  apply(rows: CatalogRows): void {
    const db = this.db;
    db.transaction(() => {
      for (const table of ['inode', 'dirent', 'xattr', 'orphan']) db.prepare(`DELETE FROM ${table}`).run();
      const first = rows.inodes.values().next();
      if (!first.done) {
        const columns = Object.keys(first.value);
        const insert = db.prepare(`INSERT INTO inode (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
        for (const row of rows.inodes.values()) insert.run(row);
      }
      const dirent = db.prepare<[number, string, number]>('INSERT INTO dirent (parent, name, ino) VALUES (?, ?, ?)');
      for (const [parent, entries] of rows.dirents) for (const [name, ino] of entries) dirent.run(parent, name, ino);
      const xattr = db.prepare<[number, string, Buffer]>('INSERT INTO xattr (ino, name, value) VALUES (?, ?, ?)');
      for (const [ino, values] of rows.xattrs) for (const [name, value] of values) xattr.run(ino, name, value);
      const orphan = db.prepare<[number]>('INSERT INTO orphan (ino) VALUES (?)');
      for (const ino of rows.orphans) orphan.run(ino);
    })();
  }
}

/** Entries naming nothing go, unnamed inodes go, a directory keeps one name, link counts are recounted. */
function makeConsistent(t: CatalogRows): void {
  for (let changed = true; changed; ) {
    changed = false;
    const named = new Set<number>([ROOT_INO]);
    const dirNamed = new Set<number>();
    for (const [parent, entries] of t.dirents) {
      const dir = t.inodes.get(parent);
      if (!dir || !isDir(dir.mode)) {
        t.dirents.delete(parent);
        changed = true;
        continue;
      }
      for (const [name, ino] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const inode = t.inodes.get(ino);
        // A directory has one name: a rename synced on one side only leaves two; the first stays.
        if (!inode || ino === ROOT_INO || (isDir(inode.mode) && dirNamed.has(ino))) {
          entries.delete(name);
          changed = true;
          continue;
        }
        if (isDir(inode.mode)) dirNamed.add(ino);
        named.add(ino);
      }
    }
    for (const ino of [...t.inodes.keys()]) {
      if (named.has(ino) || t.orphans.has(ino)) continue;
      t.inodes.delete(ino);
      t.xattrs.delete(ino);
      t.dirents.delete(ino);
      changed = true;
    }
  }
  for (const ino of [...t.orphans]) if (!t.inodes.has(ino)) t.orphans.delete(ino);
  for (const ino of [...t.xattrs.keys()]) if (!t.inodes.has(ino)) t.xattrs.delete(ino);
  const links = new Map<number, number>();
  for (const [parent, entries] of t.dirents) {
    for (const ino of entries.values()) {
      const inode = t.inodes.get(ino);
      if (!inode) continue;
      // A directory's '..' counts in its parent's links, its own '.' in its own.
      links.set(isDir(inode.mode) ? parent : ino, (links.get(isDir(inode.mode) ? parent : ino) ?? 0) + 1);
    }
  }
  for (const [ino, row] of t.inodes) row.nlink = (isDir(row.mode) ? 2 : 0) + (links.get(ino) ?? 0);
}

/** A lookup of paths in `rows` ('/a/b'; undefined for an inode with no name). */
export function pathFinder(rows: CatalogRows): (ino: number) => string | undefined {
  const parentOf = new Map<number, { parent: number; name: string }>();
  for (const [parent, entries] of rows.dirents) for (const [name, child] of entries) if (!parentOf.has(child)) parentOf.set(child, { parent, name });
  return (ino) => {
    const names: string[] = [];
    for (let at = ino; at !== ROOT_INO; ) {
      const e = parentOf.get(at);
      if (!e || names.length > 4096) return undefined;
      names.push(e.name);
      at = e.parent;
    }
    return `/${names.reverse().join('/')}`;
  };
}
