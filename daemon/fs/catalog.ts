/**
 * The namespace in SQLite: inodes, directory entries, extended attributes,
 * and the inodes unlinked while still open (orphans, removed at the last
 * close or at the next mount). Every namespace change is one savepoint of
 * the connection's commit group (stores/sqlite-commit-group.ts): changes are
 * committed together at write-back, fsync, sync, unmount and on a 1 s timer,
 * each whole or not at all, so a crash at any moment leaves the catalog
 * consistent, and one failing change is undone alone. Without a group (fsck,
 * read-only) each change is a transaction of its own. It shares the
 * database connection with the SQLite page-data store when the data lives
 * in the same file (stores/sqlite-connection.ts).
 *
 * A change is journalled by the group to be run again if a failed commit
 * rolled the group back, so each one captures its values when made (never
 * a record that may change later) and does the same statements on replay.
 *
 * Times are kept as seconds and nanoseconds in two columns: JS numbers hold
 * neither nanoseconds since 1970 nor 64-bit integers exactly.
 */
import type Database from 'better-sqlite3';
import type { SqliteCommitGroup } from '../../stores/index.js';
import type { Timespec } from './fuse/contract.js';
import { FsError } from './errors.js';
import { S_IFDIR, S_IFMT, S_IFREG } from './mode.js';

export const ROOT_INO = 1;

/**
 * libfuse 2's high-level API renames a file that is unlinked while open to
 * `.fuse_hidden` + 16 hex digits, and unlinks that name at the last close.
 * Such names are not shown and do not keep a directory from being removed.
 */
export const HIDDEN_GLOB = '.fuse_hidden[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*';
const HIDDEN_RE = /^\.fuse_hidden[0-9a-f]{16}$/;

export function isHiddenName(name: string): boolean {
  return HIDDEN_RE.test(name);
}
export const CATALOG_FORMAT = 'machpager-fs';
export const CATALOG_VERSION = 1;

export interface InodeRecord {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  rdev: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  /** Symbolic links: the target. */
  target: string | null;
}

