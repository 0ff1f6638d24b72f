/**
 * Crash testing on one mount (`machpager crash`): the journal of the files'
 * data (crash-journal.ts), the catalog's durable state (durable-catalog.ts),
 * the gate in front of the FUSE operations (crash-gate.ts), and the one
 * armed crash point. Nothing is kept until begin(), which syncs the mount:
 * from then on every fsync, fdatasync, fsync of a directory and sync is a
 * durable point, and a crash (power-loss.ts) goes back to the latest.
 */
import type { Catalog } from '../catalog.js';
import { FsError } from '../errors.js';
import type { MachFilesystem } from '../filesystem.js';
import { CrashGate } from './crash-gate.js';
import { CrashJournal } from './crash-journal.js';
import { CrashPoint, formatCrashPoint, type CrashPointSpec } from './crash-point.js';
import { DurableCatalog, type CatalogDb } from './durable-catalog.js';
import type { CrashChoice } from './loss-plan.js';
import { powerLoss, type CrashReport } from './power-loss.js';

/** What happened at the last crash point that fired. */
export interface FiredPoint {
  point: string;
  at: number;
  report?: CrashReport;
  error?: string;
}

export interface CrashStatus {
  begun: boolean;
  power: 'up' | 'down';
  /** The armed crash point and its matches so far. */
  armed?: { point: string; matches: number; unmount: boolean };
  fired?: FiredPoint;
  /** Files with unsynced changes the journal keeps pre-images for, and how many. */
  journal: { files: number; pre_images: number; deferred_removals: number };
}

/** Told of every power loss with what it took (the daemon log); `unmount` set when the mount is to go. */
export type CrashSink = (what: string, report: CrashReport) => void;

export class CrashTest {
  readonly gate = new CrashGate();
  readonly journal: CrashJournal;
  readonly durable: DurableCatalog;
  begun = false;
  fired: FiredPoint | undefined;
  /** Where power losses are told (set by the control socket's handler). */
  sink: CrashSink = () => undefined;
  private unmountAfter: (() => Promise<void>) | undefined;
  private running: Promise<CrashReport> | undefined;
  private catalog: Catalog | undefined;
  private fs: MachFilesystem | undefined;

  constructor(db: CatalogDb, pageSize: number) {
    this.durable = new DurableCatalog(db);
    this.journal = new CrashJournal(pageSize, (ino) => this.durable.has(ino));
    this.gate.onFire = (spec) => this.fire(spec);
  }

  /** The filesystem this crash test is part of (set once it is made). */
  attach(fs: MachFilesystem): void {
    this.fs = fs;
    this.catalog = fs.catalog;
  }

  get isDown(): boolean {
    return this.gate.state === 'down';
  }

  /** Sync the mount, then keep the bookkeeping from now on. Again: a new durable point (a sync). */
  async begin(): Promise<void> {
    const fs = this.need();
    if (this.isDown) throw new FsError('EIO', 'the power is off: machpager crash MOUNT --power-on first');
    await fs.sync();
    if (this.begun) return;
    this.restart();
    this.begun = true;
    this.gate.active = true;
  }

  /** The state on the store now is the durable state (after begin's sync, and after a crash). */
  restart(): void {
    this.durable.load();
    this.journal.reset();
    this.journal.recording = true;
    if (this.catalog) this.catalog.inodeFloor = Math.max(this.catalog.inodeFloor, this.durable.maxIno() + 1);
  }

  // ------------------------------------------------------------------ durable points (from the filesystem)

  /** fsync or fdatasync of the file returned: every write to its store so far is durable. */
  fileDurable(ino: number): void {
    if (!this.begun) return;
    this.journal.durable(ino, this.journal.mark());
    this.durable.syncInode(ino);
  }

  dirDurable(ino: number): void {
    if (!this.begun) return;
    this.durable.syncDir(ino);
    void this.settle();
  }

