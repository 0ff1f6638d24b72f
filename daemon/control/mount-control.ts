/**
 * What a mount's control socket answers, for a MachFilesystem: the one
 * statistics record (the kernel's, plus the pager's and the stores'
 * counters), per-file residency, and the control verbs (sync, evict,
 * policy, cache size), each done the way the kernel and the pager library
 * do it (pager_sync, pager_return, a policy switch, a pool resize). Each
 * change is reported to `changed` (the daemon log): what, from what to
 * what, and who asked.
 */
import os from 'node:os';
import path from 'node:path';
import { hasPolicy, policyNames, type ObjectRecord } from '../../kernel/index.js';
import { parseFaultSpec } from '../../stores/fault-injector.js';
import { formatSize } from '../../stores/size.js';
import { injectionStatus } from '../fs/fault-injection.js';
import type { FileObject } from '../fs/file-object.js';
import type { MachFilesystem } from '../fs/filesystem.js';
import type { Inode } from '../fs/inode.js';
import { isDir } from '../fs/mode.js';
import type { ChangeSink, ControlCaller, ControlChange } from './change.js';
import { encodeFrameMap } from '../web/frame-map.js';
import { snapshotFile } from '../fs/snapshot.js';
import { ControlError } from './control-error.js';
import { CrashControl } from './crash-control.js';
import { ResidencyControl } from './residency-control.js';
import { optionalBoolean, optionalString, optionalStrings } from './params.js';
import { regionRecords } from './regions.js';
import { requestRecords } from './requests.js';
import { PROTOCOL_VERSION, type ControlMethods, type FileRecord, type HelloResult } from './protocol.js';
import type { ControlHandlers } from './server.js';
import type { StatsRecord } from './stats-record.js';
import { filesAt, resolveInner } from './tree-walk.js';

export interface MountControlOptions {
  readonly mountpoint: string;
  readonly version: string;
  /** How long cache-size waits for a shrink to finish before answering (ms). */
  readonly resizeWaitMs?: number;
  /** Told of every change a request made (default: nobody). */
  readonly changed?: ChangeSink;
}

type Result<M extends keyof ControlMethods> = ControlMethods[M]['result'];

export class MountControl {
  readonly started = Date.now();
  private readonly residency: ResidencyControl;
  private readonly crashControl: CrashControl;
  /** The web view this daemon serves (mount --web), with its control key: what `web` answers. */
  webUrl: string | undefined;

  constructor(
    private readonly fs: MachFilesystem,
    private readonly options: MountControlOptions,
  ) {
    this.residency = new ResidencyControl(fs);
    this.crashControl = new CrashControl(fs, options.mountpoint, (change, caller) => this.report(change, caller));
  }

  handlers(): ControlHandlers {
    return {
      hello: () => this.hello(),
      stats: () => this.stats(),
      files: (params) => this.files(params),
      sync: (params, caller) => this.sync(params, caller),
      evict: (params, caller) => this.evict(params, caller),
      policy: (params, caller) => this.policy(params, caller),
      cacheSize: (params, caller) => this.cacheSize(params, caller),
      trace: (params, caller) => this.trace(params, caller),
      inject: (params, caller) => this.inject(params, caller),
      residency: (params) => this.residency.residency(params),
      touch: (params) => this.residency.touch(params),
      lock: (params, _caller, session) => this.residency.lock(params, session),
      regions: () => regionRecords(this.fs),
      requests: () => requestRecords(this.fs, this.options.mountpoint),
      frames: () => this.frames(),
      latency: () => ({ buckets: this.fs.kernel.faultLatencyBuckets() }),
      web: () => ({ url: this.webUrl ?? null }),
      snapshot: (params) => this.snapshot(params),
      mrc: (params) => this.mrc(params),
      crash: (params, caller) => this.crashControl.crash(params, caller),
    };
  }

  /** The live miss-ratio curve, with the cache as it is now placed on it; `reset` starts a new one (after answering the old). */
  mrc(params: Record<string, unknown>): Promise<Result<'mrc'>> {
    // The worker drains the ring up to this request first: every read before it is in the answer.
    return this.fs.liveMrc.snapshot(this.fs.kernel.statistics().frames, params.reset === true);
  }

