/**
 * Finding files in the mount for the control verbs: a path inside the
 * mount to its inode (a ControlError with the errno when it is not
 * there), and the regular files of a directory (and, recursive, of its
 * whole tree), in name order, breadth first, yielding to the event loop
 * every few hundred entries so that the FUSE loop is never starved by a
 * big tree.
 */
import { isHiddenName } from '../fs/catalog.js';
import type { MachFilesystem } from '../fs/filesystem.js';
import type { Inode } from '../fs/inode.js';
import { isDir, isReg } from '../fs/mode.js';
import { ControlError } from './control-error.js';

/** Entries listed between yields to the event loop while walking a tree. */
const WALK_BATCH = 256;

/** A regular file found: its inode and its path inside the mount. */
export interface FoundFile {
  readonly inode: Inode;
  readonly path: string;
}

/** The inode at `p`, a path inside the mount ('/a/b'). */
export function resolveInner(fs: MachFilesystem, p: string): Inode {
  if (!p.startsWith('/')) throw new ControlError('EINVAL', `"${p}" is not a path inside the mount (it must start with /)`);
  try {
    return fs.namespace.resolve(p);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') throw new ControlError(code, `${p}: ${code === 'ENOENT' ? 'no such file or directory' : code}`);
    throw err;
  }
}

/** The regular files in `dir` (whose path is `prefix`, '' for the root), and below it with recursive. */
export async function walkFiles(fs: MachFilesystem, dir: Inode, prefix: string, recursive: boolean): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  const pending: { ino: number; prefix: string }[] = [{ ino: dir.ino, prefix }];
  let listed = 0;
  while (pending.length > 0) {
    const { ino, prefix: at } = pending.shift() as { ino: number; prefix: string };
    for (const entry of fs.catalog.list(ino)) {
      if (isHiddenName(entry.name)) continue;
      const path = `${at}/${entry.name}`;
      if (isReg(entry.mode)) out.push({ inode: fs.namespace.inode(entry.ino), path });
      else if (recursive && isDir(entry.mode)) pending.push({ ino: entry.ino, prefix: path });
      if (++listed % WALK_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return out;
}

/** The regular files the paths name: a file itself, a directory's files (its tree with recursive). */
export async function filesAt(fs: MachFilesystem, paths: readonly string[], recursive: boolean): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  for (const p of paths) {
    const inode = resolveInner(fs, p);
    if (isReg(inode.mode)) out.push({ inode, path: p });
    else if (isDir(inode.mode)) out.push(...(await walkFiles(fs, inode, p === '/' ? '' : p, recursive)));
  }
  return out;
}
