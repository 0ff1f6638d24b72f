/**
 * fsck of the catalog: SQLite's integrity check, then the namespace as a
 * tree: the root, every name's inode and directory, what a crash leaves
 * (.fuse_hidden* names, orphans: files unlinked while open), directories
 * the root does not reach (cycles) or that have two names, inodes without a
 * name, and link counts. Repairs, in that order, re-read the tables after
 * each pass, so a later check sees what an earlier repair did. Nothing that
 * holds data is dropped unless it had no name left (a crash's leftovers, as
 * the next mount would drop them); a name that points nowhere goes; what has
 * links but no name goes to /lost+found as #INO, as e2fsck does.
 */
import { isHiddenName, ROOT_INO } from '../catalog.js';
import type { ScannedEntry, ScannedInode } from '../catalog-scan.js';
import { isDir } from '../mode.js';
import type { FsckRun } from './run.js';

/** Bounds the repair loops: a catalog is not fixed by trying forever. */
const MAX_PASSES = 10_000;

export async function checkTree(run: FsckRun): Promise<boolean> {
  for (const line of run.scan.integrity()) {
    await run.problem({ kind: 'integrity', path: run.catalog.db.name, message: `SQLite integrity check: ${line}` });
  }
  const root = run.catalog.get(ROOT_INO);
  if (!root || !isDir(root.mode)) {
    await run.problem({ kind: 'root', path: '/', ino: ROOT_INO, message: root ? 'the root directory is no directory' : 'the root directory is missing' });
    return false;
  }
  await checkNames(run);
  await checkLeftovers(run);
  await checkReachable(run);
  await checkUnattached(run);
  await checkLinkCounts(run);
  return true;
}

function inodeMap(run: FsckRun): Map<number, ScannedInode> {
  return new Map(run.scan.inodes().map((i) => [i.ino, i]));
}

/** Every name's inode exists, and its directory is one. */
async function checkNames(run: FsckRun): Promise<void> {
  const inodes = inodeMap(run);
  for (const e of run.scan.entries()) {
    const path = run.entryPath(e.parent, e.name);
    if (!inodes.has(e.ino)) {
      await run.problem({ kind: 'dangling-entry', path, ino: e.ino, message: `names inode ${e.ino}, which does not exist` }, () => {
        run.scan.removeEntry(e.parent, e.name);
        return 'the name was removed';
      });
      continue;
    }
    const parent = inodes.get(e.parent);
    if (!parent || !isDir(parent.mode)) {
      const why = parent ? `is in inode ${e.parent}, which is no directory` : `is in directory inode ${e.parent}, which does not exist`;
      await run.problem({ kind: 'detached-entry', path, ino: e.ino, message: why }, () => toLostFound(run, e));
    }
  }
}

/** What a crash leaves: libfuse's hidden names and orphans (the next mount drops both; so does a repair). */
async function checkLeftovers(run: FsckRun): Promise<void> {
  for (const e of run.scan.entries()) {
    if (!isHiddenName(e.name)) continue;
    await run.problem(
      { kind: 'hidden', path: run.entryPath(e.parent, e.name), ino: e.ino, message: 'a file unlinked while open, left by a crash' },
      async () => {
        const record = run.catalog.get(e.ino);
        const dir = run.catalog.get(e.parent);
        if (!record || !dir) throw new Error('its inode or directory is gone');
        record.nlink--;
        run.catalog.unlink(dir, e.name, record, false);
        if (record.nlink > 0) return 'the hidden name was removed (the file has other names)';
        await run.data.destroy(e.ino);
        return 'removed, with its data';
      },
    );
  }
  const named = new Set(run.scan.entries().map((e) => e.ino));
  for (const ino of run.catalog.orphans()) {
    const path = `(deleted, inode ${ino})`;
    if (named.has(ino)) {
      await run.problem({ kind: 'orphan', path: run.pathOf(ino), ino, message: 'is listed as unlinked while open, but has names' });
      continue;
    }
    await run.problem({ kind: 'orphan', path, ino, message: 'a file unlinked while open (nlink 0), left by a crash' }, async () => {
      await run.data.destroy(ino);
      run.catalog.dropOrphan(ino);
      return 'removed, with its data';
    });
  }
}

