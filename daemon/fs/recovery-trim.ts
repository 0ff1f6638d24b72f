/**
 * Mount recovery after an unclean stop: stored data past a file's size goes.
 *
 * The pager writes pages back whenever the cache evicts them; a file's size
 * reaches the catalog later (the attribute flush, an fsync). A daemon killed
 * in between leaves pages past the size the catalog kept, and bytes past it
 * in its last page. Those bytes were never made durable by a size update,
 * and POSIX has none past EOF: a truncate that grows the file, or a write
 * past its end, would otherwise bring them back where zeros belong. So they
 * go the way a running daemon's truncate drops them (file-object.ts): the
 * store is cut at the end of the last page, and the rest of a partial last
 * page is zeroed. (fsck --repair, which runs before any mount, keeps such
 * data by growing the size, as e2fsck does; a mount drops it.)
 *
 * Cost: one index lookup per file (DataStore.storedEnd); a store is opened,
 * and one page read, only for a file that has data at or past the start of
 * its partial last page. It runs only after an unclean stop (filesystem.ts
 * keeps the catalog's clean mark).
 */
import type { DataStore } from './data-store.js';

/** What recovery trimmed: files, and bytes of data past their sizes. */
export interface TrimCounts {
  files: number;
  bytes: number;
  /** Files whose data could not be trimmed (said in the log; tried again at the next mount). */
  failed: number;
}

export interface TrimHost {
  /** Run a change that frees space (the reserve released on a full disk). */
  freeing<T>(change: () => Promise<T>): Promise<T>;
  log(line: string): void;
  /** A path for the log. */
  pathOf(ino: number): string;
}

/** Trim every file's stored data to its size (see above). */
export async function trimPastSizes(
  data: DataStore,
  files: Iterable<{ ino: number; size: number }>,
  pageSize: number,
  host: TrimHost,
): Promise<TrimCounts> {
  const counts: TrimCounts = { files: 0, bytes: 0, failed: 0 };
  for (const { ino, size } of files) {
    try {
      const bytes = await host.freeing(() => trimFile(data, ino, size, pageSize));
      if (bytes === 0) continue;
      counts.files++;
      counts.bytes += bytes;
      host.log(`recovery: ${host.pathOf(ino)}: ${bytes} bytes past its size ${size} dropped (written back, never synced before the daemon stopped)`);
    } catch (err) {
      counts.failed++;
      host.log(`recovery: ${host.pathOf(ino)}: data past its size ${size} not trimmed: ${err instanceof Error ? err.message : String(err)}; the next mount tries again`);
    }
  }
  return counts;
}

/** Trim one file's stored data to `size`; resolves the bytes dropped or zeroed (0: nothing was past the size). */
async function trimFile(data: DataStore, ino: number, size: number, pageSize: number): Promise<number> {
  const tail = size - (size % pageSize);
  const end = tail === size ? size : tail + pageSize;
  const stored = await data.storedEnd(ino);
  if (stored <= tail) return 0;
  const store = await data.open(ino);
  try {
    let bytes = 0;
    if (stored > end) {
      await store.setSize(end);
      bytes += stored - end;
    }
    if (end > size) {
      const page = Buffer.alloc(pageSize);
      await store.read(tail, page);
      const past = page.subarray(size - tail);
      if (!past.equals(Buffer.alloc(past.length))) {
        past.fill(0);
        await store.write(tail, page);
        bytes += past.length;
      }
    }
    if (bytes > 0) await store.sync();
    return bytes;
  } finally {
    await store.close();
  }
}
