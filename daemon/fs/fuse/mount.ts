/**
 * FuseMount: a filesystem's operations (contract.ts) mounted through the
 * patched FUSE addon (binding.ts), with the options of options.ts.
 *
 * The addon is driven directly, not through the package's JavaScript class,
 * so that
 *
 * - every operation gets the caller's context `{ uid, gid, pid }` (read by
 *   the patched addon with fuse_get_context() in the FUSE thread);
 * - an answer given inside the operation goes straight to the waiting FUSE
 *   thread: no promise, no timer, no nextTick on the way (a cache hit can be
 *   answered synchronously, which measured 2x the IOPS of an async hop);
 * - times are exact to the nanosecond both ways, and utimens says
 *   `'omit'` / `'now'` for UTIME_OMIT / UTIME_NOW;
 * - there is no per-operation timeout unless one is asked for (a slow pager
 *   must not make FUSE answer ETIMEDOUT);
 * - mount options are built correctly (options.ts).
 *
 * How a request flows: the kernel → libfuse's worker thread calls the
 * addon's op → the addon records the request (and its context) in the
 * thread's block, wakes the JS thread (uv_async) and waits on a semaphore →
 * the handler here calls the filesystem's operation with a `reply` →
 * `reply` calls the addon's `fuse_native_signal_<op>`, which copies the
 * result and posts the semaphore → the worker answers the kernel. A request
 * therefore holds one libfuse worker thread until it is answered, and buffers
 * handed to read/write/xattr operations are valid only until then (they are
 * detached afterwards: length 0).
 *
 * The daemon must never make a synchronous filesystem call on its own mount
 * (the requests need this thread): use child processes or async calls.
 */
import { EventEmitter } from 'node:events';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { FsError, LINUX_ERRNO, toFsError } from '../errors.js';
import {
  binding,
  count,
  EMPTY,
  EMPTY_STAT,
  EMPTY_STATFS,
  encodeStat,
  encodeStatfs,
  fileHandle,
  loadedBinding,
  OP_SLOTS,
  STAT_INTS,
  STATFS_INTS,
  TWO_32,
  type NativeBinding,
  type NativeHandler,
  type NativeLocals,
  type NativeSignal,
} from './binding.js';
import { FUSE_OPS, type FuseContext, type FuseOperations, type FuseOpName, type FuseStat, type FuseStatfs, type TimeUpdate } from './contract.js';
import { allowOtherPermitted, cleanStaleMount, findMount, fusermount, isFuse, pollUntil, probe, resolveMountpoint, type MountEntry } from './mount-table.js';
import { withTimeout } from '../../timeout.js';
import { buildMountOptions, optionString, type FuseMountOptions } from './options.js';

export type FuseMountState = 'idle' | 'mounting' | 'mounted' | 'unmounting' | 'unmounted';

export interface UnmountedInfo {
  /** true: someone else unmounted it (fusermount -u, umount); false: unmount() did. */
  readonly external: boolean;
}

export interface FuseMountEvents {
  /** The mount is gone; after an external unmount this is the only notice. */
  unmounted: [info: UnmountedInfo];
  /** An operation threw something other than an FsError (answered EIO), or answered with a bad value. Without a listener: a process warning. */
  opError: [err: unknown, op: FuseOpName];
}

const ETIMEDOUT = LINUX_ERRNO.ETIMEDOUT;
const EIO = LINUX_ERRNO.EIO;
const ERANGE = LINUX_ERRNO.ERANGE;

function errnoOfReply(err: unknown): number {
  return (err instanceof FsError ? err : toFsError(err)).errno;
}

interface Counters {
  /** Requests passed to the filesystem. */
  requests: number;
  /** Requests answered ETIMEDOUT by a configured timeout. */
  timeouts: number;
  /** Replies given after the request was already answered (ignored). */
  lateReplies: number;
  /** Operations that threw something other than an FsError, or answered with a bad value. */
  opErrors: number;
}

type AnyReply = (err?: FsError | null, a?: unknown, b?: unknown) => void;

/** Hands one request's result to the addon: `res` ≥ 0 or a negative errno, then the op's own values. */
type Send = (res: number, a: unknown, b: unknown) => void;

