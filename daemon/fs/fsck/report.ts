/**
 * What fsck found and did: one Problem per inconsistency (with the path and,
 * for page data, the offset), the pages already marked damaged (known: they
 * read as EIO, and are no longer a problem), what was checked, and the exit
 * code, as e2fsck's: 0 clean, 1 errors fixed, 4 errors left uncorrected
 * (8 operational error and 16 usage error come from the command itself).
 */

export const FSCK_EXIT = {
  CLEAN: 0,
  FIXED: 1,
  UNCORRECTED: 4,
  OPERATIONAL: 8,
  USAGE: 16,
} as const;

export type ProblemKind =
  /** PRAGMA integrity_check complained, or the catalog could not be read. */
  | 'integrity'
  /** The root directory is missing or is no directory. */
  | 'root'
  /** A name for an inode that does not exist. */
  | 'dangling-entry'
  /** A name in a directory that does not exist (or is no directory). */
  | 'detached-entry'
  /** A directory with more than one name. */
  | 'directory-links'
  /** A directory the root does not reach (a cycle). */
  | 'unreachable'
  /** An inode with links but no name. */
  | 'unattached'
  /** A file unlinked while open, left by a crash (nlink 0). */
  | 'orphan'
  /** libfuse's .fuse_hidden* name of a file unlinked while open, left by a crash. */
  | 'hidden'
  /** The link count differs from the names. */
  | 'nlink'
  /** Page data past the file's size. */
  | 'size'
  /** Page data or checksums for an inode that does not exist or is no regular file. */
  | 'extra-data'
  /** A page whose data fails its checksum, is missing, or is unreadable. */
  | 'damaged-page'
  /** A snapshot's link to the file it shares pages with names an inode that does not exist or no regular file. */
  | 'shared-pages';

export interface Problem {
  readonly kind: ProblemKind;
  /** The file's path in the filesystem ('/a/b'), or a description when it has none. */
  readonly path: string;
  readonly ino?: number;
  /** Byte offset in the file (page problems). */
  readonly offset?: number;
  readonly message: string;
  fixed: boolean;
  /** What the repair did (or why it could not). */
  action?: string;
}

export interface DamagedPage {
  readonly path: string;
  readonly ino: number;
  readonly offset: number;
}

export interface FsckReport {
  readonly store: string;
  readonly repair: boolean;
  readonly problems: Problem[];
  /** Pages marked damaged (by an earlier repair or now): reads of them give EIO until they are written again. */
  readonly damaged_pages: DamagedPage[];
  readonly checked: { inodes: number; directories: number; files: number; pages: number };
  exit_code: number;
}

export function exitCodeOf(report: FsckReport): number {
  if (report.problems.length === 0) return FSCK_EXIT.CLEAN;
  return report.problems.every((p) => p.fixed) ? FSCK_EXIT.FIXED : FSCK_EXIT.UNCORRECTED;
}

/** One line per problem: PATH[ offset N]: what is wrong[: what was done]. */
export function problemLine(p: Problem): string {
  const where = p.offset === undefined ? p.path : `${p.path} offset ${p.offset}`;
  const done = p.action === undefined ? '' : p.fixed ? `: fixed: ${p.action}` : `: NOT fixed: ${p.action}`;
  return `${where}: ${p.message}${done}`;
}

/** The report for people: the problems, the damaged pages, a summary. */
export function reportLines(r: FsckReport): string[] {
  const lines = r.problems.map(problemLine);
  for (const d of r.damaged_pages) lines.push(`${d.path} offset ${d.offset}: marked damaged (reads give EIO until the page is written again)`);
  const { inodes, directories, files, pages } = r.checked;
  const fixed = r.problems.filter((p) => p.fixed).length;
  const left = r.problems.length - fixed;
  const verdict = r.problems.length === 0 ? 'clean' : `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}, ${fixed} fixed, ${left} left`;
  const hint = left > 0 && !r.repair ? ' (machpager fsck --repair fixes what is safe)' : '';
  lines.push(`${r.store}: ${inodes} inodes, ${directories} directories, ${files} files, ${pages} pages checked: ${verdict}${hint}`);
  return lines;
}
