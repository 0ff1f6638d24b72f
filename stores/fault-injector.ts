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
 *   OP[@OFFSET+[LENGTH]][%RATE][*COUNT]=CODE   a rule (OP: read, write, rw, sync, allocate)
 *   seed=N                                     the PRNG seed (default 1)
 *   latency=MS                                 delay before every operation
 *   OP-latency=MS                              delay before every OP (read, write, sync, allocate) instead
 *
 * OFFSET and LENGTH take size suffixes; an empty LENGTH runs to the end. A
 * rule with a range matches an operation that overlaps it (sync has no
 * range, so only rules without one match it). COUNT disarms the rule after
 * that many faults.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrnoCode, type ErrnoCode } from './errno.js';
import { mulberry32 } from './seeded-random.js';
import { formatSize, parseSize } from './size.js';
import { StoreError } from './store.js';

export type FaultOp = 'read' | 'write' | 'rw' | 'sync' | 'allocate';

/** An operation as it happens (rw is only a rule's way to say "read or write"). */
export type FaultedOp = Exclude<FaultOp, 'rw'>;

export interface FaultRuleSpec {
  op: FaultOp;
  code: ErrnoCode;
  /** Byte range; both absent: everywhere. `length` absent: to the end. */
  offset?: number;
  length?: number;
  /** Probability per matching operation, 0..1 (default 1). */
  rate?: number;
  /** Faults to inject before the rule disarms itself (default: no limit). */
  count?: number;
}

/** A rule as the injector holds it: tests may flip `enabled` at any time. */
export interface FaultRule extends FaultRuleSpec {
  enabled: boolean;
  /** Faults this rule has injected. */
  injected: number;
}

export interface FaultOptions {
  rules?: readonly FaultRuleSpec[];
  seed?: number;
  /** Milliseconds of delay before every read, write and sync. */
  latencyMs?: number;
  /** Milliseconds of delay before one kind of operation, instead of latencyMs (a slow disk writes slower than it reads). */
  opLatencyMs?: Partial<Record<FaultedOp, number>>;
}

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
}

const OPS: readonly FaultOp[] = ['read', 'write', 'rw', 'sync', 'allocate'];

export class FaultInjector {
  /** Master toggle: when false, no rule fires (latency still applies). */
  enabled = true;
  latencyMs: number;
  opLatencyMs: Partial<Record<FaultedOp, number>>;
  private readonly rules: FaultRule[] = [];
  private currentSeed: number;
  private random: () => number;
  private readonly counters: FaultStats = {
    reads: 0,
    writes: 0,
    syncs: 0,
    injected: 0,
    injected_reads: 0,
    injected_writes: 0,
    injected_syncs: 0,
    injected_allocates: 0,
  };

  constructor(options: FaultOptions = {}) {
    this.latencyMs = checkLatency(options.latencyMs ?? 0);
    this.opLatencyMs = checkOpLatency(options.opLatencyMs);
    this.currentSeed = options.seed ?? 1;
    this.random = mulberry32(this.currentSeed);
    for (const rule of options.rules ?? []) this.addRule(rule);
  }

  get seed(): number {
    return this.currentSeed;
  }

  /** The rules and settings as they are now, as SPEC text ('' when there are none). */
  get spec(): string {
    const items = this.rules.map(formatFaultRule);
    if (this.currentSeed !== 1) items.push(`seed=${this.currentSeed}`);
    if (this.latencyMs !== 0) items.push(`latency=${this.latencyMs}`);
    for (const op of TIMED_OPS) if (this.opLatencyMs[op] !== undefined) items.push(`${op}-latency=${this.opLatencyMs[op]}`);
    return items.join(',');
  }