/** Native thread blocks of mounts that are gone, kept alive (see releaseNative). */
const retiredThreadBlocks: Buffer[] = [];

/**
 * A FUSE mount of `ops` at `mountpoint`.
 *
 *     const m = new FuseMount('/mnt/x', ops, { allowOther: true });
 *     m.on('unmounted', ({ external }) => ...);
 *     await m.mount();   // resolves once the kernel's init arrived and mountinfo shows it
 *     ...
 *     await m.unmount(); // fusermount -u, lazily (-uz) if busy
 */

export class FuseMount extends EventEmitter<FuseMountEvents> {
  readonly options: Readonly<FuseMountOptions>;
  /** The -o list the mount uses. */
  readonly mountOptions: readonly string[];
  readonly counters: Counters = { requests: 0, timeouts: 0, lateReplies: 0, opErrors: 0 };

  private readonly requested: string;
  private readonly ops: FuseOperations;
  private readonly optionString: string;
  private readonly timeoutMs: Readonly<Record<FuseOpName, number>>;
  private current: FuseMountState = 'idle';
  private resolved: string;
  private stale = false;
  private thread: Buffer | undefined;
  private entryId: number | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private readonly locals = new Set<Buffer>();
  private onInit: (() => void) | undefined;

  constructor(mountpoint: string, ops: FuseOperations, options: FuseMountOptions = {}) {
    super();
    this.requested = mountpoint;
    this.resolved = path.resolve(mountpoint);
    this.ops = ops;
    this.options = { ...options };
    this.mountOptions = buildMountOptions(options);
    this.optionString = optionString(this.mountOptions);
    const t = options.timeouts ?? {};
    const timeoutMs = {} as Record<FuseOpName, number>;
    for (const op of FUSE_OPS) {
      const ms = t[op] ?? t.default ?? 0;
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`FUSE timeout for ${op}: ${ms} is not a number of milliseconds`);
      timeoutMs[op] = ms;
    }
    this.timeoutMs = timeoutMs;
  }

  /** The absolute mountpoint (parent symlinks resolved once mount() ran). */
  get mountpoint(): string {
    return this.resolved;
  }

  get state(): FuseMountState {
    return this.current;
  }

  get mounted(): boolean {
    return this.current === 'mounted';
  }

  /**
   * Whether shared mappings of direct_io files work on this mount: 'granted'
   * when the kernel offered FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+) and the
   * binding's INIT reply took it; 'refused' when the kernel does not offer it
   * (mmap(MAP_SHARED) of a direct_io file fails with ENODEV); 'unknown' before mount().
   */
  get sharedMmap(): 'granted' | 'refused' | 'unknown' {
    const state = this.thread ? binding().fuse_native_shared_mmap(this.thread) : 0;
    return state === 1 ? 'granted' : state === 2 ? 'refused' : 'unknown';
  }

  /** Whether mount() found and cleaned a stale mount first. */
  get cleanedStale(): boolean {
    return this.stale;
  }

  /**
   * Mount. Cleans a stale mount at the mountpoint first (unless
   * `cleanStale: false`), then resolves once the kernel's first request
   * (FUSE init) was answered and /proc/self/mountinfo lists the mount.
   * Rejects with an FsError (ENOENT, ENOTDIR, ENOTEMPTY, EBUSY, EPERM, ETIMEDOUT) or
   * the binding's error, leaving nothing mounted.
   */
  async mount(): Promise<void> {
    if (this.current !== 'idle' && this.current !== 'unmounted') throw new Error(`FuseMount: cannot mount while ${this.current}`);
    this.current = 'mounting';
    const timeoutMs = this.options.mountTimeoutMs ?? 10_000;
    let nativeMounted = false;
    try {
      const b = binding();
      const mnt = await resolveMountpoint(this.requested);
      this.resolved = mnt;
      if (this.options.cleanStale !== false) this.stale = await cleanStaleMount(mnt, { timeoutMs });
      const p = await probe(mnt, timeoutMs);
      if (p.kind === 'error') throw new FsError(p.code === 'ENOENT' ? 'ENOENT' : 'EIO', p.code === 'ENOENT' ? 'mountpoint does not exist' : `cannot stat mountpoint (${p.code})`, { path: mnt, syscall: 'mount' });
      if (p.kind === 'hung') throw new FsError('EBUSY', 'mountpoint does not answer', { path: mnt, syscall: 'mount' });
      if (!p.isDirectory) throw new FsError('ENOTDIR', 'mountpoint is not a directory', { path: mnt, syscall: 'mount' });
      if (!this.mountOptions.includes('nonempty') && (await readdir(mnt)).length > 0) {
        throw new FsError('ENOTEMPTY', "mountpoint is not empty (libfuse 2 refuses it; extraOptions: ['nonempty'] mounts over it)", { path: mnt, syscall: 'mount' });
      }
      if (this.options.allowOther && !(await allowOtherPermitted())) {
        throw new FsError('EPERM', "allowOther needs 'user_allow_other' in /etc/fuse.conf when not mounting as root", { path: mnt, syscall: 'mount' });
      }

      const inited = new Promise<void>((resolve) => {
        this.onInit = resolve;
      });
      const thread = Buffer.alloc(b.sizeof_fuse_thread_t);
      const { handlers, implemented } = this.makeHandlers(b);
      // Synchronous: fuse_mount() (mount(2) or fusermount) and fuse_new(); the FUSE thread starts and sends init.
      try {
        b.fuse_native_mount(mnt, this.optionString, thread, this, (size) => this.malloc(size), handlers, implemented);
      } catch (err) {
        throw new Error(`FUSE mount of ${mnt} with "${this.optionString}" failed (libfuse printed the reason on stderr): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      this.thread = thread;
      nativeMounted = true;
      await withTimeout(inited, timeoutMs, () => new FsError('ETIMEDOUT', `no FUSE init from the kernel within ${timeoutMs} ms`, { path: mnt, syscall: 'mount' }));
      let entry: MountEntry | undefined;
      await pollUntil(async () => {
        entry = await findMount(mnt);
        return entry !== undefined && isFuse(entry);
      }, timeoutMs, `${mnt} is not in /proc/self/mountinfo`);
      this.entryId = entry?.id;
      this.current = 'mounted';
      this.startWatch();
    } catch (err) {
      this.onInit = undefined;
      if (nativeMounted) {
        await fusermount(this.resolved, { lazy: true }).catch(() => undefined);
        this.releaseNative();
      }
      this.current = 'idle';
      throw err;
    }
  }

  /**
   * Unmount with `fusermount -u`; if that fails while the mount is still
   * there (busy), detach it lazily with `fusermount -uz` (it goes away when
   * its last user closes). Resolves once mountinfo no longer lists it.
   */
  async unmount(): Promise<void> {
    if (this.current !== 'mounted') return;
    this.current = 'unmounting';
    this.stopWatch();
    const mnt = this.resolved;
    // Each fusermount is bounded (see fusermount): the stop must go on.
    const tryMs = this.options.unmountTryMs ?? 10_000;
    const attempt = (lazy: boolean): Promise<void> => fusermount(mnt, { lazy, timeoutMs: tryMs });
    try {
      await attempt(false);
    } catch (err) {
      if (await this.stillMounted()) {
        try {
          await attempt(true);
        } catch (lazyErr) {
          if (await this.stillMounted()) {
            this.current = 'mounted';
            this.startWatch();
            throw new Error(`cannot unmount ${mnt}: ${(err as Error).message}; lazily: ${(lazyErr as Error).message}`, { cause: lazyErr });
          }
        }
      }
    }
    await pollUntil(async () => !(await this.stillMounted()), this.options.mountTimeoutMs ?? 10_000, `${mnt} still mounted after fusermount`);
    this.finish(false);
  }

  private async stillMounted(): Promise<boolean> {
    const e = await findMount(this.resolved);
    return e !== undefined && e.id === this.entryId;
  }

  private startWatch(): void {
    const interval = this.options.watchIntervalMs ?? 1000;
    if (interval <= 0) return;
    this.watchTimer = setInterval(() => {
      if (this.watching || this.current !== 'mounted') return;
      this.watching = true;
      this.stillMounted().then(
        (still) => {
          this.watching = false;
          if (!still && this.current === 'mounted') this.finish(true);
        },
        () => {
          this.watching = false;
        },
      );
    }, interval);
    this.watchTimer.unref();
  }

  private stopWatch(): void {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  private finish(external: boolean): void {
    this.stopWatch();
    this.releaseNative();
    this.current = 'unmounted';
    this.emit('unmounted', { external });
  }

  /** Let the addon's wake-up handle stop holding the event loop open. The FUSE thread ends by itself once the kernel closed the connection. */
  private releaseNative(): void {
    const loaded = loadedBinding();
    if (this.thread !== undefined && loaded !== undefined) loaded.fuse_native_unmount(this.resolved, this.thread);
    // The block holds a uv_async_t that the addon never closes (only unrefs): libuv keeps it
    // in its loop and touches it on every later async wake-up. Freed by the garbage
    // collector, it would be walked as freed memory (SIGSEGV): keep it for the process's life.
    if (this.thread !== undefined) retiredThreadBlocks.push(this.thread);
    this.thread = undefined;
    this.entryId = undefined;
  }

  private malloc(size: number): Buffer {
    const b = Buffer.alloc(size); // a FUSE worker thread's request block, kept for the process's life
    this.locals.add(b);
    return b;
  }

  private opError(err: unknown, op: FuseOpName): void {
    this.counters.opErrors++;
    if (this.listenerCount('opError') > 0) this.emit('opError', err, op);
    else process.emitWarning(`FUSE ${op}: ${err instanceof Error ? err.message : String(err)}`, { code: 'MACHPAGER_FUSE_OP' });
  }

  /**
   * The reply for one request. `send(res, a, b)` hands the result to the
   * addon; it is called exactly once: with the answer, with ETIMEDOUT when
   * a configured timeout fires first, or with -EIO when encoding the answer
   * failed.
   */
  private reply(op: FuseOpName, send: Send): AnyReply {
    let pending = true;
    let timer: NodeJS.Timeout | undefined;
    const ms = this.timeoutMs[op];
    if (ms > 0) {
      timer = setTimeout(() => {
        if (!pending) return;
        pending = false;
        this.counters.timeouts++;
        send(-ETIMEDOUT, undefined, undefined);
      }, ms);
    }
    return (err, a, b) => {
      if (!pending) {
        this.counters.lateReplies++;
        return;
      }
      pending = false;
      if (timer !== undefined) clearTimeout(timer);
      if (err) {
        send(-errnoOfReply(err), undefined, undefined);
        return;
      }
      try {
        send(0, a, b);
      } catch (encodeErr) {
        this.opError(encodeErr, op);
        send(-EIO, undefined, undefined);
      }
    };
  }

  /** An operation threw: an FsError is its answer; anything else is a bug, answered EIO. */
  private threw(op: FuseOpName, err: unknown, reply: AnyReply): void {    if (!(err instanceof FsError)) this.opError(err, op);
    reply(toFsError(err));
  }

  /**
   * One request of `op`: count it, make its reply (answered through `send`)
   * and run `call` with it; a throw is its answer. Every operation but read
   * and write goes through here.
   */
  private request(op: FuseOpName, send: Send, call: (reply: AnyReply) => void): void {
    this.counters.requests++;
    const reply = this.reply(op, send);
    try {
      call(reply);
    } catch (err) {
      this.threw(op, err, reply);
    }
  }

  /** The addon's handler table (indexed by its opcodes) and which ops to register with libfuse. */
  private makeHandlers(b: NativeBinding): { handlers: NativeHandler[]; implemented: Uint32Array } {
    const ops = this.ops;
    const handlers: NativeHandler[] = [];
    const unused: NativeHandler = (l) => b.fuse_native_signal_init(l, -LINUX_ERRNO.ENOSYS);
    for (let i = 0; i < OP_SLOTS; i++) handlers.push(unused);
    const implemented = new Uint32Array(OP_SLOTS);
    const opcode = (name: string): number => {
      const code = b[`op_${name}`];
      if (code === undefined || code >= OP_SLOTS) throw new Error(`FUSE binding: no opcode for ${name}`);
      return code;
    };
    const signal = (name: string): NativeSignal => {
      const fn = b[`fuse_native_signal_${name}`];
      if (typeof fn !== 'function') throw new Error(`FUSE binding: no fuse_native_signal_${name}`);
      return fn;
    };
    const on = (name: FuseOpName | 'init', handler: NativeHandler): void => {
      const code = opcode(name);
      handlers[code] = handler;
      implemented[code] = 1;
    };
    /** Register `name` if the filesystem has it; `make` gets the addon's signal function for it. */
    const op = (name: FuseOpName, make: (sig: NativeSignal) => NativeHandler): void => {
      if (typeof ops[name] === 'function') on(name, make(signal(name)));
    };
    // The addon appends the caller's uid, gid and pid to every operation's own arguments.
    const ctx = (uid: number, gid: number, pid: number): FuseContext => ({ uid, gid, pid });
    const offset = (lo: number, hi: number): number => lo + hi * TWO_32;
    const id = (n: number): number => (n === 0xffff_ffff ? -1 : n); // (uid_t) -1: leave it

    const signalInit = signal('init');
    on('init', (l: NativeLocals) => {
      const resolve = this.onInit;
      this.onInit = undefined;
      signalInit(l, 0);
      resolve?.();
    });

    // read and write: the hot path, written out (not through request(), and one handler each, so
    // that each call site sees one target): a cache hit answers inside the call, no promise, no timer.
    if (ops.read) {
      const sig = signal('read');
      const read = ops.read.bind(ops);
      on('read', (l: NativeLocals, _op: number, p: string, fh: number, buf: Buffer, len: number, lo: number, hi: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('read', (res, n) => sig(l, res < 0 ? res : count(n, len), 0, buf.buffer));
        try {
          read(ctx(uid, gid, pid), p, fh, buf, len, lo + hi * TWO_32, reply);
        } catch (err) {
          this.threw('read', err, reply);
        }
      });
    }
    if (ops.write) {
      const sig = signal('write');
      const write = ops.write.bind(ops);
      on('write', (l: NativeLocals, _op: number, p: string, fh: number, buf: Buffer, len: number, lo: number, hi: number, uid: number, gid: number, pid: number) => {
        this.counters.requests++;
        const reply = this.reply('write', (res, n) => sig(l, res < 0 ? res : count(n, len), 0, buf.buffer));
        try {
          write(ctx(uid, gid, pid), p, fh, buf, len, lo + hi * TWO_32, reply);
        } catch (err) {
          this.threw('write', err, reply);
        }
      });
    }

    // Operations that answer a stat or statfs record, encoded into a scratch array the addon copies at once.
    {
      const sig = signal('getattr'); // always registered: libfuse needs it
      const scratch = new Uint32Array(STAT_INTS);
      on('getattr', (l, _op, p: string, uid: number, gid: number, pid: number) =>
        this.request('getattr', (res, st) => sig(l, res, res < 0 ? EMPTY_STAT : encodeStat(st as FuseStat, scratch)), (r) => ops.getattr(ctx(uid, gid, pid), p, r)));
    }
    op('fgetattr', (sig) => {
      const scratch = new Uint32Array(STAT_INTS);
      return (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
        this.request('fgetattr', (res, st) => sig(l, res, res < 0 ? EMPTY_STAT : encodeStat(st as FuseStat, scratch)), (r) => ops.fgetattr?.(ctx(uid, gid, pid), p, fh, r));
    });
    op('statfs', (sig) => {
      const scratch = new Uint32Array(STATFS_INTS);
      return (l, _op, p: string, uid: number, gid: number, pid: number) =>
        this.request('statfs', (res, s) => sig(l, res, res < 0 ? EMPTY_STATFS : encodeStatfs(s as FuseStatfs, scratch)), (r) => ops.statfs?.(ctx(uid, gid, pid), p, r));
    });

    // Operations that answer a file handle. (The addon passes opendir's arguments as path, fh, flags.)
    const handle = (l: NativeLocals, sig: NativeSignal): Send => (res, fh) => sig(l, res, res < 0 ? 0 : fileHandle(fh));
    op('open', (sig) => (l, _op, p: string, flags: number, uid: number, gid: number, pid: number) =>
      this.request('open', handle(l, sig), (r) => ops.open?.(ctx(uid, gid, pid), p, flags, r)));
    op('opendir', (sig) => (l, _op, p: string, _fh: number, flags: number, uid: number, gid: number, pid: number) =>
      this.request('opendir', handle(l, sig), (r) => ops.opendir?.(ctx(uid, gid, pid), p, flags, r)));
    op('create', (sig) => (l, _op, p: string, mode: number, flags: number, uid: number, gid: number, pid: number) =>
      this.request('create', handle(l, sig), (r) => ops.create?.(ctx(uid, gid, pid), p, mode, flags, r)));

    op('readdir', (sig) => (l, _op, p: string, uid: number, gid: number, pid: number) =>
      this.request('readdir', (res, names, stats) => {
        if (res < 0) {
          sig(l, res, EMPTY, EMPTY);
          return;
        }
        const list = names as readonly string[];
        if (!Array.isArray(list) || !list.every((n) => typeof n === 'string')) throw new TypeError('readdir: names must be strings');
        const st = stats as readonly FuseStat[] | undefined;
        if (st !== undefined && st.length === list.length) sig(l, 0, list, st.map((s) => encodeStat(s, new Uint32Array(STAT_INTS))));
        else sig(l, 0, list, EMPTY);
      }, (r) => ops.readdir?.(ctx(uid, gid, pid), p, r)));

    op('readlink', (sig) => (l, _op, p: string, uid: number, gid: number, pid: number) =>
      this.request('readlink', (res, target) => {
        if (res >= 0 && typeof target !== 'string') throw new TypeError('readlink: the target must be a string');
        sig(l, res, res < 0 ? '' : target);
      }, (r) => ops.readlink?.(ctx(uid, gid, pid), p, r)));

    op('utimens', (sig) => {
      const now = b.utime_now;
      const omit = b.utime_omit;
      const time = (sec: number, nsec: number): TimeUpdate => (nsec === omit ? 'omit' : nsec === now ? 'now' : { sec, nsec });
      return (l, _op, p: string, aSec: number, aNsec: number, mSec: number, mNsec: number, uid: number, gid: number, pid: number) =>
        this.request('utimens', (res) => sig(l, res), (r) => ops.utimens?.(ctx(uid, gid, pid), p, time(aSec, aNsec), time(mSec, mNsec), r));
    });

    // Extended attributes: the value buffers belong to libfuse until the answer, which hands them back.
    op('setxattr', (sig) => (l, _op, p: string, name: string, value: Buffer, _position: number, flags: number, uid: number, gid: number, pid: number) =>
      this.request('setxattr', (res) => sig(l, res, value.buffer), (r) => ops.setxattr?.(ctx(uid, gid, pid), p, name, value, flags, r)));
    op('getxattr', (sig) => (l, _op, p: string, name: string, out: Buffer, _position: number, uid: number, gid: number, pid: number) => {
      const size = out.length;
      this.request('getxattr', (res, v) => {
        if (res < 0) {
          sig(l, res, out.buffer);
          return;
        }
        if (!Buffer.isBuffer(v)) throw new TypeError('getxattr: the value must be a Buffer');
        if (size === 0) sig(l, v.length, out.buffer);
        else if (v.length > size) sig(l, -ERANGE, out.buffer);
        else sig(l, v.copy(out), out.buffer);
      }, (r) => ops.getxattr?.(ctx(uid, gid, pid), p, name, size, r));
    });
    op('listxattr', (sig) => (l, _op, p: string, out: Buffer, uid: number, gid: number, pid: number) => {
      const size = out.length;
      this.request('listxattr', (res, names) => {
        if (res < 0) {
          sig(l, res, out.buffer);
          return;
        }
        const list = names as readonly string[];
        let total = 0;
        for (const n of list) total += Buffer.byteLength(n) + 1;
        if (size === 0) sig(l, total, out.buffer);
        else if (total > size) sig(l, -ERANGE, out.buffer);
        else {
          let at = 0;
          for (const n of list) {
            at += out.write(n, at);
            out[at++] = 0;
          }
          sig(l, at, out.buffer);
        }
      }, (r) => ops.listxattr?.(ctx(uid, gid, pid), p, size, r));
    });

    // The rest answer only success or an errno.
    const done = (l: NativeLocals, sig: NativeSignal): Send => (res) => sig(l, res);
    op('access', (sig) => (l, _op, p: string, mode: number, uid: number, gid: number, pid: number) =>
      this.request('access', done(l, sig), (r) => ops.access?.(ctx(uid, gid, pid), p, mode, r)));
    op('releasedir', (sig) => (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
      this.request('releasedir', done(l, sig), (r) => ops.releasedir?.(ctx(uid, gid, pid), p, fh, r)));
    op('fsyncdir', (sig) => (l, _op, p: string, datasync: number, fh: number, uid: number, gid: number, pid: number) =>
      this.request('fsyncdir', done(l, sig), (r) => ops.fsyncdir?.(ctx(uid, gid, pid), p, datasync !== 0, fh, r)));
    op('flush', (sig) => (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
      this.request('flush', done(l, sig), (r) => ops.flush?.(ctx(uid, gid, pid), p, fh, r)));
    op('fsync', (sig) => (l, _op, p: string, datasync: number, fh: number, uid: number, gid: number, pid: number) =>
      this.request('fsync', done(l, sig), (r) => ops.fsync?.(ctx(uid, gid, pid), p, datasync !== 0, fh, r)));
    op('release', (sig) => (l, _op, p: string, fh: number, uid: number, gid: number, pid: number) =>
      this.request('release', done(l, sig), (r) => ops.release?.(ctx(uid, gid, pid), p, fh, r)));
    op('truncate', (sig) => (l, _op, p: string, lo: number, hi: number, uid: number, gid: number, pid: number) =>
      this.request('truncate', done(l, sig), (r) => ops.truncate?.(ctx(uid, gid, pid), p, offset(lo, hi), r)));
    op('ftruncate', (sig) => (l, _op, p: string, fh: number, lo: number, hi: number, uid: number, gid: number, pid: number) =>
      this.request('ftruncate', done(l, sig), (r) => ops.ftruncate?.(ctx(uid, gid, pid), p, fh, offset(lo, hi), r)));
    op('chmod', (sig) => (l, _op, p: string, mode: number, uid: number, gid: number, pid: number) =>
      this.request('chmod', done(l, sig), (r) => ops.chmod?.(ctx(uid, gid, pid), p, mode, r)));
    op('chown', (sig) => (l, _op, p: string, owner: number, group: number, uid: number, gid: number, pid: number) =>
      this.request('chown', done(l, sig), (r) => ops.chown?.(ctx(uid, gid, pid), p, id(owner), id(group), r)));
    op('mknod', (sig) => (l, _op, p: string, mode: number, rdev: number, uid: number, gid: number, pid: number) =>
      this.request('mknod', done(l, sig), (r) => ops.mknod?.(ctx(uid, gid, pid), p, mode, rdev, r)));
    op('mkdir', (sig) => (l, _op, p: string, mode: number, uid: number, gid: number, pid: number) =>
      this.request('mkdir', done(l, sig), (r) => ops.mkdir?.(ctx(uid, gid, pid), p, mode, r)));
    op('rmdir', (sig) => (l, _op, p: string, uid: number, gid: number, pid: number) =>
      this.request('rmdir', done(l, sig), (r) => ops.rmdir?.(ctx(uid, gid, pid), p, r)));
    op('unlink', (sig) => (l, _op, p: string, uid: number, gid: number, pid: number) =>
      this.request('unlink', done(l, sig), (r) => ops.unlink?.(ctx(uid, gid, pid), p, r)));
    op('rename', (sig) => (l, _op, p: string, to: string, uid: number, gid: number, pid: number) =>
      this.request('rename', done(l, sig), (r) => ops.rename?.(ctx(uid, gid, pid), p, to, r)));
    op('link', (sig) => (l, _op, p: string, to: string, uid: number, gid: number, pid: number) =>
      this.request('link', done(l, sig), (r) => ops.link?.(ctx(uid, gid, pid), p, to, r)));
    op('symlink', (sig) => (l, _op, target: string, p: string, uid: number, gid: number, pid: number) =>
      this.request('symlink', done(l, sig), (r) => ops.symlink?.(ctx(uid, gid, pid), target, p, r)));
    op('removexattr', (sig) => (l, _op, p: string, name: string, uid: number, gid: number, pid: number) =>
      this.request('removexattr', done(l, sig), (r) => ops.removexattr?.(ctx(uid, gid, pid), p, name, r)));

    return { handlers, implemented };
  }
}
