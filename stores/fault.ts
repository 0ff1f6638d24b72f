/**
 * fault:SPEC:TYPE:NAME — a wrapper for tests that makes a child fail or slow
 * down on purpose: errors of any errno code on reads, writes or syncs, at
 * chosen byte ranges or at a rate drawn from a seeded PRNG (so a failing run
 * repeats), and latency per operation. Rules and toggles change at run time
 * through the programmatic API; the typed name carries the rules as they are
 * now, so the name reopens an equivalent wrapper.
 *
 * SPEC is a comma-separated list, possibly empty:
 *
 *   OP[@OFFSET+[LENGTH]][%RATE][*COUNT]=CODE   a rule (OP: read, write, rw, sync, allocate)
 *   seed=N                                     the PRNG seed (default 1)
 *   latency=MS                                 delay before every operation
 *
 * e.g. fault:read@4K+4K=EIO,write%0.1=ENOSPC,seed=7:memory:1M. OFFSET and
 * LENGTH take size suffixes; an empty LENGTH runs to the end. A rule with a
 * range matches an operation that overlaps it (sync has no range, so only
 * rules without one match it). COUNT disarms the rule after that many faults.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BaseStore } from './base.js';
import { closeAll, inheritedFlags } from './composite.js';
import { isErrnoCode, type ErrnoCode } from './errno.js';
import { formatSize, parseSize } from './size.js';
import { StoreError, type Store } from './store.js';
import { childOptions, type StoreClass } from './store-class.js';
import { mulberry32 } from './seeded-random.js';

export type FaultOp = 'read' | 'write' | 'rw' | 'sync' | 'allocate';

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

/** A rule as the store holds it: tests may flip `enabled` at any time. */
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
}

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

export class FaultStore extends BaseStore {
  /** Master toggle: when false, no rule fires (latency still applies). */
  enabled = true;
  latencyMs: number;
  private readonly rules: FaultRule[] = [];
  private seed: number;
  private random: () => number;
  private readonly faultCounters: FaultStats = {
    reads: 0,
    writes: 0,
    syncs: 0,
    injected: 0,
    injected_reads: 0,
    injected_writes: 0,
    injected_syncs: 0,
    injected_allocates: 0,
  };

  constructor(
    readonly child: Store,
    options: FaultOptions = {},
    flags = 0,
  ) {
    super({ className: 'fault', name: '', blockSize: child.blockSize, size: child.size, flags: flags | inheritedFlags([child]) });
    this.latencyMs = options.latencyMs ?? 0;
    this.seed = options.seed ?? 1;
    this.random = mulberry32(this.seed);
    for (const rule of options.rules ?? []) this.addRule(rule);
  }

  /** The rules and settings as they are now, then the child. */
  override get name(): string {
    const items = this.rules.map(formatRule);
    if (this.seed !== 1) items.push(`seed=${this.seed}`);
    if (this.latencyMs !== 0) items.push(`latency=${this.latencyMs}`);
    return `fault:${items.join(',')}:${this.child.name}`;
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
    this.seed = seed;
    this.random = mulberry32(seed);
  }

  faultStats(): FaultStats {
    return { ...this.faultCounters };
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    this.faultCounters.reads++;
    await this.before('read', offset, into.length);
    return this.child.read(offset, into);
  }

  protected override async backendWrite(offset: number, data: Buffer): Promise<number> {
    this.faultCounters.writes++;
    await this.before('write', offset, data.length);
    return this.child.write(offset, data);
  }

  protected override async backendSync(): Promise<void> {
    this.faultCounters.syncs++;
    await this.before('sync', 0, 0);
    await this.child.sync();
  }

  protected override async backendAllocate(offset: number, length: number): Promise<void> {
    await this.before('allocate', offset, length);
    await this.child.allocate(offset, length);
  }

  protected override backendSetSize(size: number): Promise<void> {
    return this.child.setSize(size);
  }

