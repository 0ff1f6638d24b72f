/**
 * Changes grouped into one SQLite transaction, as a journalling filesystem
 * groups metadata into one transaction (ext4's jbd2, the Hurd's diskfs
 * leaving it to the disk's order): the durability contract asks for
 * durability at fsync, not at every create, so a commit per create is
 * cost with nothing bought.
 *
 * change() opens the group's transaction if none is open and runs the
 * change in a savepoint of its own: a change that fails is rolled back
 * alone and its error thrown to its caller at once, as before. The group
 * commits when asked (write-back, fsync, fsyncdir, sync, unmount) and on a
 * timer (default 1 s), so a crash loses at most that much of what was
 * never fsynced; between commits the connection runs WAL with
 * synchronous=NORMAL.
 *
 * A commit that fails is never a silent loss: every change since the last
 * commit is kept in a journal. If SQLite rolled the transaction back (a
 * full disk or an I/O error at COMMIT may), the journal is replayed at once
 * into a new transaction, so reads on the connection still see every
 * change; commit() throws the errno (ENOSPC stays ENOSPC) to its caller
 * (fsync, sync, unmount) and the next commit tries again. Only a commit
 * that succeeds empties the journal.
 */
import { sqliteErrnoCode } from './errno.js';
import { StoreError } from './store.js';

export const COMMIT_INTERVAL_MS = 1000;

/** What the group needs of a connection (better-sqlite3's Database has it; only sqlite-connection.ts opens one). */
export interface GroupDatabase {
  prepare(sql: string): { run(): unknown };
  readonly inTransaction: boolean;
}

export interface CommitGroupOptions {
  /** Commit what is pending this often (ms); 0: only when asked. Default COMMIT_INTERVAL_MS. */
  intervalMs?: number;
  /** Where a timer commit's failure is said (it is kept, and thrown by the next commit()). */
  log?: (line: string) => void;
}

export interface CommitGroupStats {
  /** Changes run in the group. */
  changes: number;
  /** Commits that wrote something. */
  commits: number;
  /** Commits that failed. */
  failures: number;
  /** Replays of the journal after SQLite rolled a group back. */
  replays: number;
}

/** A change as the journal keeps it: run again on replay (it must do the same statements with the same values). */
type Change = () => void;

export class SqliteCommitGroup {
  private journal: Change[] = [];
  /** The group's transaction is open (BEGIN was run by us). */
  private open = false;
  /** The last commit's failure, until a commit succeeds. */
  private failure: StoreError | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly counters: CommitGroupStats = { changes: 0, commits: 0, failures: 0, replays: 0 };
  private readonly log: (line: string) => void;
  private readonly begin;
  private readonly commitStatement;
  private readonly rollback;
  private readonly savepoint;
  private readonly release;
  private readonly rollbackTo;

  constructor(
    readonly db: GroupDatabase,
    options: CommitGroupOptions = {},
  ) {
    this.log = options.log ?? ((line) => process.stderr.write(`machpager: ${line}\n`));
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commitStatement = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT machpager_change');
    this.release = db.prepare('RELEASE machpager_change');
    this.rollbackTo = db.prepare('ROLLBACK TO machpager_change');
    const interval = options.intervalMs ?? COMMIT_INTERVAL_MS;
    if (interval > 0) {
      this.timer = setInterval(() => this.commitQuietly(), interval);
      this.timer.unref();
    }
  }

  /** Changes run since the last successful commit. */
  get pending(): number {
    return this.journal.length;
  }

  stats(): CommitGroupStats {
    return { ...this.counters };
  }

  /**
   * Run `run` (synchronous SQLite statements) in the group, in its own
   * savepoint. Its error is thrown and only it is undone. `journal: false`
   * for work its caller redoes itself after a failed commit (page data the
   * pager keeps and writes again): it is not replayed.
   */
  change<T>(run: () => T, options: { journal?: boolean } = {}): T {
    // Inside a transaction that is not the group's (someone's db.transaction): a savepoint of it, committed with it.
    const outer = !this.open && this.db.inTransaction;
    if (!outer) this.ensureOpen();
    this.savepoint.run();
    let result: T;
    try {
      result = run();
    } catch (err) {
      this.undoChange(outer);
      throw err;
    }
    this.release.run();
    if (outer) return result;
    this.counters.changes++;
    if (options.journal !== false) this.journal.push(run);
    return result;
  }

  /**
   * Commit the group now. Throws the errno of a failed commit (the changes
   * are kept and replayed, and the next commit tries again); nothing to do
   * when nothing is pending.
   */
  commit(): void {
    if (!this.open) {
      // A replay that could not reopen the group leaves changes only in the journal.
      if (this.journal.length === 0) return;
      this.replay();
      if (!this.open) throw this.failure ?? new StoreError('EIO', 'the grouped changes could not be replayed');
    }
    try {
      this.commitStatement.run();
    } catch (err) {
      this.counters.failures++;
      this.failure = groupError(err, 'commit');
      if (!this.db.inTransaction) {
        this.open = false;
        this.replay();
      }
      throw this.failure;
    }
    this.open = false;
    this.journal = [];
    this.failure = undefined;
    this.counters.commits++;
  }

  /** The timer's commit: a failure is said and kept for the next commit() (fsync, sync, unmount) to report. */
  commitQuietly(): void {
    if (!this.open && this.journal.length === 0) return;
    try {
      this.commit();
    } catch (err) {
      this.log(`committing catalog changes: ${err instanceof Error ? err.message : String(err)}; kept, tried again at the next fsync, sync or commit`);
    }
  }

  /** Commit what is pending and stop the timer. Throws like commit() (then the group stays usable). */
  close(): void {
    this.commit();
    if (this.timer) clearInterval(this.timer);
  }

  /** Stop the timer without committing (the connection is going away after a failure it reported). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private ensureOpen(): void {
    if (this.open) {
      // SQLite may have rolled the whole transaction back under a failing statement of someone else's.
      if (this.db.inTransaction) return;
      this.open = false;
      this.replay();
      if (this.open) return;
    }
    if (this.journal.length > 0) {
      this.replay();
      if (this.open) return;
      throw this.failure ?? new StoreError('EIO', 'the grouped changes could not be replayed');
    }
    this.begin.run();
    this.open = true;
  }

  /** Roll back the failed change's savepoint; if SQLite rolled back the whole group instead, replay the journal. */
  private undoChange(outer: boolean): void {
    if (this.db.inTransaction) {
      this.rollbackTo.run();
      this.release.run();
      return;
    }
    if (outer) return;
    this.open = false;
    this.replay();
  }

  /**
   * The group's transaction is gone (rolled back by SQLite): begin anew and
   * run every journalled change again, so the connection sees them all.
   */
  private replay(): void {
    this.counters.replays++;
    try {
      this.begin.run();
      for (const change of this.journal) change();
      this.open = true;
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      this.open = false;
      this.failure = groupError(err, 'replay');
      this.log(`replaying ${this.journal.length} catalog change(s) after a failed commit: ${this.failure.message}; kept, tried again`);
    }
  }
}

function groupError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = `${what} of grouped changes: ${err instanceof Error ? err.message : String(err)}`;
  return new StoreError((typeof code === 'string' ? sqliteErrnoCode(code) : undefined) ?? 'EIO', message, { cause: err });
}
