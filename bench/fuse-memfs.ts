/**
 * A bare in-memory filesystem on the FUSE adapter: file data in growable
 * Buffers, every answer given synchronously. It is the "JS-mem" target of
 * docs/performance (what any Node FUSE filesystem pays at least), the
 * fixture bench/fuse-floor.ts measures, and the one test/fs mounts.
 *
 * It also records what the tests check: the request context each create
 * got, what utimens received, and the sizes of write and read requests.
 *
 * Run as a program it mounts itself and serves until unmounted:
 *
 *     node dist/bench/fuse-memfs.js MOUNTPOINT ['{"allowOther":true,...}'] ['{"slowGetattrMs":{"/slow":300}}']
 *
 * The optional JSON arguments are FuseMountOptions and MemFsOptions. It prints one JSON object per line
 * on stdout: {"type":"ready",...} once mounted, {"type":"unmounted",
 * "external":true|false} when the mount goes, {"type":"stats",...} when asked.
 * It reads commands from stdin, one per line: "stats", "reset", "unmount".
 * SIGTERM and SIGINT unmount and exit.
 */
import { createInterface } from 'node:readline';
import { FsError } from '../daemon/fs/errors.js';
import { timespecNow, type FuseContext, type FuseOperations, type FuseStat, type FuseStatfs, type Reply, type ReplyDir, type ReplyVoid, type TimeUpdate, type Timespec } from '../daemon/fs/fuse/contract.js';
import type { FuseMountOptions } from '../daemon/fs/fuse/options.js';
import { FuseMount } from '../daemon/fs/fuse/mount.js';
import { emit, serveProgram, unmountOnSignals } from './program.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const O_ACCMODE = 3;
const O_TRUNC = 0o1000;

interface Node {
  readonly ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  data: Buffer;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  readonly children?: Map<string, Node>;
  target?: string;
}

export interface CreateRecord {
  readonly path: string;
  readonly mode: number;
  readonly flags: number;
  readonly ctx: FuseContext;
}

export interface UtimensRecord {
  readonly path: string;
  readonly atime: TimeUpdate;
  readonly mtime: TimeUpdate;
  readonly ctx: FuseContext;
}

export interface MemFsStats {
  readonly creates: readonly CreateRecord[];
  readonly utimens: readonly UtimensRecord[];
  /** Request size → how many write requests had it. */
  readonly writeSizes: Readonly<Record<string, number>>;
  readonly readSizes: Readonly<Record<string, number>>;
}

const RECORD_MAX = 1000;

export interface MemFsOptions {
  /** getattr of these paths answers after this many milliseconds (for timeout tests). */
  readonly slowGetattrMs?: Readonly<Record<string, number>>;
}

function split(path: string): [parent: string, name: string] {
  const i = path.lastIndexOf('/');
  return [i <= 0 ? '/' : path.slice(0, i), path.slice(i + 1)];
}

/** The in-memory filesystem: path-based, as the high-level FUSE API is. */
export class MemFs implements FuseOperations {
  private readonly root: Node;
  private nextIno = 2;
  private nextFh = 1;
  private readonly handles = new Map<number, Node>();
  private creates: CreateRecord[] = [];
  private utimensCalls: UtimensRecord[] = [];
  private writeSizes = new Map<number, number>();
  private readSizes = new Map<number, number>();

  constructor(private readonly options: MemFsOptions = {}) {
    const now = timespecNow();
    this.root = {
      ino: 1, mode: S_IFDIR | 0o777, uid: 0, gid: 0, nlink: 2, size: 0, data: Buffer.alloc(0),
      atime: now, mtime: now, ctime: now, children: new Map(),
    };
  }

  stats(): MemFsStats {
    return {
      creates: this.creates,
      utimens: this.utimensCalls,
      writeSizes: Object.fromEntries(this.writeSizes),
      readSizes: Object.fromEntries(this.readSizes),
    };
  }

  resetStats(): void {
    this.creates = [];
    this.utimensCalls = [];
    this.writeSizes = new Map();
    this.readSizes = new Map();
  }

  private lookup(path: string): Node {
    if (path === '/') return this.root;
    let node = this.root;
    for (const part of path.split('/')) {
      if (part === '') continue;
      const next = node.children?.get(part);
      if (next === undefined) throw new FsError(node.children ? 'ENOENT' : 'ENOTDIR', undefined, { path });
      node = next;
    }
    return node;
  }

  private dir(path: string): Map<string, Node> {
    const node = this.lookup(path);
    if (!node.children) throw new FsError('ENOTDIR', undefined, { path });
    return node.children;
  }

  private make(ctx: FuseContext, path: string, mode: number, children?: Map<string, Node>): Node {
    const [parent, name] = split(path);
    const siblings = this.dir(parent);
    if (siblings.has(name)) throw new FsError('EEXIST', undefined, { path });
    const now = timespecNow();
    const node: Node = {
      ino: this.nextIno++, mode, uid: ctx.uid, gid: ctx.gid, nlink: children ? 2 : 1, size: 0,
      data: Buffer.alloc(0), atime: now, mtime: now, ctime: now, ...(children ? { children } : {}),
    };
    siblings.set(name, node);
    return node;
  }

