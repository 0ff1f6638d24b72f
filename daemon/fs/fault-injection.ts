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
import { FaultInjector, FaultStore, formatFaultRule, parseFaultSpec, type FaultEvent, type FaultStats, type Store } from '../../stores/index.js';
import type { DataStore } from './data-store.js';

export type { FaultEvent } from '../../stores/index.js';

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

/** Fault lines the daemon log takes per second at most; the rest are counted in one line (stats has every count). */
const LOGGED_PER_SECOND = 50;

/** One fault as a log line: what failed, where, with what, by which rule. */
export function describeFault(e: FaultEvent): string {
  const where = e.length > 0 || e.offset > 0 ? ` at ${e.offset}+${e.length}` : '';
  return `fault injected: ${e.code} on ${e.op} of ${e.path}${where} (rule ${e.rule})`;
}

/**
 * `injector`'s faults told to `log`, one line each, so that the daemon log
 * explains a failing test. A rule failing thousands of operations a second
 * must not drown the log: past LOGGED_PER_SECOND in a second, the rest of
 * that second is one line saying how many.
 */
export function logFaults(injector: FaultInjector, log: (line: string) => void): void {
  let windowStart = 0;
  let logged = 0;
  let unlogged = 0;
  injector.onFault = (event) => {
    if (event.at - windowStart >= 1000) {
      windowStart = event.at;
      logged = 0;
    }
    if (logged < LOGGED_PER_SECOND) {
      logged++;
      log(describeFault(event));
      return;
    }
    if (unlogged++ === 0) {
      // Said when the second is over, whether or not another fault comes.
      setTimeout(() => {
        log(`fault injected: ${unlogged} more fault(s) in that second not logged one by one (machpager stats counts them)`);
        unlogged = 0;
      }, Math.max(0, windowStart + 1000 - Date.now())).unref();
    }
  };
}
