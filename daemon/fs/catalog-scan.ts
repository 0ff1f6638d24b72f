/**
 * The catalog as fsck sees it: whole tables at once, SQLite's own
 * integrity check, and the few raw changes a repair makes that no namespace
 * operation does (dropping a name whose inode is gone, moving an entry into
 * lost+found, setting a link count). Each change is one statement, so one
 * transaction. The namespace itself never uses this.
 */
import type Database from 'better-sqlite3';

export interface ScannedInode {
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly size: number;
}

export interface ScannedEntry {
  readonly parent: number;
  readonly name: string;
  readonly ino: number;
}

export class CatalogScan {
  private readonly selectInodes;
  private readonly selectEntries;
  private readonly deleteEntry;
  private readonly updateEntry;
  private readonly updateNlink;
  private readonly updateSize;

  constructor(private readonly db: Database.Database) {
    this.selectInodes = db.prepare<[], ScannedInode>('SELECT ino, mode, nlink, size FROM inode ORDER BY ino');
    this.selectEntries = db.prepare<[], ScannedEntry>('SELECT parent, name, ino FROM dirent ORDER BY parent, name');
    this.deleteEntry = db.prepare<[number, string]>('DELETE FROM dirent WHERE parent = ? AND name = ?');
    this.updateEntry = db.prepare<[number, string, number, string]>('UPDATE dirent SET parent = ?, name = ? WHERE parent = ? AND name = ?');
    this.updateNlink = db.prepare<[number, number]>('UPDATE inode SET nlink = ? WHERE ino = ?');
    this.updateSize = db.prepare<[number, number]>('UPDATE inode SET size = ? WHERE ino = ?');
  }

  /** PRAGMA integrity_check: [] when SQLite finds the database sound, else its complaints (at most 100). */
  integrity(): string[] {
    const rows = this.db.pragma('integrity_check(100)') as { integrity_check: string }[];
    const lines = rows.map((r) => r.integrity_check);
    return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
  }

  inodes(): ScannedInode[] {
    return this.selectInodes.all();
  }

  entries(): ScannedEntry[] {
    return this.selectEntries.all();
  }

  removeEntry(parent: number, name: string): void {
    this.deleteEntry.run(parent, name);
  }

  moveEntry(parent: number, name: string, toParent: number, toName: string): void {
    this.updateEntry.run(toParent, toName, parent, name);
  }

  setNlink(ino: number, nlink: number): void {
    this.updateNlink.run(nlink, ino);
  }

  setSize(ino: number, size: number): void {
    this.updateSize.run(size, ino);
  }
}
