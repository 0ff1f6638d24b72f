/**
 * The commit group (stores/sqlite-commit-group.ts): changes grouped into one
 * transaction, committed at write-back, sync, release and on a timer; one
 * failing change undone alone; a failed commit never loses a change and its
 * errno reaches the caller of sync.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireSqliteConnection, SqliteCommitGroup, SqliteStore, type GroupDatabase, type SqliteConnection } from '../../stores/index.js';
import { pattern } from './conformance.js';
import { tempDir } from './tmp.js';

const dir = tempDir('commit-group');
let serial = 0;
const dbPath = (): string => join(dir, `db-${++serial}.db`);

/** A table of the test's own beside the store's, in the same database. */
function withNotes(connection: SqliteConnection): void {
  connection.db.exec('CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)');
}

function addNote(connection: SqliteConnection, text: string, group = connection.group): void {
  if (!group) throw new Error('no commit group');
  group.change(() => connection.db.prepare('INSERT INTO note (text) VALUES (?)').run(text));
}

/** The notes a killed process leaves behind: a copy of the database and its WAL as they are now, opened anew. */
function notesAfterCrash(connection: SqliteConnection): string[] {
  const crashed = dbPath();
  copyFileSync(connection.path, crashed);
  if (existsSync(`${connection.path}-wal`)) copyFileSync(`${connection.path}-wal`, `${crashed}-wal`);
  const after = acquireSqliteConnection(crashed);
  try {
    const has = after.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'note'").get() !== undefined;
    return has ? after.db.prepare<[], string>('SELECT text FROM note ORDER BY id').pluck().all() : [];
  } finally {
    after.release();
  }
}

function notes(connection: SqliteConnection): string[] {
  return connection.db.prepare<[], string>('SELECT text FROM note ORDER BY id').pluck().all();
}

/**
 * The connection's database with COMMIT failing `times` times as SQLite
 * fails one on a full disk or an I/O error: the transaction rolled back, an
 * error with SQLite's code thrown.
 */
