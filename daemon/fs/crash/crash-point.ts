/**
 * Crash points: `OP:GLOB[:after]` with an occurrence N (`--nth N`, default
 * 1). OP is a FUSE operation name (write, fsync, fsyncdir, rename, create,
 * unlink, mkdir, truncate, ...; `fdatasync` is fsync with its datasync
 * flag); GLOB is matched against the file's name, or its whole path when it
 * holds a '/' (rename matches its old or its new path). Before (the
 * default): the Nth matching operation does not run, it gets EIO and the
 * power goes at once. `:after`: it runs, and the power goes before its
 * answer, which is EIO too (the program never learns whether it happened).
 */
import { FsError } from '../errors.js';
import { FUSE_OPS } from '../fuse/contract.js';

export interface CrashPointSpec {
  readonly op: string;
  readonly glob: string;
  readonly after: boolean;
  readonly nth: number;
}

/** fsync's datasync flag tells fdatasync from fsync. */
const ALIASES: Readonly<Record<string, string>> = { fdatasync: 'fsync' };

export function parseCrashPoint(text: string, nth = 1): CrashPointSpec {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new FsError('EINVAL', `crash point '${text}': expected OP:GLOB[:after], e.g. 'rename:*.wal' or 'fsync:db*:after'`);
  const op = text.slice(0, colon);
  let glob = text.slice(colon + 1);
  let after = false;
  if (glob.endsWith(':after')) {
    after = true;
    glob = glob.slice(0, -':after'.length);
  } else if (glob.endsWith(':before')) {
    glob = glob.slice(0, -':before'.length);
  }
  if (!(FUSE_OPS as readonly string[]).includes(op) && ALIASES[op] === undefined)
    throw new FsError('EINVAL', `crash point '${text}': no operation '${op}' (one of ${[...FUSE_OPS, ...Object.keys(ALIASES)].join(', ')})`);
  if (glob === '') throw new FsError('EINVAL', `crash point '${text}': the GLOB is empty (use * for every file)`);
  if (!Number.isSafeInteger(nth) || nth < 1) throw new FsError('EINVAL', `crash point '${text}': the occurrence must be a whole number from 1`);
  return { op, glob, after, nth };
}

export function formatCrashPoint(spec: CrashPointSpec): string {
  return `${spec.op}:${spec.glob}${spec.after ? ':after' : ''}${spec.nth === 1 ? '' : ` (occurrence ${spec.nth})`}`;
}

/** A shell glob (*, ?, [...]) as a regular expression over the whole string; * does not cross '/'. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** An armed crash point: counts its matches, and says when the Nth comes. */
export class CrashPoint {
  private readonly re: RegExp;
  private readonly byPath: boolean;
  private readonly op: string;
  private readonly datasync: boolean | undefined;
  matches = 0;

  constructor(readonly spec: CrashPointSpec) {
    this.re = globRegExp(spec.glob);
    this.byPath = spec.glob.includes('/');
    this.op = ALIASES[spec.op] ?? spec.op;
    this.datasync = spec.op === 'fdatasync' ? true : undefined;
  }

  /** Whether `op` on `paths` is the occurrence to crash at (counting it if it matches). */
  fires(op: string, paths: readonly string[], datasync: boolean | undefined): boolean {
    if (op !== this.op) return false;
    if (this.datasync !== undefined && datasync !== this.datasync) return false;
    if (!paths.some((p) => this.re.test(this.byPath ? p : p.slice(p.lastIndexOf('/') + 1)))) return false;
    return ++this.matches === this.spec.nth;
  }
}
