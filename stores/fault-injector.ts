/**
 * The rules of fault injection, apart from any one store: a FaultInjector
 * holds the rules, the seeded PRNG, the latency and the counters, and
 * decides for each operation whether it fails. A FaultStore asks one before
 * every read, write, sync and allocate; several FaultStores may share one
 * injector (a filesystem wraps each file's store, and a rule like `write*3`
 * then means the first three writes of the whole mount, not of each file).
 *
 * SPEC (the text form, as in fault:SPEC:TYPE:NAME) is a comma-separated
 * list, possibly empty:
 *
 *   OP[(GLOB)][@OFFSET+[LENGTH]][%RATE][#NTH][*COUNT]=CODE   a rule
 *   seed=N                     the seed of the rates and latency draws (default 1)
 *   latency=LAT                delay before every store operation (fault-latency.ts:
 *                              MS, uniform/MIN/MAX, exp/MEAN, normal/MEAN/SD)
 *   OP-latency=LAT             delay before every OP (read, write, sync, allocate) instead
 *
 * OP is a store operation (read, write, rw, sync, allocate: the pager sees
 * the error, and a program sees EIO, ENOSPC or EDQUOT) or a file-system
 * operation (FS_FAULT_OPS: create, rename, fsync ...: the program gets
 * CODE itself, before the operation does anything). GLOB names files
 * (path-glob.ts: '*.wal', '/db/**'); without it a rule covers every file.
 * OFFSET and LENGTH take size suffixes; an empty LENGTH runs to the end. A
 * rule with a range matches an operation that overlaps it (sync has no
 * range, so only rules without one match it). RATE is a probability drawn
 * from the seed, keyed by the file, the offset and how often that key was
 * seen: the same run meets the same faults whatever order concurrent
 * operations take. A drawn latency is keyed the same way. NTH fails the NTH matching operation (and no other
 * unless COUNT says how many from there). COUNT disarms the rule after
 * that many faults.
 *
 * freeze() makes every store operation wait until thaw() (a disk that
 * hangs, then comes back: nothing is lost, everything is late).
 *
 * Every fault injected is a FaultEvent: the last RECENT_FAULTS are kept
 * (recentFaults) and each is told to `onFault` (the daemon logs it), so a
 * failing test can say which operation of which file failed, by which rule.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrnoCode, type ErrnoCode } from './errno.js';
import { checkLatency, formatLatency, parseLatency, sampleLatency, type LatencyDist } from './fault-latency.js';
import { globMatcher } from './path-glob.js';
import { mulberry32 } from './seeded-random.js';
import { formatSize, parseSize } from './size.js';
import { StoreError } from './store.js';

export type { LatencyDist } from './fault-latency.js';

/** File-system operations a rule may fail before they run (the program gets the rule's code itself). */
export const FS_FAULT_OPS = [
  'open',
  'create',
  'mkdir',
  'mknod',
  'symlink',
  'link',
  'unlink',
  'rmdir',
  'rename',
  'truncate',
  'fsync',
  'fsyncdir',
  'flush',
  'chmod',
  'chown',
  'utimens',
  'setxattr',
  'removexattr',
] as const;

export type FsFaultOp = (typeof FS_FAULT_OPS)[number];

export type StoreFaultOp = 'read' | 'write' | 'rw' | 'sync' | 'allocate';

export type FaultOp = StoreFaultOp | FsFaultOp;

/** A store operation as it happens (rw is only a rule's way to say "read or write"). */
export type FaultedOp = Exclude<StoreFaultOp, 'rw'>;

export interface FaultRuleSpec {
  op: FaultOp;
  code: ErrnoCode;
  /** A glob of the files it covers (path-glob.ts); absent: every file. */
  path?: string;
  /** Byte range; both absent: everywhere. `length` absent: to the end. */
  offset?: number;
  length?: number;
  /** Probability per matching operation, 0..1 (default 1). */
  rate?: number;
  /** Fail from the NTH matching operation on (1-based); alone, the NTH only. */
  nth?: number;
  /** Faults to inject before the rule disarms itself (default: no limit; 1 with nth). */
  count?: number;
}

/** A rule as the injector holds it: tests may flip `enabled` at any time. */
export interface FaultRule extends FaultRuleSpec {
  enabled: boolean;
  /** Faults this rule has injected. */
  injected: number;
  /** Operations that matched it (what NTH counts). */
  seen: number;
}

