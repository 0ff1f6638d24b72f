/**
 * A simulated power loss on a live mount, then a reboot in place:
 *
 *  1. the gate closes (every new operation: EIO) and the operations in
 *     flight are let finish;
 *  2. with --keep or --torn, every dirty page is written back first (into
 *     the journal: none of it is durable), so the plan can keep some;
 *  3. the plan (loss-plan.ts) says what goes; --dry-run stops here;
 *  4. the power goes: writes still on their way vanish, every page in the
 *     cache is dropped unwritten, every open handle goes stale, every
 *     memory object terminates;
 *  5. each surviving file's store gets its durable pages back (pre-images,
 *     zeros past its durable end, its size cut), the catalog its durable
 *     rows, then the store is synced and the mount's recovery runs as at any
 *     mount after a crash (orphans go, data past sizes goes);
 *  6. the state now is the new durable point; the gate opens again (or stays
 *     shut until --power-on, for a crash point; or the mount goes, --unmount).
 */
import type { MachFilesystem } from '../filesystem.js';
import { MINCORE_MODIFIED } from '../../../kernel/index.js';
import type { CrashTest } from './crash-test.js';
import { planLoss, type CrashChoice, type FileLoss, type LossPlan, type NameChange } from './loss-plan.js';
import type { CatalogRows } from './durable-catalog.js';

export interface CrashReport {
  dry_run: boolean;
  /** Files that lose pages or size, or go. */
  files: FileLoss[];
  /** Names made or removed since their directory's last durable point. */
  names: NameChange[];
  lost_pages: number;
  lost_bytes: number;
  kept_pages: number;
  took_ms: number;
}

/** How long a power loss waits for the operations in flight. */
const IDLE_WAIT_MS = 10_000;

export async function powerLoss(fs: MachFilesystem, crash: CrashTest, choice: CrashChoice, dryRun: boolean): Promise<CrashReport> {
  const started = Date.now();
  const gate = crash.gate;
  const wasDown = gate.state === 'down';
  if (!dryRun) {
    gate.state = 'down';
    await gate.idle(IDLE_WAIT_MS);
    if ((choice.keep || choice.torn) && !wasDown) await writeBackAll(fs);
  }
  // Data of files unlinked before the crash goes first (their removal runs after the unlink's reply).
  await fs.removals.settled();
  // Pages on their way to the store get there first (into the journal), so the plan sees them.
  for (const object of fs.objects.values()) if (!object.isFreed) await object.pager.writer.drain();
  // Sizes changed by writes reach the catalog now (not durably): the plan reads the live rows.
  fs.flushAttributes();
  const target = crash.durable.target();
  const plan = planLoss({ db: fs.catalog.db, journal: crash.journal, pageSize: fs.pageSize, target, files: cachedFiles(fs) }, choice);
  const report = reportOf(plan, fs.pageSize, dryRun, started);
  if (dryRun) return report;
  await powerOff(fs, crash);
  await restore(fs, crash, plan, crash.durable.target(plan.sizes));
  report.took_ms = Date.now() - started;
  return report;
}

function reportOf(plan: LossPlan, pageSize: number, dryRun: boolean, started: number): CrashReport {
  const lost = plan.files.reduce((n, f) => n + f.lost_pages, 0);
  return {
    dry_run: dryRun,
    files: plan.files,
    names: plan.names,
    lost_pages: lost,
    lost_bytes: lost * pageSize,
    kept_pages: plan.files.reduce((n, f) => n + f.kept_pages, 0),
    took_ms: Date.now() - started,
  };
}

/** Every object's dirty pages to its store (journalled: none of it durable). A failure leaves them dirty: they are lost. */
async function writeBackAll(fs: MachFilesystem): Promise<void> {
  for (const object of fs.objects.values()) {
    if (object.isFreed || object.pager.state !== 'normal') continue;
    await object.pager.sync(true).catch((err: unknown) => fs.log(`crash: writing back inode ${object.inode.ino} before choosing what survives: ${String(err)}`));
  }
}