  private static stat(n: Node): FuseStat {
    return {
      mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, nlink: n.nlink, ino: n.ino,
      atime: n.atime, mtime: n.mtime, ctime: n.ctime,
    };
  }

  private resize(n: Node, size: number): void {
    if (size > n.data.length) {
      const grown = Buffer.alloc(Math.max(size, Math.min(n.data.length * 2, size + 64 * 1024 * 1024)));
      n.data.copy(grown, 0, 0, n.size);
      n.data = grown;
    } else if (size < n.size) {
      n.data.fill(0, size, n.size);
    }
    n.size = size;
  }

  private handle(fh: number, path: string): Node {
    return this.handles.get(fh) ?? this.lookup(path);
  }

  private open1(n: Node): number {
    const fh = this.nextFh++;
    if (this.nextFh > 0x7fff_ffff) this.nextFh = 1;
    this.handles.set(fh, n);
    return fh;
  }

  getattr(_ctx: FuseContext, path: string, reply: Reply<FuseStat>): void {
    const slow = this.options.slowGetattrMs?.[path];
    if (slow !== undefined) {
      setTimeout(() => reply(null, MemFs.stat(this.root)), slow);
      return;
    }
    reply(null, MemFs.stat(this.lookup(path)));
  }

  fgetattr(_ctx: FuseContext, path: string, fh: number, reply: Reply<FuseStat>): void {
    reply(null, MemFs.stat(this.handle(fh, path)));
  }

  statfs(_ctx: FuseContext, _path: string, reply: Reply<FuseStatfs>): void {
    reply(null, { bsize: 4096, frsize: 4096, blocks: 1 << 20, bfree: 1 << 19, bavail: 1 << 19, files: 1 << 20, ffree: 1 << 19, favail: 1 << 19, fsid: 0, flag: 0, namemax: 255 });
  }

  readdir(_ctx: FuseContext, path: string, reply: ReplyDir): void {
    reply(null, ['.', '..', ...this.dir(path).keys()]);
  }

  open(_ctx: FuseContext, path: string, flags: number, reply: Reply<number>): void {
    const n = this.lookup(path);
    if (n.children && (flags & O_ACCMODE) !== 0) throw new FsError('EISDIR', undefined, { path });
    if ((flags & O_TRUNC) !== 0) this.resize(n, 0);
    reply(null, this.open1(n));
  }

  create(ctx: FuseContext, path: string, mode: number, flags: number, reply: Reply<number>): void {
    if (this.creates.length < RECORD_MAX) this.creates.push({ path, mode, flags, ctx });
    const n = this.make(ctx, path, S_IFREG | (mode & 0o7777));
    reply(null, this.open1(n));
  }

  read(_ctx: FuseContext, path: string, fh: number, buffer: Buffer, length: number, position: number, reply: Reply<number>): void {
    this.readSizes.set(length, (this.readSizes.get(length) ?? 0) + 1);
    const n = this.handle(fh, path);
    if (position >= n.size) {
      reply(null, 0);
      return;
    }
    reply(null, n.data.copy(buffer, 0, position, Math.min(n.size, position + length)));
  }

  write(_ctx: FuseContext, path: string, fh: number, buffer: Buffer, length: number, position: number, reply: Reply<number>): void {
    this.writeSizes.set(length, (this.writeSizes.get(length) ?? 0) + 1);
    const n = this.handle(fh, path);
    const end = position + length;
    if (end > n.size) this.resize(n, end);
    buffer.copy(n.data, position, 0, length);
    n.mtime = n.ctime = timespecNow();
    reply(null, length);
  }

  release(_ctx: FuseContext, _path: string, fh: number, reply: ReplyVoid): void {
    this.handles.delete(fh);
    reply();
  }

  flush(_ctx: FuseContext, _path: string, _fh: number, reply: ReplyVoid): void {
    reply();
  }

  fsync(_ctx: FuseContext, _path: string, _datasync: boolean, _fh: number, reply: ReplyVoid): void {
    reply();
  }

  truncate(_ctx: FuseContext, path: string, size: number, reply: ReplyVoid): void {
    const n = this.lookup(path);
    this.resize(n, size);
    n.mtime = n.ctime = timespecNow();
    reply();
  }

  ftruncate(_ctx: FuseContext, path: string, fh: number, size: number, reply: ReplyVoid): void {
    const n = this.handle(fh, path);
    this.resize(n, size);
    n.mtime = n.ctime = timespecNow();
    reply();
  }

