/**
 * What the FUSE operations of MachFilesystem share: answering a reply from
 * a promise, the read-only check, and the times an operation moves.
 */
import { nowSpec } from './catalog.js';
import { FsError, toFsError } from './errors.js';
import type { MachFilesystem } from './filesystem.js';
import type { Reply, ReplyVoid } from './fuse/contract.js';
import type { Inode } from './inode.js';

/** Run an async operation and answer with its result or its error. */
export function later<T>(reply: Reply<T>, work: () => Promise<T>): void {
  work().then(
    (value) => reply(null, value),
    (err: unknown) => reply(toFsError(err)),
  );
}

export function laterVoid(reply: ReplyVoid, work: () => Promise<void>): void {
  work().then(
    () => reply(),
    (err: unknown) => reply(toFsError(err)),
  );
}

/** EROFS on a read-only mount. */
export function writable(fs: MachFilesystem): void {
  if (fs.config.readOnly) throw new FsError('EROFS');
}

/** A change moves ctime; a change of the data ('mc') moves mtime too. */
export function touchTimes(inode: Inode, which: 'mc' | 'c'): void {
  const now = nowSpec();
  if (which === 'mc') inode.mtime = now;
  inode.ctime = now;
}