/** The files the cache holds: their size in memory and their dirty pages. */
function cachedFiles(fs: MachFilesystem): Map<number, { size: number; dirty: number[] }> {
  const files = new Map<number, { size: number; dirty: number[] }>();
  for (const object of fs.objects.values()) {
    if (object.isFreed) continue;
    const size = object.inode.size;
    const dirty: number[] = [];
    if (object.pager.state === 'normal') {
      const extent = Math.ceil(size / fs.pageSize) * fs.pageSize;
      const vec = fs.kernel.mincoreByControl(object.pager.control, 0, extent) ?? new Uint8Array();
      vec.forEach((bits, page) => {
        if ((bits & MINCORE_MODIFIED) !== 0) dirty.push(page);
      });
    }
    files.set(object.inode.ino, { size, dirty });
  }
  return files;
}

/** The power goes: nothing more is written, the cache is dropped, handles go stale, objects terminate. */
async function powerOff(fs: MachFilesystem, crash: CrashTest): Promise<void> {
  crash.journal.powerOff = true;
  const objects = [...fs.objects.values()].filter((o) => !o.isFreed);
  for (const object of objects) {
    if (object.pager.state === 'normal') await object.pager.flush(true);
    await object.pager.writer.drain();
  }
  for (const [fh, handle] of fs.handles) {
    crash.gate.stale.add(fh);
    handle.inode.opens--;
    handle.object?.release();
  }
  fs.handles.clear();
  for (const object of objects) await object.uncache();
  for (const object of objects) await object.closed();
  const deadline = Date.now() + IDLE_WAIT_MS;
  while ([...fs.objects.values()].some((o) => !o.isFreed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const object of fs.objects.values()) await object.closed();
  fs.namespace.clear();
  crash.journal.powerOff = false;
}

/** The stores and the catalog go back to the durable state the plan keeps; then the mount's own recovery. */
async function restore(fs: MachFilesystem, crash: CrashTest, plan: LossPlan, target: CatalogRows): Promise<void> {
  const { journal } = crash;
  journal.recording = false;
  const pageSize = fs.pageSize;
  const zeros = Buffer.alloc(pageSize);
  for (const [ino, j] of journal.inodes) {
    const row = target.inodes.get(ino);
    if (!row) continue;
    const kept = plan.kept.get(ino) ?? new Set<number>();
    const endAfter = Math.ceil(row.size / pageSize) * pageSize;
    const store = await fs.data.open(ino);
    try {
      if (store.size < j.durableSize) await store.setSize(j.durableSize);
      await writeRuns(store, pageSize, [...j.before].filter(([page]) => !kept.has(page)));
      const durableEnd = Math.ceil(j.durableSize / pageSize);
      const zeroed: [number, Buffer][] = [];
      for (const page of j.written.keys()) {
        if (page < durableEnd || kept.has(page) || page * pageSize >= Math.min(endAfter, store.size)) continue;
        zeroed.push([page, zeros]);
      }
      await writeRuns(store, pageSize, zeroed);
      if (store.size > Math.max(endAfter, j.durableSize)) await store.setSize(Math.max(endAfter, Math.ceil(j.durableSize / pageSize) * pageSize));
      await store.sync();
    } finally {
      await store.close();
    }
  }
  fs.catalog.commitNow();
  crash.durable.apply(target);
  await fs.data.syncCatalog();
  journal.reset();
  await fs.recover();
  await fs.space?.account.refresh();
  crash.restart();
}

/** Pages a store write takes at most when runs of pages are put back together. */
const RUN_PAGES = 256;

/**
 * `pages` (page number, its bytes) written to `store`, each run of
 * consecutive pages in one write: a page at a time, 100 MiB put back took
 * seconds; runs of a MiB take a fraction of one.
 */
async function writeRuns(store: { write(offset: number, data: Buffer): Promise<number> }, pageSize: number, pages: [number, Buffer][]): Promise<void> {
  pages.sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < pages.length; ) {
    let end = i + 1;
    while (end < pages.length && end - i < RUN_PAGES && pages[end][0] === pages[end - 1][0] + 1) end++;
    const run = pages.slice(i, end);
    await store.write(run[0][0] * pageSize, run.length === 1 ? run[0][1] : Buffer.concat(run.map(([, data]) => data)));
    i = end;
  }
}
