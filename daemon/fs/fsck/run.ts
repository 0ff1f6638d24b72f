/**
 * One fsck run over an open filesystem store: what every check shares (the
 * catalog, the data store, the report), how a problem is recorded and, with
 * --repair, fixed, and lost+found, where repairs put what has no name.
 */
import { Catalog, newInodeRecord, nowSpec, ROOT_INO, type InodeRecord } from '../catalog.js';
import { CatalogScan } from '../catalog-scan.js';
import type { DataStore } from '../data-store.js';
import { isDir, S_IFDIR } from '../mode.js';
import type { FsckReport, Problem } from './report.js';

export const LOST_FOUND = 'lost+found';

export class FsckRun {
  readonly scan: CatalogScan;

  constructor(
    readonly catalog: Catalog,
    readonly data: DataStore,
    readonly pageSize: number,
    readonly repair: boolean,
    readonly report: FsckReport,
  ) {
    this.scan = new CatalogScan(catalog.db);
  }

  /** A path for messages: the inode's first name, else a description. */
  pathOf(ino: number): string {
    return this.catalog.pathOf(ino) ?? `(inode ${ino}, no name)`;
  }

  /** The path of the name `name` in directory `parent`. */
  entryPath(parent: number, name: string): string {
    const dir = this.catalog.pathOf(parent);
    if (dir === undefined) return `(directory inode ${parent})/${name}`;
    return dir === '/' ? `/${name}` : `${dir}/${name}`;
  }

  /**
   * Record a problem; with --repair and a `fix`, run it: it returns what it
   * did. A fix that fails leaves the problem uncorrected, saying why.
   * Resolves whether the problem is fixed.
   */
  async problem(found: Omit<Problem, 'fixed' | 'action'>, fix?: () => string | Promise<string>): Promise<boolean> {
    const problem: Problem = { ...found, fixed: false };
    this.report.problems.push(problem);
    if (!this.repair) return false;
    if (!fix) {
      problem.action = 'no safe repair: left as it is';
      return false;
    }
    try {
      problem.action = await fix();
      problem.fixed = true;
    } catch (err) {
      problem.action = `the repair failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    return problem.fixed;
  }

  /** /lost+found, made (mode 0700, owned as the root directory) if missing. */
  lostFound(): InodeRecord {
    const found = this.catalog.lookup(ROOT_INO, LOST_FOUND);
    if (found !== undefined) {
      const record = this.catalog.get(found);
      if (record && isDir(record.mode)) return record;
      throw new Error(`/${LOST_FOUND} exists and is no directory: move it away first`);
    }
    const root = this.catalog.get(ROOT_INO);
    if (!root) throw new Error('the root directory is missing');
    const now = nowSpec();
    const ino = this.catalog.create({ ...root, nlink: root.nlink + 1, mtime: now, ctime: now }, LOST_FOUND, newInodeRecord(S_IFDIR | 0o700, root.uid, root.gid, 2, now));
    const record = this.catalog.get(ino);
    if (!record) throw new Error(`/${LOST_FOUND} was not made`);
    return record;
  }
}
