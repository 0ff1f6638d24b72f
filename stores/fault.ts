/**
 * fault:SPEC:TYPE:NAME — a wrapper for tests that makes a child fail or slow
 * down on purpose: errors of any errno code on reads, writes, syncs or
 * allocations, at chosen byte ranges or at a rate drawn from a seeded PRNG
 * (so a failing run repeats), and latency per operation. The rules live in
 * a FaultInjector (fault-injector.ts, where SPEC is described), the store's
 * own or one shared with other fault stores. Rules and toggles change at
 * run time through the programmatic API; the typed name carries the rules
 * as they are now, so the name reopens an equivalent wrapper.
 *
 * e.g. fault:read@4K+4K=EIO,write%0.1=ENOSPC,seed=7:memory:1M.
 * (A rule with a GLOB matches the child's name here; a filesystem gives
 * each file's store its path instead.)
 */
import { BaseStore } from './base.js';
import { closeAll, inheritedFlags } from './composite.js';
import { FaultInjector, parseFaultSpec, type FaultedOp, type FaultOptions, type FaultRule, type FaultRuleSpec, type FaultStats } from './fault-injector.js';
import type { Store } from './store.js';
import { compositeClass } from './store-class.js';
import { openParameterChild } from './children.js';

export { FaultInjector, formatFaultRule, FS_FAULT_OPS, parseFaultSpec } from './fault-injector.js';
export type { FaultEvent, FaultOp, FaultedOp, FaultOptions, FaultRule, FaultRuleSpec, FaultStats, FsFaultOp, LatencyDist } from './fault-injector.js';

export class FaultStore extends BaseStore {
  /** The rules this store obeys: its own, or shared with other fault stores. */
  readonly injector: FaultInjector;

  constructor(
    readonly child: Store,
    options: FaultOptions | FaultInjector = {},
    flags = 0,
    /** The path of the file this store holds, for rules with a glob (a filesystem's; unset: the child's name). */
    private readonly pathOf?: () => string | undefined,
  ) {
    super({ className: 'fault', name: '', blockSize: child.blockSize, size: child.size, flags: flags | inheritedFlags([child]) });
    this.injector = options instanceof FaultInjector ? options : new FaultInjector(options);
  }

  /** The rules and settings as they are now, then the child. */
  override get name(): string {
    return `fault:${this.injector.spec}:${this.child.name}`;
  }

  /** Master toggle: when false, no rule fires (latency still applies). Shared with the injector's other stores. */
  get enabled(): boolean {
    return this.injector.enabled;
  }

  set enabled(on: boolean) {
    this.injector.enabled = on;
  }

  get latencyMs(): number {
    return this.injector.latencyMs;
  }

  set latencyMs(ms: number) {
    this.injector.latencyMs = ms;
  }

  addRule(spec: FaultRuleSpec): FaultRule {
    return this.injector.addRule(spec);
  }

  removeRule(rule: FaultRule): void {
    this.injector.removeRule(rule);
  }

  clearRules(): void {
    this.injector.clearRules();
  }

  listRules(): readonly FaultRule[] {
    return this.injector.listRules();
  }

  /** Restart the PRNG, so the same sequence of operations meets the same faults. */
  reseed(seed: number): void {
    this.injector.reseed(seed);
  }

  /** The injector's counters (summed over every store sharing it). */
  faultStats(): FaultStats {
    return this.injector.stats();
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    await this.before('read', offset, into.length);
    return this.child.read(offset, into);
  }

  protected override async backendWrite(offset: number, data: Buffer): Promise<number> {
    await this.before('write', offset, data.length);
    return this.child.write(offset, data);
  }

  protected override async backendSync(): Promise<void> {
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

  private before(op: FaultedOp, offset: number, length: number): Promise<void> {
    return this.injector.before(op, offset, length, this.child.name, this.pathOf);
  }
}

export const faultClass = compositeClass({
  name: 'fault',
  syntax: 'fault:SPEC:TYPE:NAME (SPEC: OP[@OFFSET+[LENGTH]][%RATE][*COUNT]=CODE,seed=N,latency=MS)',
  summary: 'injects errors and latency into a child, for tests',
  async open(rest, options, context) {
    const { parsed: spec, child } = await openParameterChild('fault', rest, 'SPEC:TYPE:NAME', parseFaultSpec, options, context);
    return new FaultStore(child, spec, options.flags);
  },
});