  hello(): HelloResult {
    return {
      protocol: PROTOCOL_VERSION,
      version: this.options.version,
      mountpoint: this.options.mountpoint,
      store: this.fs.data.name,
      pid: process.pid,
      started: this.started,
      page_size: this.fs.pageSize,
      cache_mode: this.fs.config.cacheMode,
    };
  }

  /** The statistics record: the kernel's, and around it what only the daemon knows. */
  stats(): StatsRecord {
    const fs = this.fs;
    const vm = fs.kernel.statistics();
    const open = new Set<number>();
    for (const handle of fs.handles.values()) if (handle.object) open.add(handle.inode.ino);
    const now = Date.now();
    return {
      ...vm,
      cache_size: vm.frames * vm.pagesize,
      uptime_s: (now - this.started) / 1000,
      timestamp: now,
      pager: fs.requests.statistics(),
      store: fs.storeStatistics(),
      fs: {
        files_open: open.size,
        ...this.sharing(),
        objects: fs.objects.size,
        store: fs.data.name,
        mountpoint: this.options.mountpoint,
        cache_mode: fs.config.cacheMode,
      },
      requests: fs.suspended.statistics(),
      ...(fs.faults ? { inject: injectionStatus(fs.faults) } : {}),
      ...(fs.coherent ? { coherence: fs.coherent.stats() } : {}),
    };
  }