/** A row of the inode table: the record's numbers as they are, its times as seconds and nanoseconds. */
interface InodeRow extends Omit<InodeRecord, 'atime' | 'mtime' | 'ctime'> {
  atime_s: number;
  atime_ns: number;
  mtime_s: number;
  mtime_ns: number;
  ctime_s: number;
  ctime_ns: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fs_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inode (
  ino INTEGER PRIMARY KEY,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  nlink INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  rdev INTEGER NOT NULL DEFAULT 0,
  atime_s INTEGER NOT NULL, atime_ns INTEGER NOT NULL,
  mtime_s INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  ctime_s INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
  target TEXT
);
CREATE TABLE IF NOT EXISTS dirent (
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  ino INTEGER NOT NULL,
  PRIMARY KEY (parent, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dirent_ino ON dirent (ino);
CREATE TABLE IF NOT EXISTS xattr (
  ino INTEGER NOT NULL,
  name TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (ino, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orphan (ino INTEGER PRIMARY KEY);
`;

function toRecord(row: InodeRow): InodeRecord {
  return {
    ino: row.ino,
    mode: row.mode,
    uid: row.uid,
    gid: row.gid,
    nlink: row.nlink,
    size: row.size,
    rdev: row.rdev,
    atime: { sec: row.atime_s, nsec: row.atime_ns },
    mtime: { sec: row.mtime_s, nsec: row.mtime_ns },
    ctime: { sec: row.ctime_s, nsec: row.ctime_ns },
    target: row.target,
  };
}

function params(r: InodeRecord): unknown[] {
  return [r.mode, r.uid, r.gid, r.nlink, r.size, r.rdev, r.atime.sec, r.atime.nsec, r.mtime.sec, r.mtime.nsec, r.ctime.sec, r.ctime.nsec, r.target];
}

export interface CatalogCounts {
  inodes: number;
  orphans: number;
}

export class Catalog {
  private readonly selectInode;
  private readonly insertInode;
  private readonly insertInodeAt;
  private readonly updateInode;
  private readonly deleteInode;
  private readonly selectDirent;
  private readonly selectDir;
  private readonly selectParent;
  private readonly selectName;
  private readonly countHidden;
  private readonly selectHiddenIn;
  private readonly selectHidden;
  private readonly countDir;
  private readonly insertDirent;
  private readonly deleteDirent;
  private readonly moveDirent;
  private readonly selectXattr;
  private readonly selectXattrs;
  private readonly upsertXattr;
  private readonly deleteXattr;
  private readonly deleteXattrs;
  private readonly insertOrphan;
  private readonly deleteOrphan;
  private readonly selectOrphans;
  private readonly countInodes;
  private readonly countOrphans;
  private readonly selectMeta;
  private readonly upsertMeta;
  private readonly selectFileSizes;
  /**
   * Inodes that may have extended attributes (a superset: removals are not
   * taken out). Linux asks for security.capability at every write to a
   * FUSE file (file_remove_privs); for the many inodes with none, the
   * answer comes from here without a query.
   */
  private readonly xattrInodes: Set<number>;
  private readonly selectMaxIno;
  /**
   * 0: a new inode takes the number after the highest (SQLite's rowid).
   * Otherwise new numbers start here and only go up (crash testing: a number
   * a crash may bring back is never given to another file meanwhile).
   */
  inodeFloor = 0;
  /**
   * Several mounts of one store (coherence): this one makes only inode
   * numbers with ino % of === slot, so two never make the same one.
   */
  inodeClass: { slot: number; of: number } | undefined;

  constructor(
    readonly db: Database.Database,
    /** The connection's commit group; undefined: every change commits on its own. */
    private readonly group?: SqliteCommitGroup,
  ) {
    this.selectInode = db.prepare<[number], InodeRow>('SELECT * FROM inode WHERE ino = ?');
    this.insertInode = db.prepare(
      'INSERT INTO inode (mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertInodeAt = db.prepare(
      'INSERT INTO inode (mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns, target, ino) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.updateInode = db.prepare(
      'UPDATE inode SET mode = ?, uid = ?, gid = ?, nlink = ?, size = ?, rdev = ?, atime_s = ?, atime_ns = ?, mtime_s = ?, mtime_ns = ?, ctime_s = ?, ctime_ns = ?, target = ? WHERE ino = ?',
    );
    this.deleteInode = db.prepare<[number]>('DELETE FROM inode WHERE ino = ?');
    this.selectDirent = db.prepare<[number, string], number>('SELECT ino FROM dirent WHERE parent = ? AND name = ?').pluck();
    this.selectDir = db.prepare<[number], { name: string; ino: number; mode: number }>(
      'SELECT d.name, d.ino, i.mode FROM dirent d JOIN inode i ON i.ino = d.ino WHERE d.parent = ? ORDER BY d.name',
    );
    this.selectParent = db.prepare<[number], number>('SELECT parent FROM dirent WHERE ino = ? LIMIT 1').pluck();
    const hidden = `name GLOB '${HIDDEN_GLOB}'`;
    this.selectName = db.prepare<[number], { parent: number; name: string }>(
      `SELECT parent, name FROM dirent WHERE ino = ? AND NOT ${hidden} ORDER BY parent, name LIMIT 1`,
    );
    this.countHidden = db.prepare<[number], number>(`SELECT count(*) FROM dirent WHERE parent = ? AND ${hidden}`).pluck();
    this.selectHiddenIn = db.prepare<[number], { name: string; ino: number }>(`SELECT name, ino FROM dirent WHERE parent = ? AND ${hidden}`);
    this.selectHidden = db.prepare<[], { parent: number; name: string; ino: number }>(`SELECT parent, name, ino FROM dirent WHERE ${hidden}`);
    this.countDir = db.prepare<[number], number>('SELECT count(*) FROM dirent WHERE parent = ?').pluck();
    this.insertDirent = db.prepare<[number, string, number]>('INSERT INTO dirent (parent, name, ino) VALUES (?, ?, ?)');
    this.deleteDirent = db.prepare<[number, string]>('DELETE FROM dirent WHERE parent = ? AND name = ?');
    this.moveDirent = db.prepare<[number, string, number, string]>('UPDATE dirent SET parent = ?, name = ? WHERE parent = ? AND name = ?');
    this.selectXattr = db.prepare<[number, string], Buffer>('SELECT value FROM xattr WHERE ino = ? AND name = ?').pluck();
    this.selectXattrs = db.prepare<[number], string>('SELECT name FROM xattr WHERE ino = ? ORDER BY name').pluck();
    this.upsertXattr = db.prepare<[number, string, Buffer]>('INSERT OR REPLACE INTO xattr (ino, name, value) VALUES (?, ?, ?)');
    this.deleteXattr = db.prepare<[number, string]>('DELETE FROM xattr WHERE ino = ? AND name = ?');
    this.deleteXattrs = db.prepare<[number]>('DELETE FROM xattr WHERE ino = ?');
    this.insertOrphan = db.prepare<[number]>('INSERT OR IGNORE INTO orphan (ino) VALUES (?)');
    this.deleteOrphan = db.prepare<[number]>('DELETE FROM orphan WHERE ino = ?');
    this.selectOrphans = db.prepare<[], number>('SELECT ino FROM orphan').pluck();
    this.countInodes = db.prepare<[], number>('SELECT count(*) FROM inode').pluck();
    this.countOrphans = db.prepare<[], number>('SELECT count(*) FROM orphan').pluck();
    this.selectMeta = db.prepare<[string], unknown>('SELECT value FROM fs_meta WHERE key = ?').pluck();
    this.upsertMeta = db.prepare<[string, number | string]>('INSERT OR REPLACE INTO fs_meta (key, value) VALUES (?, ?)');
    this.xattrInodes = new Set(db.prepare<[], number>('SELECT DISTINCT ino FROM xattr').pluck().all());
    this.selectMaxIno = db.prepare<[], number | null>('SELECT max(ino) FROM inode').pluck();
    this.selectFileSizes = db.prepare<[], { ino: number; size: number }>(`SELECT ino, size FROM inode WHERE (mode & ${S_IFMT}) = ${S_IFREG} ORDER BY ino`);
  }

  /**
   * Make the tables of a new filesystem (root directory owned by `uid`,
   * `gid`, mode 0755), or check that the database already holds one of this
   * format. A machpager store without a filesystem gets one only with
   * `create`.
   */
  static initialise(db: Database.Database, create: boolean, owner: { uid: number; gid: number }, pageSize: number): void {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fs_meta'").get() !== undefined;
    if (hasMeta) {
      const format = db.prepare<[string], unknown>('SELECT value FROM fs_meta WHERE key = ?').pluck().get('format');
      const version = db.prepare<[string], unknown>('SELECT value FROM fs_meta WHERE key = ?').pluck().get('version');
      if (format !== CATALOG_FORMAT) throw new FsError('EINVAL', `${db.name} is not a machpager filesystem`);
      if (typeof version !== 'number' || version > CATALOG_VERSION)
        throw new FsError('EINVAL', `${db.name} has catalog version ${String(version)}; this machpager reads up to ${CATALOG_VERSION}`);
      return;
    }
    if (!create) throw new FsError('ENOENT', `${db.name} holds no machpager filesystem`);
    const now = nowSpec();
    db.transaction(() => {
      db.exec(SCHEMA);
      const meta = db.prepare('INSERT INTO fs_meta (key, value) VALUES (?, ?)');
      meta.run('format', CATALOG_FORMAT);
      meta.run('version', CATALOG_VERSION);
      meta.run('created', Date.now());
      meta.run('page_size', pageSize);
      db.prepare(
        'INSERT INTO inode (ino, mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns, target) VALUES (?, ?, ?, ?, 2, 0, 0, ?, ?, ?, ?, ?, ?, NULL)',
      ).run(ROOT_INO, S_IFDIR | 0o755, owner.uid, owner.gid, now.sec, now.nsec, now.sec, now.nsec, now.sec, now.nsec);
    })();
  }

  meta(key: string): unknown {
    return this.selectMeta.get(key);
  }

  setMeta(key: string, value: number | string): void {
    this.change(() => this.upsertMeta.run(key, value));
  }

  /** Every regular file's inode number and size, in inode order. */
  fileSizes(): { ino: number; size: number }[] {
    return this.selectFileSizes.all();
  }

  get(ino: number): InodeRecord | undefined {
    const row = this.selectInode.get(ino);
    return row && toRecord(row);
  }

  lookup(parent: number, name: string): number | undefined {
    return this.selectDirent.get(parent, name);
  }

  list(parent: number): { name: string; ino: number; mode: number }[] {
    return this.selectDir.all(parent);
  }

  /** The directory an inode is named in (a directory has exactly one). */
  parentOf(ino: number): number | undefined {
    return this.selectParent.get(ino);
  }

  /**
   * A path of inode `ino` ('/a/b'; of a hard-linked file, the first name in
   * catalog order); undefined when it has no name (unlinked, maybe still open).
   */
  pathOf(ino: number): string | undefined {
    const names: string[] = [];
    for (let at = ino; at !== ROOT_INO; ) {
      const entry = this.selectName.get(at);
      // A directory cannot be its own ancestor; the bound only guards against a damaged catalog.
      if (!entry || names.length > 4096) return undefined;
      names.push(entry.name);
      at = entry.parent;
    }
    return `/${names.reverse().join('/')}`;
  }

  /** No entries but libfuse's hidden names of files unlinked while open. */
  isEmptyDir(ino: number): boolean {
    return this.countDir.get(ino) === this.countHidden.get(ino);
  }

  /** The hidden names in a directory (files unlinked while open). */
  hiddenIn(ino: number): { name: string; ino: number }[] {
    return this.selectHiddenIn.all(ino);
  }

  /** Every hidden name in the filesystem (for recovery after a crash). */
  hiddenEntries(): { parent: number; name: string; ino: number }[] {
    return this.selectHidden.all();
  }

  counts(): CatalogCounts {
    return { inodes: this.countInodes.get() ?? 0, orphans: this.countOrphans.get() ?? 0 };
  }

  orphans(): number[] {
    return this.selectOrphans.all();
  }

  /**
   * Commit the group now (what a change that must not wait for fsync needs: a dropped
   * setuid bit). Committed to the WAL, so a killed daemon keeps it; throws like commit().
   */
  commitNow(): void {
    this.group?.commit();
  }

  // ------------------------------------------------------------------ changes (each one savepoint of the group)

  /** Run one change whole or not at all: a savepoint of the commit group, or (no group) a transaction. */
  private change<T>(run: () => T): T {
    return this.group ? this.group.change(run) : this.db.transaction(run)();
  }

  /** The highest inode number in use (0: none). */
  maxIno(): number {
    return this.selectMaxIno.get() ?? 0;
  }

  /** A new inode named `name` in `parent`; the parent's record is written too. Returns the new inode number. */
  create(parent: InodeRecord, name: string, record: Omit<InodeRecord, 'ino'>): number {
    const values = params({ ...record, ino: 0 });
    const parentIno = parent.ino;
    const parentValues = params(parent);
    // The first run picks the number; a replay makes the same one.
    let ino: number | undefined;
    return this.change(() => {
      if (ino === undefined && (this.inodeFloor > 0 || this.inodeClass)) {
        ino = Math.max(this.inodeFloor, (this.selectMaxIno.get() ?? 0) + 1);
        if (this.inodeClass) ino += (((this.inodeClass.slot - ino) % this.inodeClass.of) + this.inodeClass.of) % this.inodeClass.of;
        if (this.inodeFloor > 0) this.inodeFloor = ino + 1;
        this.insertInodeAt.run(...values, ino);
      } else if (ino === undefined) ino = Number(this.insertInode.run(...values).lastInsertRowid);
      else this.insertInodeAt.run(...values, ino);
      this.insertDirent.run(parentIno, name, ino);
      this.updateInode.run(...parentValues, parentIno);
      return ino;
    });
  }

  /** A new name for an existing inode (both records written). */
  link(inode: InodeRecord, parent: InodeRecord, name: string): void {
    const writes = [writeOf(inode), writeOf(parent)];
    this.change(() => {
      this.insertDirent.run(parent.ino, name, inode.ino);
      this.writeValues(writes);
    });
  }

  /**
   * Remove `name` from `parent`. If the inode has no link left it goes too,
   * unless it is still open (`keep`): then it becomes an orphan.
   */
  unlink(parent: InodeRecord, name: string, inode: InodeRecord, keep: boolean): void {
    const parentIno = parent.ino;
    const removal = removalOf(inode, keep);
    const parentWrite = writeOf(parent);
    this.change(() => {
      this.deleteDirent.run(parentIno, name);
      this.removeOrKeep(removal);
      this.writeValues([parentWrite]);
    });
  }

  /**
   * rename(2): move the entry, replacing `replaced` if given (its link goes;
   * a replaced directory goes entirely). Every record passed is written.
   */
  rename(
    from: InodeRecord,
    fromName: string,
    to: InodeRecord,
    toName: string,
    moved: InodeRecord,
    replaced: { inode: InodeRecord; keep: boolean } | undefined,
  ): void {
    const fromIno = from.ino;
    const toIno = to.ino;
    const removal = replaced && removalOf(replaced.inode, replaced.keep);
    const writes = [writeOf(moved), writeOf(from)];
    if (toIno !== fromIno) writes.push(writeOf(to));
    this.change(() => {
      if (removal) {
        this.deleteDirent.run(toIno, toName);
        this.removeOrKeep(removal);
      }
      this.moveDirent.run(toIno, toName, fromIno, fromName);
      this.writeValues(writes);
    });
  }

  /** Write an inode's attributes. */
  write(record: InodeRecord): void {
    this.writeAll([record]);
  }

  /** Write many inodes' attributes in one change. */
  writeAll(records: Iterable<InodeRecord>): void {
    const writes = [...records].map(writeOf);
    if (writes.length === 0) return;
    this.change(() => this.writeValues(writes));
  }

  /** An orphan's last close: it goes for good. */
  dropOrphan(ino: number): void {
    this.change(() => {
      this.deleteOrphan.run(ino);
      this.deleteInode.run(ino);
      this.deleteXattrs.run(ino);
    });
  }

  getXattr(ino: number, name: string): Buffer | undefined {
    return this.xattrInodes.has(ino) ? this.selectXattr.get(ino, name) : undefined;
  }

  listXattrs(ino: number): string[] {
    return this.xattrInodes.has(ino) ? this.selectXattrs.all(ino) : [];
  }

  setXattr(inode: InodeRecord, name: string, value: Buffer): void {
    const write = writeOf(inode);
    this.change(() => {
      this.upsertXattr.run(write.ino, name, value);
      this.writeValues([write]);
    });
    this.xattrInodes.add(inode.ino);
  }

  /** False if there was no such attribute. */
  removeXattr(inode: InodeRecord, name: string): boolean {
    if (this.getXattr(inode.ino, name) === undefined) return false;
    const write = writeOf(inode);
    this.change(() => {
      this.deleteXattr.run(write.ino, name);
      this.writeValues([write]);
    });
    return true;
  }

  private writeValues(writes: readonly InodeWrite[]): void {
    for (const w of writes) this.updateInode.run(...w.values, w.ino);
  }

  private removeOrKeep(removal: Removal): void {
    if (removal.kind === 'drop') {
      this.deleteInode.run(removal.ino);
      this.deleteXattrs.run(removal.ino);
      return;
    }
    this.writeValues([removal.write]);
    if (removal.kind === 'orphan') this.insertOrphan.run(removal.write.ino);
  }
}

/** An inode's attributes as an UPDATE's values, taken when the change is made. */
interface InodeWrite {
  readonly ino: number;
  readonly values: readonly unknown[];
}

function writeOf(record: InodeRecord): InodeWrite {
  return { ino: record.ino, values: params(record) };
}

/** What a lost link does to its inode: written (links left), kept as an orphan (still open), or dropped. */
type Removal = { kind: 'write' | 'orphan'; write: InodeWrite } | { kind: 'drop'; ino: number };

function removalOf(inode: InodeRecord, keep: boolean): Removal {
  if (inode.nlink > 0) return { kind: 'write', write: writeOf(inode) };
  if (keep) return { kind: 'orphan', write: writeOf(inode) };
  return { kind: 'drop', ino: inode.ino };
}

/** The wall clock at start, in ns, less the monotonic clock then: now = base + hrtime (monotonic, ns). */
const clockBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** The current time with nanoseconds (never going backwards while the daemon runs). */
/** A new inode's record, empty and with every time `now` (the caller adds the catalog's ino). */
export function newInodeRecord(mode: number, uid: number, gid: number, nlink: number, now: Timespec): Omit<InodeRecord, 'ino'> {
  return { mode, uid, gid, nlink, size: 0, rdev: 0, atime: now, mtime: now, ctime: now, target: null };
}

export function nowSpec(): Timespec {
  const ns = clockBase + process.hrtime.bigint();
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}
