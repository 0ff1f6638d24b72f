/**
 * fsck of the page data against the catalog: data (or checksums) for
 * inodes that do not exist or are no regular files; data past a file's
 * size (a crash after write-back, before the size reached the catalog: the
 * next mount drops it, recovery-trim.ts; the repair, run before that mount,
 * extends the size over it, as e2fsck does, rather than drop data);
 * and every stored page read through the same checksummed path a mount
 * uses, so a page that fails here fails there. A damaged page is marked
 * (its reads keep failing with EIO, its bytes stay where they are, a write
 * of the page clears the mark); a page marked before is listed, not
 * counted as a problem.
 */
import { isDataError, type Store } from '../../../stores/index.js';
import { isReg } from '../mode.js';
import { SharingDataStore } from '../shadow-store.js';
import type { FsckRun } from './run.js';

/** Pages read at once; a run that fails is read again page by page to find the bad ones. */
const CHUNK_PAGES = 64;

export async function checkData(run: FsckRun): Promise<void> {
  const inodes = new Map(run.scan.inodes().map((i) => [i.ino, i]));
  await checkSharedPages(run, inodes);
  for (const ino of await run.data.inodesWithData()) {
    const inode = inodes.get(ino);
    if (inode && isReg(inode.mode)) continue;
    await run.problem(
      { kind: 'extra-data', path: `(data of inode ${ino})`, ino, message: inode ? 'page data for an inode that is no regular file' : 'page data for an inode that does not exist' },
      async () => {
        await run.data.destroy(ino);
        return 'the data was removed';
      },
    );
  }
  for (const inode of inodes.values()) {
    if (!isReg(inode.mode)) continue;
    run.report.checked.files++;
    const pages = await run.data.storedPages(inode.ino);
    if (pages.length === 0) continue;
    const path = run.pathOf(inode.ino);
    const last = pages[pages.length - 1];
    const end = Math.ceil(inode.size / run.pageSize) * run.pageSize;
    if (last >= end) {
      const size = last + run.pageSize;
      await run.problem({ kind: 'size', path, ino: inode.ino, offset: end, message: `page data past the file's size ${inode.size} (up to ${size})` }, () => {
        run.scan.setSize(inode.ino, size);
        return `size set to ${size}`;
      });
    }
    await checkPages(run, inode.ino, path, pages);
  }
}

/**
 * Snapshot links (shared-pages.ts): pages a snapshot does not hold are its
 * base's, stored once, so they are no leak and their absence no loss. A link
 * is wrong when its snapshot is gone (repair: the link goes), or when its
 * base is gone with no data left (repair: the link goes; those pages read
 * as zeros). A base inode gone with its data still there is extra-data,
 * whose repair gives every snapshot its pages first.
 */
async function checkSharedPages(run: FsckRun, inodes: Map<number, { mode: number }>): Promise<void> {
  if (!(run.data instanceof SharingDataStore)) return;
  const shared = run.data.pages;
  const withData = new Set(await run.data.inodesWithData());
  for (const link of shared.all()) {
    const child = inodes.get(link.ino);
    const base = inodes.get(link.base);
    const broken = !child || !isReg(child.mode)
      ? `shares pages with inode ${link.base}, but inode ${link.ino} does not exist or is no regular file`
      : (!base || !isReg(base.mode)) && !withData.has(link.base)
        ? `reads ${link.end} bytes through to inode ${link.base}, which is gone with its data`
        : undefined;
    if (broken === undefined) continue;
    await run.problem({ kind: 'shared-pages', path: child ? run.pathOf(link.ino) : `(snapshot inode ${link.ino})`, ino: link.ino, message: broken }, async () => {
      await shared.unlink(link.ino);
      return child ? 'the link was removed (the pages it shared read as zeros)' : 'the link was removed';
    });
  }
}

/** Read every stored page of one file; report and (with --repair) mark the damaged ones. */
async function checkPages(run: FsckRun, ino: number, path: string, pages: readonly number[]): Promise<void> {
  const store = await run.data.open(ino, { readOnly: true });
  const bad: { offset: number; why: string; marked: boolean }[] = [];
  try {
    for (let i = 0; i < pages.length; ) {
      // A run of consecutive pages, at most CHUNK_PAGES long.
      let j = i + 1;
      while (j < pages.length && j - i < CHUNK_PAGES && pages[j] === pages[j - 1] + run.pageSize) j++;
      const offset = pages[i];
      const failed = await readPages(store, offset, j - i, run.pageSize);
      if (failed !== undefined) {
        for (let k = i; k < j; k++) {
          const page = pages[k];
          const one = await readPages(store, page, 1, run.pageSize);
          if (one !== undefined) bad.push({ offset: page, ...one });
        }
      }
      run.report.checked.pages += j - i;
      i = j;
    }
  } finally {
    await store.close();
  }
  for (const { offset, why, marked } of bad) {
    if (marked) {
      run.report.damaged_pages.push({ path, ino, offset });
      continue;
    }
    const fixed = await run.problem({ kind: 'damaged-page', path, ino, offset, message: why }, async () => {
      await run.data.markDamaged(ino, offset);
      return 'page marked damaged: reads of it give EIO until it is written again';
    });
    if (fixed) run.report.damaged_pages.push({ path, ino, offset });
  }
}

/** Read `count` pages at `offset`: undefined when they read right, else why not (marked: fsck marked it before). */
async function readPages(store: Store, offset: number, count: number, pageSize: number): Promise<{ why: string; marked: boolean } | undefined> {
  try {
    await store.read(offset, Buffer.alloc(count * pageSize));
    return undefined;
  } catch (err) {
    if (isDataError(err)) {
      const why = { checksum: 'checksum mismatch', missing: 'missing from the store (recorded, but the data file lacks it)', marked: 'marked damaged', corrupt: `unreadable: ${err.message}` }[err.kind];
      return { why, marked: err.kind === 'marked' };
    }
    return { why: `unreadable: ${err instanceof Error ? err.message : String(err)}`, marked: false };
  }
}