  /** sync returned: everything so far is durable. */
  allDurable(): void {
    if (!this.begun) return;
    this.journal.durableAll(this.journal.mark());
    this.durable.load();
    void this.settle();
  }

  /** Data whose removal was put off goes once the durable catalog no longer has its file. */
  private async settle(): Promise<void> {
    const fs = this.fs;
    if (!fs) return;
    for (const ino of [...this.journal.deferred]) {
      if (this.durable.has(ino)) continue;
      this.journal.deferred.delete(ino);
      await fs.destroyInodeData(ino).catch((err: unknown) => fs.log(`crash test: removing the data of inode ${ino}: ${String(err)}; the next mount removes it`));
    }
  }

  // ------------------------------------------------------------------ power loss and crash points

  /** A power loss now (or, dry, what it would take). The mount goes on as after a reboot unless `stayDown`. */
  async crash(choice: CrashChoice, options: { dryRun?: boolean; stayDown?: boolean } = {}): Promise<CrashReport> {
    const fs = this.need();
    if (!this.begun) throw new FsError('EINVAL', 'no crash test on this mount: machpager crash MOUNT --begin first (it syncs, then keeps what a crash needs)');
    if (this.running) throw new FsError('EBUSY', 'a crash is in progress');
    const dryRun = options.dryRun === true;
    const running = powerLoss(fs, this, choice, dryRun);
    if (!dryRun) this.running = running;
    try {
      return await running;
    } finally {
      if (!dryRun) {
        this.running = undefined;
        this.gate.state = options.stayDown === true ? 'down' : 'up';
      }
    }
  }

  /** Arm a crash point (replacing one armed before). With `unmount`, the mount goes when it fires. */
  arm(spec: CrashPointSpec, unmount: (() => Promise<void>) | undefined): void {
    if (!this.begun) throw new FsError('EINVAL', 'no crash test on this mount: machpager crash MOUNT --begin first');
    this.gate.point = new CrashPoint(spec);
    this.unmountAfter = unmount;
    this.fired = undefined;
  }

  disarm(): void {
    this.gate.point = undefined;
    this.unmountAfter = undefined;
  }

  /** After a crash point: the mount boots on the durable state (already restored when the point fired). */
  powerOn(): void {
    if (this.running) throw new FsError('EBUSY', 'the crash is still being done');
    this.gate.state = 'up';
  }

  /** Resolves when the crash in progress (a crash point's) is done. */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  status(): CrashStatus {
    let preImages = 0;
    for (const j of this.journal.inodes.values()) preImages += j.before.size;
    const point = this.gate.point;
    return {
      begun: this.begun,
      power: this.gate.state,
      ...(point ? { armed: { point: formatCrashPoint(point.spec), matches: point.matches, unmount: this.unmountAfter !== undefined } } : {}),
      ...(this.fired ? { fired: this.fired } : {}),
      journal: { files: this.journal.inodes.size, pre_images: preImages, deferred_removals: this.journal.deferred.size },
    };
  }

  private fire(spec: CrashPointSpec): void {
    const point = formatCrashPoint(spec);
    const unmount = this.unmountAfter;
    this.unmountAfter = undefined;
    const fired: FiredPoint = { point, at: Date.now() };
    this.fired = fired;
    this.crash({}, { stayDown: true }).then(
      async (report) => {
        fired.report = report;
        this.sink(`crash point ${point} fired`, report);
        if (unmount) await unmount();
      },
      (err: unknown) => {
        fired.error = err instanceof Error ? err.message : String(err);
        this.fs?.log(`crash point ${point}: ${fired.error}`);
      },
    ).catch((err: unknown) => this.fs?.log(`crash point ${point}: unmounting: ${String(err)}`));
  }

  private need(): MachFilesystem {
    if (!this.fs) throw new FsError('EIO', 'the crash test is not attached to a filesystem');
    return this.fs;
  }
}