  addRule(spec: FaultRuleSpec): FaultRule {
    checkRule(spec);
    const rule: FaultRule = { ...spec, enabled: true, injected: 0 };
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

  /** Restart the PRNG, so the same sequence of operations meets the same faults. */
  reseed(seed: number): void {
    this.currentSeed = seed;
    this.random = mulberry32(seed);
  }

  /**
   * Replace everything with `options` at once (what a new SPEC means): its
   * rules, its seed (default 1, reseeded) and its latency (default 0).
   * Checked first: a bad rule changes nothing. The counters go on.
   */
  replace(options: FaultOptions): void {
    for (const rule of options.rules ?? []) checkRule(rule);
    const latency = checkLatency(options.latencyMs ?? 0);
    const opLatency = checkOpLatency(options.opLatencyMs);
    this.clearRules();
    for (const rule of options.rules ?? []) this.addRule(rule);
    this.reseed(options.seed ?? 1);
    this.latencyMs = latency;
    this.opLatencyMs = opLatency;
  }

  stats(): FaultStats {
    return { ...this.counters };
  }

  /**
   * Called before every operation of a store using this injector: waits
   * the latency, then throws the StoreError of the first armed rule that
   * matches (`where` names the store in its message).
   */
  async before(op: FaultedOp, offset: number, length: number, where: string): Promise<void> {
    if (op === 'read') this.counters.reads++;
    else if (op === 'write') this.counters.writes++;
    else if (op === 'sync') this.counters.syncs++;
    const latency = this.opLatencyMs[op] ?? this.latencyMs;
    if (latency > 0) await sleep(latency);
    if (!this.enabled) return;
    for (const rule of this.rules) {
      if (!rule.enabled || !matches(rule, op, offset, length)) continue;
      if (rule.count !== undefined && rule.injected >= rule.count) continue;
      if (rule.rate !== undefined && rule.rate < 1 && this.random() >= rule.rate) continue;
      rule.injected++;
      this.counters.injected++;
      this.counters[`injected_${op}s`]++;
      throw new StoreError(rule.code, `injected on ${op} at ${offset} of ${where}`);
    }
  }
}

function matches(rule: FaultRule, op: FaultedOp, offset: number, length: number): boolean {
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
}

function checkLatency(ms: number): number {
  // A timer longer than 2^31-1 ms fires at once (Node clamps it to 1 ms): refuse it rather than surprise.
  if (!Number.isFinite(ms) || ms < 0 || ms > 0x7fffffff) throw new StoreError('EINVAL', `fault latency ${ms} ms is not in 0..${0x7fffffff}`);
  return ms;
}

function checkOpLatency(byOp: Partial<Record<FaultedOp, number>> | undefined): Partial<Record<FaultedOp, number>> {
  const out: Partial<Record<FaultedOp, number>> = {};
  for (const op of TIMED_OPS) if (byOp?.[op] !== undefined) out[op] = checkLatency(byOp[op]);
  return out;
}

/** One rule as SPEC text ('write@4K+4K%0.5*2=EIO'). */
export function formatFaultRule(rule: FaultRuleSpec): string {
  let text: string = rule.op;
  if (rule.offset !== undefined) text += `@${formatSize(rule.offset)}+${rule.length === undefined ? '' : formatSize(rule.length)}`;
  if (rule.rate !== undefined) text += `%${rule.rate}`;
  if (rule.count !== undefined) text += `*${rule.count}`;
  return `${text}=${rule.code}`;
}

/** Parse SPEC (see the file comment). Every mistake is EINVAL naming the item. */
export function parseFaultSpec(spec: string): FaultOptions {
  const rules: FaultRuleSpec[] = [];
  const options: FaultOptions = { rules };
  for (const item of spec === '' ? [] : spec.split(',')) {
    const setting = /^(seed|latency|read-latency|write-latency|sync-latency|allocate-latency)=(\d+(?:\.\d+)?)$/.exec(item);
    if (setting) {
      const value = Number(setting[2]);
      if (setting[1] === 'seed') options.seed = value;
      else if (setting[1] === 'latency') options.latencyMs = checkLatency(value);
      else (options.opLatencyMs ??= {})[setting[1].slice(0, -'-latency'.length) as FaultedOp] = checkLatency(value);
      continue;
    }
    const m = /^(read|write|rw|sync|allocate)(?:@(\w+)\+(\w*))?(?:%([\d.]+))?(?:\*(\d+))?=([A-Z0-9]+)$/.exec(item);
    if (!m) throw new StoreError('EINVAL', `bad fault rule '${item}' (OP[@OFFSET+[LENGTH]][%RATE][*COUNT]=CODE, seed=N, latency=MS, OP-latency=MS)`);
    const rule: FaultRuleSpec = { op: m[1] as FaultOp, code: m[6] as ErrnoCode };
    if (m[2] !== undefined) rule.offset = parseSize(m[2], 'fault offset');
    if (m[3]) rule.length = parseSize(m[3], 'fault length');
    if (m[4] !== undefined) rule.rate = Number(m[4]);
    if (m[5] !== undefined) rule.count = Number(m[5]);
    checkRule(rule);
    rules.push(rule);
  }
  return options;
}
