/**
 * The data of files that lost their last name, removed after the reply to
 * the unlink (or rename over them) that took the name. The name is gone from
 * the catalog before the reply, so that is what unlink(2) promises; the rest
 * (the kernel's pages dropped with a lock_request round trip, the store
 * closed, the rows deleted) is the file system's own business, as ext4
 * frees an inode's blocks in its journal commit and XFS in the background.
 * A crash in between leaves rows of an inode with no record, which the next
 * mount's recovery removes.
 *
 * Whoever needs the room or the quiet waits for them (settled): statfs, a
 * claim of room that would fail (ENOSPC only once they are done, as ext4
 * retries an allocation after its journal commit), sync, unmount, a
 * simulated power loss. Inode numbers are not reused while the daemon runs
 * (catalog inodeFloor), so a new file never meets the old object.
 */

/** Removals in flight past which an unlink's reply waits for one of them. */
export const MAX_PENDING_REMOVALS = 64;

export class Removals {
  private readonly pending = new Set<Promise<void>>();
  /** Removals begun so far (for statistics and tests). */
  started = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly max = MAX_PENDING_REMOVALS,
  ) {}

  /** Removals not finished yet. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Begin `work` (it reports its own failures; a throw is logged here).
   * Returns what the reply waits for: nothing, or, with `max` removals in
   * flight, the end of one of them, so that a long rm -rf cannot pile up
   * objects without bound.
   */
  add(work: () => Promise<void>): Promise<void> | undefined {
    this.started++;
    const running: Promise<void> = work()
      .catch((err: unknown) => this.log(`removing a file's data: ${String(err)}`))
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
    return this.pending.size > this.max ? Promise.race(this.pending) : undefined;
  }

  /** Resolves when every removal begun so far has finished; undefined when none is in flight. */
  settled(): Promise<void> | undefined {
    if (this.pending.size === 0) return undefined;
    return Promise.all(this.pending).then(() => undefined);
  }
}