  utimens(ctx: FuseContext, path: string, atime: TimeUpdate, mtime: TimeUpdate, reply: ReplyVoid): void {
    if (this.utimensCalls.length < RECORD_MAX) this.utimensCalls.push({ path, atime, mtime, ctx });
    const n = this.lookup(path);
    const now = timespecNow();
    if (atime !== 'omit') n.atime = atime === 'now' ? now : atime;
    if (mtime !== 'omit') n.mtime = mtime === 'now' ? now : mtime;
    n.ctime = now;
    reply();
  }

  chmod(_ctx: FuseContext, path: string, mode: number, reply: ReplyVoid): void {
    const n = this.lookup(path);
    n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
    n.ctime = timespecNow();
    reply();
  }

  chown(_ctx: FuseContext, path: string, uid: number, gid: number, reply: ReplyVoid): void {
    const n = this.lookup(path);
    if (uid !== -1) n.uid = uid;
    if (gid !== -1) n.gid = gid;
    n.ctime = timespecNow();
    reply();
  }

  mkdir(ctx: FuseContext, path: string, mode: number, reply: ReplyVoid): void {
    this.make(ctx, path, S_IFDIR | (mode & 0o7777), new Map());
    this.lookup(split(path)[0]).nlink++;
    reply();
  }

  rmdir(_ctx: FuseContext, path: string, reply: ReplyVoid): void {
    const [parent, name] = split(path);
    const n = this.lookup(path);
    if (!n.children) throw new FsError('ENOTDIR', undefined, { path });
    if (n.children.size > 0) throw new FsError('ENOTEMPTY', undefined, { path });
    this.dir(parent).delete(name);
    this.lookup(parent).nlink--;
    reply();
  }

  unlink(_ctx: FuseContext, path: string, reply: ReplyVoid): void {
    const [parent, name] = split(path);
    const n = this.lookup(path);
    if (n.children) throw new FsError('EISDIR', undefined, { path });
    this.dir(parent).delete(name);
    n.nlink--;
    reply();
  }

  rename(_ctx: FuseContext, path: string, newPath: string, reply: ReplyVoid): void {
    const [from, name] = split(path);
    const [to, newName] = split(newPath);
    const n = this.lookup(path);
    const target = this.dir(to);
    const existing = target.get(newName);
    if (existing?.children && existing.children.size > 0) throw new FsError('ENOTEMPTY', undefined, { path: newPath });
    this.dir(from).delete(name);
    target.set(newName, n);
    reply();
  }

  link(_ctx: FuseContext, existingPath: string, newPath: string, reply: ReplyVoid): void {
    const n = this.lookup(existingPath);
    if (n.children) throw new FsError('EPERM', undefined, { path: existingPath });
    const [to, name] = split(newPath);
    const target = this.dir(to);
    if (target.has(name)) throw new FsError('EEXIST', undefined, { path: newPath });
    target.set(name, n);
    n.nlink++;
    reply();
  }

  symlink(ctx: FuseContext, target: string, linkPath: string, reply: ReplyVoid): void {
    const n = this.make(ctx, linkPath, S_IFLNK | 0o777);
    n.target = target;
    n.size = Buffer.byteLength(target);
    reply();
  }

  readlink(_ctx: FuseContext, path: string, reply: Reply<string>): void {
    const n = this.lookup(path);
    if (n.target === undefined) throw new FsError('EINVAL', undefined, { path });
    reply(null, n.target);
  }
}

// ---------------------------------------------------------------------------
// As a program: mount and serve.

async function main(): Promise<void> {
  const [mountpoint, json, memfsJson] = process.argv.slice(2);
  if (mountpoint === undefined) {
    process.stderr.write('usage: fuse-memfs MOUNTPOINT [FuseMountOptions as JSON]\n');
    process.exitCode = 2;
    return;
  }
  const options = (json === undefined ? {} : JSON.parse(json)) as FuseMountOptions;
  const fs = new MemFs(memfsJson === undefined ? {} : (JSON.parse(memfsJson) as MemFsOptions));
  const mount = new FuseMount(mountpoint, fs, { fsname: 'memfs', subtype: 'memfs', ...options });
  mount.on('opError', (err, op) => emit({ type: 'opError', op, message: err instanceof Error ? err.message : String(err) }));
  mount.on('unmounted', ({ external }) => {
    emit({ type: 'unmounted', external });
    process.stdin.destroy();
  });

  const stop = unmountOnSignals('fuse-memfs', mount);

  await mount.mount();
  emit({ type: 'ready', pid: process.pid, mountpoint: mount.mountpoint, cleanedStale: mount.cleanedStale, options: mount.mountOptions });

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === 'stats') emit({ type: 'stats', ...fs.stats(), counters: mount.counters });
    else if (command === 'reset') {
      fs.resetStats();
      emit({ type: 'reset' });
    } else if (command === 'unmount') stop();
    else if (command !== '') emit({ type: 'error', message: `unknown command ${command}` });
  });
  // stdin closing (the parent went away) does not stop the mount: only a signal, "unmount" or an unmount does.
}

serveProgram(import.meta.url, main);
