/**
 * Durability of a WAL database at fsync: with synchronous=NORMAL a commit
 * writes its frames into the -wal file (so it survives a crash of the
 * process at once) without syncing it. Making every commit so far survive
 * power loss too needs only the frames on the disk: one fdatasync of the
 * -wal file, not a checkpoint and not one more commit with
 * synchronous=FULL (which writes a frame of its own before it syncs).
 * SQLite syncs the WAL itself before a checkpoint copies frames into the
 * database, and the database after it, so frames that reached the
 * database are durable already.
 *
 * The -wal file is opened once and kept: while the connection is open
 * SQLite truncates or restarts it but never removes it.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { StoreError } from './store.js';

export class WalSync {
  private fd: number | undefined;
  /** fdatasyncs made. */
  syncs = 0;

  constructor(readonly databasePath: string) {}

  get walPath(): string {
    return `${this.databasePath}-wal`;
  }

  /** Put every frame written to the -wal file so far on the disk. A missing WAL (nothing committed in WAL mode yet) needs nothing. */
  sync(): void {
    try {
      if (this.fd === undefined) {
        try {
          this.fd = openSync(this.walPath, 'r');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw err;
        }
      }
      fdatasyncSync(this.fd);
      this.syncs++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StoreError(code === 'ENOSPC' || code === 'EDQUOT' ? code : 'EIO', `fdatasync ${this.walPath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}