  /**
   * Per file: without paths, every file the cache holds an object for; a
   * path names a file, or a directory's files (its whole tree with recursive).
   */
  async files(params: Record<string, unknown>): Promise<Result<'files'>> {
    const paths = optionalStrings(params.paths, 'paths');
    const recursive = optionalBoolean(params.recursive, 'recursive') ?? false;
    if (paths === undefined) {
      const out: FileRecord[] = [];
      for (const object of this.liveObjects()) out.push(this.fileRecord(object.inode, this.fs.catalog.pathOf(object.inode.ino) ?? ''));
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.ino - b.ino));
    }
    return (await filesAt(this.fs, paths, recursive)).map((f) => this.fileRecord(f.inode, f.path));
  }

  /** Snapshots and the pages they share (the catalog's links; one count query each). */
  private sharing(): { snapshots: number; shared_pages: number } {
    let snapshots = 0;
    let shared = 0;
    for (const link of this.fs.sharedPages.all()) {
      const inode = this.fs.catalog.get(link.ino);
      if (!inode) continue;
      snapshots++;
      shared += this.fs.sharedPages.sharedPages(link.ino, inode.size);
    }
    return { snapshots, shared_pages: shared };
  }

  /** A copy-on-write copy of one file in this mount (snapshot.ts). */
  async snapshot(params: Record<string, unknown>): Promise<Result<'snapshot'>> {
    const source = optionalString(params.source, 'source');
    const target = optionalString(params.target, 'target');
    if (source === undefined || target === undefined) throw new ControlError('EINVAL', 'snapshot needs a source and a target');
    for (const p of [source, target]) if (!p.startsWith('/')) throw new ControlError('EINVAL', `"${p}" is not a path inside the mount (it must start with /)`);
    try {
      return await snapshotFile(this.fs, source, target);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string') throw err;
      const what = code === 'EEXIST' ? `${target}: file exists` : code === 'EISDIR' ? `${source}: is a directory` : code === 'ENOENT' ? `${source} or the directory of ${target}: no such file or directory` : (err as Error).message;
      throw new ControlError(code, what);
    }
  }

  /** pager_sync of one file (and its store and catalog record, durably), or of everything. */
  async sync(params: Record<string, unknown>, caller?: ControlCaller): Promise<Result<'sync'>> {
    const p = optionalString(params.path, 'path');
    const dirtyBefore = this.fs.kernel.statistics().dirty_count;
    const done = (synced: string): Result<'sync'> => {
      const dirty = this.fs.kernel.statistics().dirty_count;
      this.report({ change: 'sync', msg: `sync ${synced}: dirty pages ${dirtyBefore} -> ${dirty}`, old: dirtyBefore, new: dirty, detail: { path: synced } }, caller);
      return { synced };
    };
    if (p === undefined || p === '/') {
      await this.fs.sync();
      return done('/');
    }
    const inode = resolveInner(this.fs, p);
    if (isDir(inode.mode)) {
      // A directory: every file below it that has an object.
      for (const object of this.liveObjects()) {
        const at = this.fs.catalog.pathOf(object.inode.ino);
        if (at !== undefined && at.startsWith(`${p}/`)) await this.fs.syncInode(object.inode);
      }
      this.fs.flushAttributes();
      return done(p);
    }
    await this.fs.syncInode(inode);
    return done(p);
  }

  /** pager_return: dirty pages written back, then every page of the file (or of all files) dropped. */
  async evict(params: Record<string, unknown>, caller?: ControlCaller): Promise<Result<'evict'>> {
    const p = optionalString(params.path, 'path');
    const all = optionalBoolean(params.all, 'all') ?? false;
    const recursive = optionalBoolean(params.recursive, 'recursive') ?? false;
    if ((p === undefined) === !all) throw new ControlError('EINVAL', 'evict takes a path or all, one of them');
    let targets: FileObject[];
    if (all) {
      targets = [...this.liveObjects()];
    } else {
      const inode = resolveInner(this.fs, p as string);
      if (isDir(inode.mode)) {
        // A directory's own files, as `files DIR` lists them; the whole tree below it with recursive.
        const dir = p === '/' ? '' : (p as string);
        targets = [...this.liveObjects()].filter((o) => {
          const at = this.fs.catalog.pathOf(o.inode.ino) ?? '';
          return at.startsWith(`${dir}/`) && (recursive || !at.slice(dir.length + 1).includes('/'));
        });
      } else {
        const object = this.fs.objects.get(inode.ino);
        targets = object && !object.isFreed ? [object] : [];
      }
    }
    let evicted = 0;
    let files = 0;
    // The targets' resident pages, before and after: what the log line says changed.
    let residentBefore = 0;
    let locked = 0;
    for (const object of targets) {
      const before = this.objectRecord(object)?.resident_count ?? 0;
      residentBefore += before;
      if (before === 0 || object.isFreed || object.pager.state !== 'normal') continue;
      // Pages wired by vmtouch -l stay (as mlocked pages do under vmtouch -e): the flush would wait for the unlock.
      if (this.residency.wiredPages(object) > 0) {
        locked++;
        continue;
      }
      await object.pager.return(true);
      evicted += before - (this.objectRecord(object)?.resident_count ?? 0);
      files++;
    }
    const what = all ? 'all' : (p as string);
    this.report(
      {
        change: 'evict',
        msg: `evict ${what}${recursive ? ' (recursive)' : ''}: resident pages ${residentBefore} -> ${residentBefore - evicted} (${files} file(s))`,
        old: residentBefore,
        new: residentBefore - evicted,
        detail: { path: what, recursive, evicted_pages: evicted, files },
      },
      caller,
    );
    return locked > 0 ? { evicted_pages: evicted, files, locked_files: locked } : { evicted_pages: evicted, files };
  }

  /** Show the policy, or switch to another while running. */
  policy(params: Record<string, unknown>, caller?: ControlCaller): Result<'policy'> {
    const name = optionalString(params.name, 'name');
    const kernel = this.fs.kernel;
    const current = kernel.policy.name;
    if (name === undefined) return { policy: current, policies: policyNames() };
    if (!hasPolicy(name)) throw new ControlError('EINVAL', `unknown policy "${name}" (known: ${policyNames().join(', ')})`);
    if (name !== current) {
      kernel.setPolicy(name);
      this.report({ change: 'policy', msg: `policy ${current} -> ${name}`, old: current, new: name }, caller);
    }
    return { policy: name, previous: current, policies: policyNames() };
  }

  /** Show the cache size, or resize the frame pool while running (a shrink evicts down first). */
  async cacheSize(params: Record<string, unknown>, caller?: ControlCaller): Promise<Result<'cacheSize'>> {
    const kernel = this.fs.kernel;
    const pageSize = kernel.pageSize;
    const size = params.size;
    const previous = kernel.frameCount * pageSize;
    const answer = (extra: { previous?: number }): Result<'cacheSize'> => ({
      cache_size: kernel.frameCount * pageSize,
      frames: kernel.frameCount,
      page_size: pageSize,
      frames_retiring: kernel.pages.retireDebt,
      ...extra,
    });
    if (size === undefined) return answer({});
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw new ControlError('EINVAL', 'size must be a positive whole number of bytes');
    if (size % pageSize !== 0) throw new ControlError('EINVAL', `${size} bytes is not a whole number of ${pageSize}-byte pages`);
    if (size > os.totalmem()) throw new ControlError('ENOMEM', `${size} bytes is more than this machine's memory (${os.totalmem()} bytes)`);
    let resizing: Promise<void>;
    try {
      resizing = kernel.resize(size);
    } catch (err) {
      if (err instanceof RangeError) throw new ControlError('EINVAL', err.message);
      throw err;
    }
    // A shrink answers when it is done, or after a while with what it still owes (wired or busy pages).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([resizing, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.resizeWaitMs ?? 30_000)))]);
    clearTimeout(timer);
    const result = answer({ previous });
    const owed = result.frames_retiring > 0 ? ` (${result.frames_retiring} frame(s) still to retire)` : '';
    this.report(
      {
        change: 'cache-size',
        msg: `cache size ${formatSize(previous)} -> ${formatSize(size)}, ${result.frames} frames${owed}`,
        old: previous,
        new: size,
        detail: { frames: result.frames, frames_retiring: result.frames_retiring },
      },
      caller,
    );
    return result;
  }

  /** Record the page-access trace into a new file (start), finish it (stop), or say how it goes (status). */
  async trace(params: Record<string, unknown>, caller?: ControlCaller): Promise<Result<'trace'>> {
    const action = params.action;
    if (action === 'status') return this.fs.tracer?.status() ?? { recording: false, requests: 0, dropped: 0, files: 0 };
    if (action === 'stop') {
      if (!this.fs.tracer) throw new ControlError('ENOENT', 'no trace is being recorded');
      const stopped = await this.fs.stopTrace();
      const file = stopped.path ?? '';
      this.report({ change: 'trace', msg: `trace stopped: ${file} (${stopped.requests} request(s), ${stopped.dropped} dropped)`, old: 'recording', new: 'stopped', detail: { ...stopped } }, caller);
      return stopped;
    }
    if (action !== 'start') throw new ControlError('EINVAL', 'action must be start, stop or status');
    const file = optionalString(params.path, 'path');
    if (file === undefined || !path.isAbsolute(file)) throw new ControlError('EINVAL', 'trace start needs the trace file as an absolute path');
    const mountpoint = this.options.mountpoint;
    // Writing the trace through this mount would trace its own writes, and have the daemon serve itself.
    if (file === mountpoint || file.startsWith(mountpoint === '/' ? '/' : `${mountpoint}/`)) {
      throw new ControlError('EINVAL', `${file} is on the mount being traced: put the trace file somewhere else`);
    }
    try {
      const started = await this.fs.startTrace(file);
      this.report({ change: 'trace', msg: `trace started: recording to ${file}`, old: 'stopped', new: 'recording', detail: { path: file } }, caller);
      return started;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'EEXIST') throw new ControlError('EEXIST', `${file} exists already (a trace is written to a new file)`);
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new ControlError(code, `${file}: ${err instanceof Error ? err.message : code}`);
      throw err;
    }
  }

  /**
   * Show the fault injection, or change it: replace its SPEC (rules, seed,
   * latency: what the SPEC does not say goes back to its default) or clear
   * it, switch every rule off or on (`enabled`), freeze or thaw the store
   * (`freeze`). Only on a mount started with --inject: the stores of the
   * others are not wrapped, and wrapping them now would miss the files
   * already open. Each change is reported with what it did.
   */
  inject(params: Record<string, unknown>, caller?: ControlCaller): Result<'inject'> {
    const spec = params.spec;
    const clear = optionalBoolean(params.clear, 'clear') ?? false;
    const enabled = optionalBoolean(params.enabled, 'enabled');
    const freeze = optionalBoolean(params.freeze, 'freeze');
    if (spec !== undefined && typeof spec !== 'string') throw new ControlError('EINVAL', 'spec must be a string');
    if (spec !== undefined && clear) throw new ControlError('EINVAL', 'inject takes a spec or clear, not both');
    const faults = this.fs.faults;
    if (!faults) throw new ControlError('EINVAL', "this mount injects no faults: mount it with --inject SPEC (--inject '' for no rules yet) to change them while mounted");
    const previous = faults.spec;
    if (spec !== undefined || clear) {
      try {
        faults.replace(clear ? {} : parseFaultSpec(spec ?? ''));
      } catch (err) {
        throw new ControlError('EINVAL', err instanceof Error ? err.message.replace(/^EINVAL: /, '') : String(err));
      }
      const now = faults.spec;
      const spelled = (spec: string): string => (spec === '' ? 'no rules' : `'${spec}'`);
      this.report({ change: 'inject', msg: `inject ${spelled(previous)} -> ${spelled(now)}`, old: previous, new: now }, caller);
    }
    if (enabled !== undefined && enabled !== faults.enabled) {
      faults.enabled = enabled;
      const msg = enabled ? 'inject on: the rules fire again' : `inject off: no rule fires (${faults.stats().injected} faults injected so far)`;
      this.report({ change: 'inject', msg, old: enabled ? 'off' : 'on', new: enabled ? 'on' : 'off' }, caller);
    }
    if (freeze !== undefined && freeze !== faults.frozen) {
      const waiting = faults.stats().frozen_waiting;
      if (freeze) faults.freeze();
      else faults.thaw();
      const msg = freeze ? 'store frozen: every data store operation waits for a thaw' : `store thawed: ${waiting} waiting operations go on`;
      this.report({ change: 'inject', msg, old: freeze ? 'thawed' : 'frozen', new: freeze ? 'frozen' : 'thawed' }, caller);
    }
    const now = { ...injectionStatus(faults), recent: [...faults.recentFaults()] };
    const changed = spec !== undefined || clear || enabled !== undefined || freeze !== undefined;
    return changed ? { ...now, previous } : now;
  }

  /** The frame map, each frame's object named by its file. */
  frames(): Result<'frames'> {
    const byControl = new Map<number, { path: string; ino: number }>();
    for (const object of this.liveObjects()) {
      if (object.pager.state !== 'normal') continue;
      byControl.set(object.pager.control, { path: this.fs.catalog.pathOf(object.inode.ino) ?? '', ino: object.inode.ino });
    }
    return encodeFrameMap(this.fs.kernel.frameMap(), this.fs.pageSize, byControl);
  }

  // ------------------------------------------------------------------ helpers

  private report(change: ControlChange, caller: ControlCaller | undefined): void {
    this.options.changed?.(caller ? { ...change, caller } : change);
  }

  private *liveObjects(): IterableIterator<FileObject> {
    for (const object of this.fs.objects.values()) if (!object.isFreed) yield object;
  }

  /** The kernel's record of the file's object, if the kernel has one now. */
  private objectRecord(object: FileObject): ObjectRecord | undefined {
    if (object.isFreed || object.pager.state !== 'normal') return undefined;
    return this.fs.kernel.objectStatisticsByControl(object.pager.control);
  }

  private fileRecord(inode: Inode, path: string): FileRecord {
    const object = this.fs.objects.get(inode.ino);
    const record = object && this.objectRecord(object);
    const pages = Math.ceil(inode.size / this.fs.pageSize);
    const resident = record?.resident_count ?? 0;
    return {
      path: inode.orphan ? '' : path,
      ino: inode.ino,
      size: inode.size,
      pages,
      resident_pages: resident,
      dirty_pages: record?.dirty_count ?? 0,
      shared_pages: this.fs.sharedPages.sharedPages(inode.ino, inode.size),
      resident_fraction: pages === 0 ? 0 : resident / pages,
      faults: record?.faults ?? 0,
      hits: record?.hits ?? 0,
      readahead_pages: record?.readahead_pages ?? 0,
      readahead_hits: record?.readahead_hits ?? 0,
      readahead_unused: record?.readahead_unused ?? 0,
      pageins: record?.pageins ?? 0,
      zero_fills: record?.zero_fills ?? 0,
      pageouts: record?.pageouts ?? 0,
      evictions: record?.evictions ?? 0,
      write_errors: object?.pager.stats.write_errors ?? 0,
      held_pages: object?.pager.stats.pages_held ?? 0,
      checksum_errors: object && !object.isFreed ? object.pager.stats.checksum_errors : 0,
      cached: record?.cached ?? false,
      open: inode.opens > 0,
    };
  }
}
