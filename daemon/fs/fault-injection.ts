/**
 * Fault injection on a mount (`machpager mount --inject SPEC`, or a
 * `fault:SPEC:` store name): every file's data store is wrapped in a
 * FaultStore, all of them sharing one FaultInjector, so the rules and
 * their counters are the mount's. A file's store is that file's bytes, so
 * SPEC's offsets are file offsets (`write@1M+=ENOSPC`: writes past the
 * first MiB of any file). The catalog is not wrapped: the namespace keeps
 * working while the data fails.
 *
 * Errors pass through the pager, which reports only EIO, ENOSPC and
 * EDQUOT (daemon/pager/errors.ts): a rule with another code (EROFS) reaches
 * programs as EIO on read, write and close, exactly as a store failing that
 * way would.
 */
import { FaultInjector, FaultStore, formatFaultRule, parseFaultSpec, type FaultStats, type Store } from '../../stores/index.js';
import type { DataStore } from './data-store.js';

/** The mount's injection now: SPEC text, counters, and each rule's own count. */
export interface InjectionStatus {
  /** The rules and settings as SPEC text ('' when there are none). */
  spec: string;
  /** Whether rules fire (inject --off stops them, --on starts them again). */
  enabled: boolean;
  /** Whether store operations wait for a thaw. */
  frozen: boolean;
  stats: FaultStats;
  rules: { rule: string; injected: number }[];
}

/** `data` with every store `open` returns wrapped in a FaultStore obeying `injector`; `pathOf` names a file for rules with a glob. */
export function injectFaults(data: DataStore, injector: FaultInjector, pathOf: (ino: number) => string | undefined): DataStore {
  // A Proxy rather than a class that re-implements DataStore: whatever the interface
  // gains later is passed through unchanged; only open() is ours.
  const open = async (ino: number): Promise<Store> => new FaultStore(await data.open(ino), injector, 0, () => pathOf(ino));
  return new Proxy(data, {
    get(target, key, receiver) {
      if (key === 'open') return open;
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A new injector from SPEC text (EINVAL StoreError for a bad SPEC). */
export function injectorFor(spec: string): FaultInjector {
  return new FaultInjector(parseFaultSpec(spec));
}

export function injectionStatus(injector: FaultInjector): InjectionStatus {
  const rules = injector.listRules().map((rule) => ({ rule: formatFaultRule(rule), injected: rule.injected }));
  return { spec: injector.spec, enabled: injector.enabled, frozen: injector.frozen, stats: injector.stats(), rules };
}