  protected override backendIsHole(offset: number, length: number): Promise<boolean> {
    return this.child.isHole(offset, length);
  }

  protected override backendClose(): Promise<void> {
    return closeAll([this.child]);
  }

  private async before(op: Exclude<FaultOp, 'rw'>, offset: number, length: number): Promise<void> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (!this.enabled) return;
    for (const rule of this.rules) {
      if (!rule.enabled || !matches(rule, op, offset, length)) continue;
      if (rule.count !== undefined && rule.injected >= rule.count) continue;
      if (rule.rate !== undefined && rule.rate < 1 && this.random() >= rule.rate) continue;
      rule.injected++;
      this.faultCounters.injected++;
      this.faultCounters[`injected_${op}s`]++;
      throw new StoreError(rule.code, `injected on ${op} at ${offset} of ${this.child.name}`);
    }
  }
}

function matches(rule: FaultRule, op: Exclude<FaultOp, 'rw'>, offset: number, length: number): boolean {
  if (!(rule.op === op || (rule.op === 'rw' && (op === 'read' || op === 'write')))) return false;
  if (rule.offset === undefined) return true;
  if (op === 'sync') return false;
  const end = rule.length === undefined ? Infinity : rule.offset + rule.length;
  return offset < end && offset + length > rule.offset;
}

function checkRule(rule: FaultRuleSpec): void {
  if (!['read', 'write', 'rw', 'sync', 'allocate'].includes(rule.op)) throw new StoreError('EINVAL', `fault op '${String(rule.op)}'`);
  if (!isErrnoCode(rule.code)) throw new StoreError('EINVAL', `fault code '${String(rule.code)}' is not an errno name`);
  if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) {
    throw new StoreError('EINVAL', `fault rate ${rule.rate} is not in 0..1`);
  }
  if (rule.length !== undefined && rule.offset === undefined) throw new StoreError('EINVAL', 'a fault length needs an offset');
}

function formatRule(rule: FaultRuleSpec): string {
  let text: string = rule.op;
  if (rule.offset !== undefined) text += `@${formatSize(rule.offset)}+${rule.length === undefined ? '' : formatSize(rule.length)}`;
  if (rule.rate !== undefined) text += `%${rule.rate}`;
  if (rule.count !== undefined) text += `*${rule.count}`;
  return `${text}=${rule.code}`;
}

/** Parse SPEC (see the file comment). */
export function parseFaultSpec(spec: string): FaultOptions {
  const rules: FaultRuleSpec[] = [];
  const options: FaultOptions = { rules };
  for (const item of spec === '' ? [] : spec.split(',')) {
    const setting = /^(seed|latency)=(\d+(?:\.\d+)?)$/.exec(item);
    if (setting) {
      if (setting[1] === 'seed') options.seed = Number(setting[2]);
      else options.latencyMs = Number(setting[2]);
      continue;
    }
    const m = /^(read|write|rw|sync|allocate)(?:@(\w+)\+(\w*))?(?:%([\d.]+))?(?:\*(\d+))?=([A-Z0-9]+)$/.exec(item);
    if (!m) throw new StoreError('EINVAL', `bad fault rule '${item}' (OP[@OFFSET+[LENGTH]][%RATE][*COUNT]=CODE, seed=N, latency=MS)`);
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

export const faultClass: StoreClass = {
  name: 'fault',
  syntax: 'fault:SPEC:TYPE:NAME (SPEC: OP[@OFFSET+[LENGTH]][%RATE][*COUNT]=CODE,seed=N,latency=MS)',
  summary: 'injects errors and latency into a child, for tests',
  options: ['flags'],
  async open(rest, options, context) {
    const colon = rest.indexOf(':');
    if (colon < 0) throw new StoreError('EINVAL', `fault:${rest}: expected SPEC:TYPE:NAME`);
    const spec = parseFaultSpec(rest.slice(0, colon));
    const child = await context.open(rest.slice(colon + 1), childOptions(options));
    return new FaultStore(child, spec, options.flags);
  },
};
