/**
 * machpager fsck's engine: open a filesystem store (read-only, unless
 * repairing), check the catalog (tree.ts), then the page data against it
 * (data.ts), and report. The caller makes sure no daemon serves the store.
 */
import { SharingDataStore } from '../shadow-store.js';
import { SharedPages } from '../shared-pages.js';
import { Catalog } from '../catalog.js';
import { openDataStore, type DataStore } from '../data-store.js';
import { isDir } from '../mode.js';
import { checkData } from './data.js';
import { exitCodeOf, type FsckReport } from './report.js';
import { FsckRun } from './run.js';
import { checkTree } from './tree.js';

export interface FsckOptions {
  /** The filesystem store's typed name: 'sqlite:/abs/fs.db' or 'file:/abs/dir'. */
  readonly store: string;
  readonly repair: boolean;
}

const DEFAULT_PAGE_SIZE = 4096;

/** Open the store's filesystem, at the page size it was made with (raw files keep a CRC per page of that size). */
async function open(options: FsckOptions): Promise<{ data: DataStore; catalog: Catalog; pageSize: number }> {
  const readOnly = !options.repair;
  let data = await openDataStore(options.store, { create: false, pageSize: DEFAULT_PAGE_SIZE, readOnly });
  try {
    Catalog.initialise(data.catalog.db, false, { uid: 0, gid: 0 }, DEFAULT_PAGE_SIZE);
    const made = new Catalog(data.catalog.db).meta('page_size');
    const pageSize = typeof made === 'number' && made > 0 ? made : DEFAULT_PAGE_SIZE;
    if (pageSize !== DEFAULT_PAGE_SIZE) {
      await data.close();
      data = await openDataStore(options.store, { create: false, pageSize, readOnly });
    }
    // Snapshots share pages: a repair that removes data pushes what they still share first.
    return { data: new SharingDataStore(data, new SharedPages(data.catalog, data.kind, pageSize)), catalog: new Catalog(data.catalog.db), pageSize };
  } catch (err) {
    // The open failed: its error is the answer, not a close's after it.
    await data.close().catch(() => undefined);
    throw err;
  }
}

/** Check (and with `repair`, fix what is safe) the filesystem in `options.store`. Rejects only when it cannot be opened. */
export async function fsck(options: FsckOptions): Promise<FsckReport> {
  const { data, catalog, pageSize } = await open(options);
  const report: FsckReport = {
    store: data.name,
    repair: options.repair,
    problems: [],
    damaged_pages: [],
    checked: { inodes: 0, directories: 0, files: 0, pages: 0 },
    exit_code: 0,
  };
  try {
    const run = new FsckRun(catalog, data, pageSize, options.repair, report);
    try {
      if (await checkTree(run)) await checkData(run);
      const inodes = run.scan.inodes();
      report.checked.inodes = inodes.length;
      report.checked.directories = inodes.filter((i) => isDir(i.mode)).length;
    } catch (err) {
      // A catalog SQLite cannot read (SQLITE_CORRUPT ...): what was found so far stands, the rest is unknown.
      await run.problem({ kind: 'integrity', path: catalog.db.name, message: `cannot check further: ${err instanceof Error ? err.message : String(err)}` });
    }
    if (options.repair) await data.syncCatalog();
  } finally {
    await data.close();
  }
  report.exit_code = exitCodeOf(report);
  return report;
}