export interface FaultOptions {
  rules?: readonly FaultRuleSpec[];
  seed?: number;
  /** Milliseconds of delay before every read, write and sync. */
  latencyMs?: number;
  /** Milliseconds of delay before one kind of operation, instead of latencyMs (a slow disk writes slower than it reads). */
  opLatencyMs?: Partial<Record<FaultedOp, number>>;
  /** A drawn delay before every operation (instead of latencyMs). */
  latency?: LatencyDist;
  /** A drawn delay before one kind of operation (instead of opLatencyMs). */
  opLatency?: Partial<Record<FaultedOp, LatencyDist>>;
}

/** One fault injected: what failed, where, with what, by which rule. */
export interface FaultEvent {
  /** Milliseconds since the epoch. */
  at: number;
  op: FaultedOp | FsFaultOp;
  /** The file (its path in the mount, or the store's name when the file has none). */
  path: string;
  /** The byte range of a read, write or allocate (0 and 0 for the others). */
  offset: number;
  length: number;
  code: ErrnoCode;
  /** The rule as SPEC text. */
  rule: string;
}

/** How many fault events an injector keeps for those who ask (the daemon log has them all). */
export const RECENT_FAULTS = 100;

const TIMED_OPS: readonly FaultedOp[] = ['read', 'write', 'sync', 'allocate'];

export interface FaultStats {
  reads: number;
  writes: number;
  syncs: number;
  injected: number;
  injected_reads: number;
  injected_writes: number;
  injected_syncs: number;
  injected_allocates: number;
  /** File-system operations failed by a rule (create, rename, fsync ...). */
  injected_operations: number;
  /** Store operations that waited for a thaw, and how many wait now. */
  frozen_operations: number;
  frozen_waiting: number;
  /** Milliseconds of latency put before operations, in total. */
  latency_ms: number;
}

const STORE_OPS: readonly StoreFaultOp[] = ['read', 'write', 'rw', 'sync', 'allocate'];
const OPS: readonly FaultOp[] = [...STORE_OPS, ...FS_FAULT_OPS];

/** What a rule holds beyond its spec: its compiled glob. */
const matchers = new WeakMap<FaultRule, (path: string) => boolean>();

export class FaultInjector {
  /** Master toggle: when false, no rule fires (latency still applies). */
  enabled = true;
  /** Told of every fault injected, after it is counted. */
  onFault: ((event: FaultEvent) => void) | undefined;
  private readonly recent: FaultEvent[] = [];
  private latency: LatencyDist;
  private opLatency: Partial<Record<FaultedOp, LatencyDist>>;
  private readonly rules: FaultRule[] = [];
  private currentSeed: number;
  /** How often each (rule or latency, file, op, offset) key was seen: the draws are keyed by it (one entry per page touched, until a reseed). */
  private keySeen = new Map<string, number>();
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  private readonly counters: FaultStats = {
    reads: 0,
    writes: 0,
    syncs: 0,
    injected: 0,
    injected_reads: 0,
    injected_writes: 0,
    injected_syncs: 0,
    injected_allocates: 0,
    injected_operations: 0,
    frozen_operations: 0,
    frozen_waiting: 0,
    latency_ms: 0,
  };

  constructor(options: FaultOptions = {}) {
    this.latency = latencyOf(options.latency, options.latencyMs);
    this.opLatency = opLatencyOf(options);
    this.currentSeed = options.seed ?? 1;
    for (const rule of options.rules ?? []) this.addRule(rule);
  }

  get seed(): number {
    return this.currentSeed;
  }

  /** The fixed latency (or a distribution's mean), ms. */
  get latencyMs(): number {
    return meanOf(this.latency);
  }

  set latencyMs(ms: number) {
    this.latency = { kind: 'fixed', ms: checkLatency(ms) };
  }

  /** Each operation's own latency (fixed, or a distribution's mean), ms. */
  get opLatencyMs(): Partial<Record<FaultedOp, number>> {
    const out: Partial<Record<FaultedOp, number>> = {};
    for (const op of TIMED_OPS) if (this.opLatency[op] !== undefined) out[op] = meanOf(this.opLatency[op]);
    return out;
  }