/** Every directory has one name, and the root reaches it. */
async function checkReachable(run: FsckRun): Promise<void> {
  const reported = new Set<number>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const inodes = inodeMap(run);
    const names = namesOf(run.scan.entries());
    const twice = [...names].find(([ino, list]) => list.length > 1 && isDir(inodes.get(ino)?.mode ?? 0) && !reported.has(ino));
    if (twice) {
      const [ino, list] = twice;
      reported.add(ino);
      const [keep, ...extra] = list as [ScannedEntry, ...ScannedEntry[]];
      const fixed = await run.problem(
        { kind: 'directory-links', path: run.entryPath(keep.parent, keep.name), ino, message: `a directory with ${list.length} names (also ${extra.map((e) => run.entryPath(e.parent, e.name)).join(', ')})` },
        () => {
          for (const e of extra) run.scan.removeEntry(e.parent, e.name);
          return `kept ${run.entryPath(keep.parent, keep.name)}, removed the other names`;
        },
      );
      if (fixed) continue;
    }
    const reached = reachable(inodes, run.scan.entries());
    const lost = [...inodes.values()].find((i) => isDir(i.mode) && !reached.has(i.ino) && names.has(i.ino));
    if (!lost) return;
    // Up its parents to where the chain leaves the tree (a missing parent) or loops.
    let head = (names.get(lost.ino) as ScannedEntry[])[0];
    const seen = new Set<number>([lost.ino]);
    for (let up = names.get(head.parent)?.[0]; up && !seen.has(head.parent); up = names.get(head.parent)?.[0]) {
      seen.add(head.parent);
      head = up;
    }
    const fixed = await run.problem(
      { kind: 'unreachable', path: `(directory inode ${head.ino}, named ${JSON.stringify(head.name)} in inode ${head.parent})`, ino: head.ino, message: 'a directory the root does not reach (its parents form a cycle)' },
      () => toLostFound(run, head),
    );
    // Unfixed, the next pass would find the same one: report each cycle once and stop.
    if (!fixed) {
      for (const i of inodes.values()) {
        if (isDir(i.mode) && !reached.has(i.ino) && names.has(i.ino) && !seen.has(i.ino) && i.ino !== head.ino) {
          await run.problem({ kind: 'unreachable', path: `(directory inode ${i.ino})`, ino: i.ino, message: 'a directory the root does not reach' });
        }
      }
      return;
    }
  }
}

/** Inodes with no name: with links, to lost+found; without (nlink 0, not listed as orphans), removed. */
async function checkUnattached(run: FsckRun): Promise<void> {
  const named = new Set(run.scan.entries().map((e) => e.ino));
  const orphans = new Set(run.catalog.orphans());
  for (const i of run.scan.inodes()) {
    if (i.ino === ROOT_INO || named.has(i.ino) || orphans.has(i.ino)) continue;
    const path = `(inode ${i.ino}, no name)`;
    if (i.nlink <= 0) {
      await run.problem({ kind: 'orphan', path, ino: i.ino, message: 'an inode with no name and no links, left by a crash' }, async () => {
        await run.data.destroy(i.ino);
        run.catalog.dropOrphan(i.ino);
        return 'removed, with its data';
      });
      continue;
    }
    await run.problem({ kind: 'unattached', path, ino: i.ino, message: `an inode with ${i.nlink} link(s) but no name` }, () => {
      const record = run.catalog.get(i.ino);
      if (!record) throw new Error('it is gone');
      const lf = run.lostFound();
      const name = `#${i.ino}`;
      run.catalog.link({ ...record, nlink: isDir(record.mode) ? record.nlink : 1 }, { ...lf, nlink: lf.nlink + (isDir(record.mode) ? 1 : 0) }, name);
      return `named /lost+found/${name}`;
    });
  }
}

/** nlink: a directory has 2 + its subdirectories, anything else its names. */
async function checkLinkCounts(run: FsckRun): Promise<void> {
  const inodes = inodeMap(run);
  const counts = new Map<number, number>();
  for (const i of inodes.values()) counts.set(i.ino, isDir(i.mode) ? 2 : 0);
  for (const e of run.scan.entries()) {
    const child = inodes.get(e.ino);
    if (!child) continue;
    if (isDir(child.mode)) counts.set(e.parent, (counts.get(e.parent) ?? 0) + 1);
    else counts.set(e.ino, (counts.get(e.ino) ?? 0) + 1);
  }
  const orphans = new Set(run.catalog.orphans());
  for (const i of inodes.values()) {
    const should = counts.get(i.ino) ?? 0;
    if (i.nlink === should || (orphans.has(i.ino) && should === 0)) continue;
    await run.problem({ kind: 'nlink', path: run.pathOf(i.ino), ino: i.ino, message: `link count ${i.nlink}, should be ${should}` }, () => {
      run.scan.setNlink(i.ino, should);
      return `set to ${should}`;
    });
  }
}

/** Move a name into /lost+found as #INO. */
function toLostFound(run: FsckRun, e: ScannedEntry): string {
  const lf = run.lostFound();
  const name = `#${e.ino}`;
  if (run.catalog.lookup(lf.ino, name) !== undefined) throw new Error(`/lost+found/${name} exists already`);
  run.scan.moveEntry(e.parent, e.name, lf.ino, name);
  return `moved to /lost+found/${name}`;
}

function namesOf(entries: readonly ScannedEntry[]): Map<number, ScannedEntry[]> {
  const names = new Map<number, ScannedEntry[]>();
  for (const e of entries) {
    const list = names.get(e.ino);
    if (list) list.push(e);
    else names.set(e.ino, [e]);
  }
  return names;
}

/** The inodes the root reaches through directories. */
function reachable(inodes: ReadonlyMap<number, ScannedInode>, entries: readonly ScannedEntry[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const e of entries) {
    const list = children.get(e.parent);
    if (list) list.push(e.ino);
    else children.set(e.parent, [e.ino]);
  }
  const reached = new Set<number>([ROOT_INO]);
  const pending = [ROOT_INO];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const ino of children.get(dir) ?? []) {
      if (reached.has(ino)) continue;
      reached.add(ino);
      if (isDir(inodes.get(ino)?.mode ?? 0)) pending.push(ino);
    }
  }
  return reached;
}