function failingCommits(db: SqliteConnection['db'], code: string, times: number): GroupDatabase {
  let left = times;
  return new Proxy(db, {
    get(target, key) {
      if (key === 'prepare') {
        return (sql: string) => {
          const statement = target.prepare(sql);
          if (sql !== 'COMMIT') return statement;
          return {
            run: () => {
              if (left <= 0) return statement.run();
              left--;
              target.exec('ROLLBACK');
              throw Object.assign(new Error(`${code}: injected`), { code });
            },
          };
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('SqliteCommitGroup', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('groups changes into one transaction, committed by sync (fsync), which also makes them durable', () => {
    const connection = acquireSqliteConnection(dbPath(), { create: true });
    try {
      withNotes(connection);
      addNote(connection, 'a');
      addNote(connection, 'b');
      expect(connection.group?.pending).toBe(2);
      expect(notes(connection)).toEqual(['a', 'b']); // the connection sees them at once
      expect(notesAfterCrash(connection)).toEqual([]); // not committed yet
      const before = connection.stats().syncs;
      connection.sync();
      expect(connection.group?.pending).toBe(0);
      expect(connection.stats().syncs).toBe(before + 1);
      expect(notesAfterCrash(connection)).toEqual(['a', 'b']);
      connection.sync();
      expect(connection.stats().syncs).toBe(before + 1); // nothing new: no fdatasync
    } finally {
      connection.release();
    }
  });

  it('commits with a write-back (queued page writes) and at the last release (unmount)', async () => {
    const path = dbPath();
    const store = await SqliteStore.open({ path, create: true, size: 1 << 20 });
    const connection = store.connection;
    withNotes(connection);
    addNote(connection, 'before the write-back');
    await store.write(0, pattern(4096, 1));
    expect(connection.group?.pending).toBe(0);
    expect(notesAfterCrash(connection)).toEqual(['before the write-back']);
    addNote(connection, 'before the unmount');
    await store.close();
    const reopened = acquireSqliteConnection(path);
    try {
      expect(notes(reopened)).toEqual(['before the write-back', 'before the unmount']);
    } finally {
      reopened.release();
    }
  });

  it('commits on its timer', () => {
    vi.useFakeTimers();
    const connection = acquireSqliteConnection(dbPath(), { create: true });
    try {
      withNotes(connection);
      const group = new SqliteCommitGroup(connection.db, { intervalMs: 1000 });
      addNote(connection, 'timed', group);
      vi.advanceTimersByTime(999);
      expect(notesAfterCrash(connection)).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(group.pending).toBe(0);
      expect(notesAfterCrash(connection)).toEqual(['timed']);
      group.close();
    } finally {
      connection.release();
    }
  });

  it('rolls back one failing change alone and throws its error to its caller', () => {
    const connection = acquireSqliteConnection(dbPath(), { create: true });
    try {
      withNotes(connection);
      addNote(connection, 'one');
      expect(() => addNote(connection, 'one')).toThrow(/UNIQUE/);
      expect(() =>
        connection.group?.change(() => {
          connection.db.prepare('INSERT INTO note (text) VALUES (?)').run('half of a change');
          connection.db.prepare('INSERT INTO note (text) VALUES (?)').run('two');
          connection.db.prepare('INSERT INTO note (text) VALUES (?)').run('two');
        }),
      ).toThrow(/UNIQUE/);
      addNote(connection, 'three');
      expect(connection.group?.pending).toBe(2);
      connection.sync();
      expect(notesAfterCrash(connection)).toEqual(['one', 'three']);
    } finally {
      connection.release();
    }
  });

  it('a failed commit reaches the caller of sync with its errno, and the changes are kept', () => {
    const connection = acquireSqliteConnection(dbPath(), { create: true });
    try {
      // A deferred foreign key makes COMMIT itself fail, with the transaction left open.
      connection.db.pragma('foreign_keys = ON');
      connection.db.exec(`
        CREATE TABLE owner (id INTEGER PRIMARY KEY);
        CREATE TABLE owned (id INTEGER PRIMARY KEY, owner INTEGER REFERENCES owner (id) DEFERRABLE INITIALLY DEFERRED);
      `);
      const group = connection.group;
      if (!group) throw new Error('no commit group');
      group.change(() => connection.db.prepare('INSERT INTO owned (id, owner) VALUES (1, 7)').run());
      expect(() => connection.sync()).toThrow(expect.objectContaining({ code: 'EIO' }) as Error);
      expect(group.pending).toBe(1);
      expect(group.stats().failures).toBe(1);
      group.change(() => connection.db.prepare('INSERT INTO owner (id) VALUES (7)').run());
      connection.sync();
      expect(group.pending).toBe(0);
      expect(connection.db.prepare('SELECT owner FROM owned WHERE id = 1').pluck().get()).toBe(7);
    } finally {
      connection.release();
    }
  });

  it('replays every change after SQLite rolled a failed commit back (ENOSPC stays ENOSPC), and commits them at the next try', () => {
    const connection = acquireSqliteConnection(dbPath(), { create: true });
    try {
      withNotes(connection);
      const log: string[] = [];
      const group = new SqliteCommitGroup(failingCommits(connection.db, 'SQLITE_FULL', 2), { intervalMs: 0, log: (l) => log.push(l) });
      addNote(connection, 'x', group);
      addNote(connection, 'y', group);
      expect(() => group.commit()).toThrow(expect.objectContaining({ code: 'ENOSPC' }) as Error);
      // Rolled back and replayed: the connection still sees both, and nothing reached the disk.
      expect(group.stats().replays).toBe(1);
      expect(notes(connection)).toEqual(['x', 'y']);
      expect(notesAfterCrash(connection)).toEqual([]);
      group.commitQuietly(); // the timer's try: fails again, said, kept
      expect(log.join('\n')).toMatch(/ENOSPC|SQLITE_FULL/);
      addNote(connection, 'z', group);
      group.commit();
      expect(group.pending).toBe(0);
      expect(notesAfterCrash(connection)).toEqual(['x', 'y', 'z']);
      group.close();
    } finally {
      connection.release();
    }
  });
});