  /** Whether store operations wait for a thaw now. */
  get frozen(): boolean {
    return this.gate !== undefined;
  }

  /** The rules and settings as they are now, as SPEC text ('' when there are none). */
  get spec(): string {
    const items = this.rules.map(formatFaultRule);
    if (this.currentSeed !== 1) items.push(`seed=${this.currentSeed}`);
    if (!(this.latency.kind === 'fixed' && this.latency.ms === 0)) items.push(`latency=${formatLatency(this.latency)}`);
    for (const op of TIMED_OPS) if (this.opLatency[op] !== undefined) items.push(`${op}-latency=${formatLatency(this.opLatency[op])}`);
    return items.join(',');
  }

  addRule(spec: FaultRuleSpec): FaultRule {
    checkRule(spec);
    const rule: FaultRule = { ...spec, enabled: true, injected: 0, seen: 0 };
    if (spec.path !== undefined) matchers.set(rule, globMatcher(spec.path));
    this.rules.push(rule);
    return rule;
  }

  removeRule(rule: FaultRule): void {
    const i = this.rules.indexOf(rule);
    if (i >= 0) this.rules.splice(i, 1);
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  listRules(): readonly FaultRule[] {
    return this.rules;
  }

  /** Restart the draws, so the same sequence of operations meets the same faults and delays. */
  reseed(seed: number): void {
    this.currentSeed = seed;
    this.keySeen = new Map();
  }

  /**
   * Replace everything with `options` at once (what a new SPEC means): its
   * rules, its seed (default 1, reseeded) and its latency (default 0).
   * Checked first: a bad rule changes nothing. The counters go on; a
   * freeze stays until thaw().
   */
  replace(options: FaultOptions): void {
    for (const rule of options.rules ?? []) checkRule(rule);
    const latency = latencyOf(options.latency, options.latencyMs);
    const opLatency = opLatencyOf(options);
    this.clearRules();
    for (const rule of options.rules ?? []) this.addRule(rule);
    this.reseed(options.seed ?? 1);
    this.latency = latency;
    this.opLatency = opLatency;
  }

  /** From now on every store operation waits (after its latency) until thaw(). */
  freeze(): void {
    if (this.gate) return;
    let open = (): void => {};
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gate = { promise, open };
  }

  /** Let every waiting operation go on, in the order they came. */
  thaw(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }

  stats(): FaultStats {
    return { ...this.counters };
  }

  /** The last faults injected (at most RECENT_FAULTS), the oldest first. */
  recentFaults(): readonly FaultEvent[] {
    return [...this.recent];
  }

  /**
   * Called before every operation of a store using this injector: waits
   * the latency and any freeze, then throws the StoreError of the first
   * armed rule that matches (`where` names the store in its message;
   * `pathOf` names the file, asked when a rule has a glob or a draw is
   * made: the draws are keyed by it, or by `where` without it).
   */
  async before(op: FaultedOp, offset: number, length: number, where: string, pathOf?: () => string | undefined): Promise<void> {
    if (op === 'read') this.counters.reads++;
    else if (op === 'write') this.counters.writes++;
    else if (op === 'sync') this.counters.syncs++;
    // Draws are keyed by the file's path when it has one, not the store's name (which holds the
    // store's own location): the same program on a new store, anywhere, meets the same draws.
    let named: string | undefined;
    const drawKey = (): string => (named ??= pathOf?.() ?? where);
    const dist = this.opLatency[op] ?? this.latency;
    // A drawn delay is keyed like a rate's draw: the same operation waits the same whatever the order.
    const latency = dist.kind === 'fixed' ? dist.ms : sampleLatency(dist, mulberry32(this.key('latency', op, drawKey(), offset)));
    if (latency > 0) {
      this.counters.latency_ms += latency;
      await sleep(latency);
    }
    while (this.gate) {
      this.counters.frozen_operations++;
      this.counters.frozen_waiting++;
      try {
        await this.gate.promise;
      } finally {
        this.counters.frozen_waiting--;
      }
    }
    const rule = this.fire(op, offset, length, drawKey, pathOf ?? (() => where));
    if (!rule) return;
    this.counters[`injected_${op}s`]++;
    const path = pathOf?.() ?? where;
    this.told({ at: Date.now(), op, path, offset, length, code: rule.code, rule: formatFaultRule(rule) });
    throw new StoreError(rule.code, `injected on ${op} at ${offset} of ${path}`);
  }

  /**
   * Called before a file-system operation on `path`: the errno a rule
   * fails it with, or undefined to let it run. Synchronous, so that an
   * operation nobody fails costs one loop over the rules.
   */
  operationFault(op: FsFaultOp, path: string): ErrnoCode | undefined {
    const rule = this.fire(op, 0, 0, () => path, () => path);
    if (!rule) return undefined;
    this.counters.injected_operations++;
    this.told({ at: Date.now(), op, path, offset: 0, length: 0, code: rule.code, rule: formatFaultRule(rule) });
    return rule.code;
  }

  private told(event: FaultEvent): void {
    this.recent.push(event);
    if (this.recent.length > RECENT_FAULTS) this.recent.shift();
    this.onFault?.(event);
  }

  /** Whether any rule is about file-system operations (else the operations need not ask). */
  get hasOperationRules(): boolean {
    return this.rules.some((r) => !isStoreOp(r.op));
  }

  private fire(op: FaultedOp | FsFaultOp, offset: number, length: number, drawKey: () => string, pathOf: (() => string | undefined) | undefined): FaultRule | undefined {
    if (!this.enabled) return undefined;
    let path: string | undefined;
    for (const [index, rule] of this.rules.entries()) {
      if (!rule.enabled || !matches(rule, op, offset, length)) continue;
      const glob = matchers.get(rule);
      if (glob) {
        path ??= pathOf?.() ?? '';
        if (!glob(path)) continue;
      }
      rule.seen++;
      if (rule.nth !== undefined && rule.seen < rule.nth) continue;
      const limit = rule.count ?? (rule.nth !== undefined ? 1 : undefined);
      if (limit !== undefined && rule.injected >= limit) continue;
      if (rule.rate !== undefined && rule.rate < 1 && this.draw(index, op, drawKey(), offset) >= rule.rate) continue;
      rule.injected++;
      this.counters.injected++;
      return rule;
    }
    return undefined;
  }

  /** A uniform draw in [0, 1) for one key: the seed, the rule, the store, the op, the offset, and how often the key came before. */
  private draw(rule: number, op: string, where: string, offset: number): number {
    return mulberry32(this.key(String(rule), op, where, offset))();
  }

  /** The seed of one draw: its kind, the store, the op, the offset, and how often that key came before (since the last reseed). */
  private key(kind: string, op: string, where: string, offset: number): number {
    const key = `${kind}\0${op}\0${where}\0${offset}`;
    const n = (this.keySeen.get(key) ?? 0) + 1;
    this.keySeen.set(key, n);
    return hash32(`${this.currentSeed}\0${key}\0${n}`);
  }
}

function isStoreOp(op: FaultOp): op is StoreFaultOp {
  return (STORE_OPS as readonly string[]).includes(op);
}

/** FNV-1a, 32 bits: a stable key for a draw. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function meanOf(dist: LatencyDist): number {
  switch (dist.kind) {
    case 'fixed':
      return dist.ms;
    case 'uniform':
      return (dist.min + dist.max) / 2;
    case 'exp':
    case 'normal':
      return dist.mean;
  }
}

function latencyOf(dist: LatencyDist | undefined, ms: number | undefined): LatencyDist {
  return dist ?? { kind: 'fixed', ms: checkLatency(ms ?? 0) };
}

function opLatencyOf(options: FaultOptions): Partial<Record<FaultedOp, LatencyDist>> {
  const out: Partial<Record<FaultedOp, LatencyDist>> = {};
  for (const op of TIMED_OPS) {
    const dist = options.opLatency?.[op];
    const ms = options.opLatencyMs?.[op];
    if (dist !== undefined) out[op] = dist;
    else if (ms !== undefined) out[op] = { kind: 'fixed', ms: checkLatency(ms) };
  }
  return out;
}

function matches(rule: FaultRule, op: FaultedOp | FsFaultOp, offset: number, length: number): boolean {
  if (!(rule.op === op || (rule.op === 'rw' && (op === 'read' || op === 'write')))) return false;
  if (rule.offset === undefined) return true;
  if (op === 'sync') return false;
  const end = rule.length === undefined ? Infinity : rule.offset + rule.length;
  return offset < end && offset + length > rule.offset;
}

function checkRule(rule: FaultRuleSpec): void {
  if (!OPS.includes(rule.op)) throw new StoreError('EINVAL', `fault op '${String(rule.op)}'`);
  if (!isErrnoCode(rule.code)) throw new StoreError('EINVAL', `fault code '${String(rule.code)}' is not an errno name`);
  if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) {
    throw new StoreError('EINVAL', `fault rate ${rule.rate} is not in 0..1`);
  }
  if (rule.length !== undefined && rule.offset === undefined) throw new StoreError('EINVAL', 'a fault length needs an offset');
  if (rule.offset !== undefined && !isStoreOp(rule.op)) throw new StoreError('EINVAL', `a ${rule.op} fault has no byte range (only read, write, rw, allocate)`);
  if (rule.nth !== undefined && !(Number.isInteger(rule.nth) && rule.nth >= 1)) throw new StoreError('EINVAL', `fault nth ${rule.nth} is not 1 or more`);
  if (rule.path !== undefined && (rule.path === '' || /[,:()]/.test(rule.path))) {
    throw new StoreError('EINVAL', `fault path glob '${rule.path}' is empty or holds one of , : ( )`);
  }
}

/** One rule as SPEC text ('write(*.wal)@4K+4K%0.5#2*2=EIO'). */
export function formatFaultRule(rule: FaultRuleSpec): string {
  let text: string = rule.op;
  if (rule.path !== undefined) text += `(${rule.path})`;
  if (rule.offset !== undefined) text += `@${formatSize(rule.offset)}+${rule.length === undefined ? '' : formatSize(rule.length)}`;
  if (rule.rate !== undefined) text += `%${rule.rate}`;
  if (rule.nth !== undefined) text += `#${rule.nth}`;
  if (rule.count !== undefined) text += `*${rule.count}`;
  return `${text}=${rule.code}`;
}

const RULE = new RegExp(`^(${OPS.join('|')})(?:\\(([^(),:]+)\\))?(?:@(\\w+)\\+(\\w*))?(?:%([\\d.]+))?(?:#(\\d+))?(?:\\*(\\d+))?=([A-Z0-9]+)$`);
const SETTING = /^(seed|latency|read-latency|write-latency|sync-latency|allocate-latency)=([\w./]+)$/;

/** Parse SPEC (see the file comment). Every mistake is EINVAL naming the item. */
export function parseFaultSpec(spec: string): FaultOptions {
  const rules: FaultRuleSpec[] = [];
  const options: FaultOptions = { rules };
  for (const item of spec === '' ? [] : spec.split(',')) {
    const setting = SETTING.exec(item);
    if (setting) {
      const name = setting[1];
      if (name === 'seed') {
        if (!/^\d+$/.test(setting[2])) throw new StoreError('EINVAL', `bad fault seed '${setting[2]}'`);
        options.seed = Number(setting[2]);
        continue;
      }
      const dist = parseLatency(setting[2]);
      const op = name === 'latency' ? undefined : (name.slice(0, -'-latency'.length) as FaultedOp);
      if (dist.kind === 'fixed') {
        if (op === undefined) options.latencyMs = dist.ms;
        else (options.opLatencyMs ??= {})[op] = dist.ms;
      } else if (op === undefined) options.latency = dist;
      else (options.opLatency ??= {})[op] = dist;
      continue;
    }
    const m = RULE.exec(item);
    if (!m) throw new StoreError('EINVAL', `bad fault rule '${item}' (OP[(GLOB)][@OFFSET+[LENGTH]][%RATE][#NTH][*COUNT]=CODE, seed=N, latency=LAT, OP-latency=LAT)`);
    const rule: FaultRuleSpec = { op: m[1] as FaultOp, code: m[8] as ErrnoCode };
    if (m[2] !== undefined) rule.path = m[2];
    if (m[3] !== undefined) rule.offset = parseSize(m[3], 'fault offset');
    if (m[4]) rule.length = parseSize(m[4], 'fault length');
    if (m[5] !== undefined) rule.rate = Number(m[5]);
    if (m[6] !== undefined) rule.nth = Number(m[6]);
    if (m[7] !== undefined) rule.count = Number(m[7]);
    checkRule(rule);
    rules.push(rule);
  }
  return options;
}
