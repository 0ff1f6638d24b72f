/**
 * Fault injection as the mount command takes it: `--inject SPEC` (also
 * `-o inject=SPEC`, with `\,` for the commas inside, and MACHPAGER_INJECT),
 * or a store name wrapped in the fault class, `fault:SPEC:STORE` (the
 * stores' typed-name syntax, stores/fault.ts). Both may be given: the
 * name's rules come first, then --inject's (a seed= or latency= given twice:
 * the last wins). SPEC is checked here, before anything is opened; the
 * filesystem applies it (daemon/fs/fault-injection.ts).
 */
import { parseFaultSpec } from '../../stores/fault-injector.js';
import { errorMessage, usageError } from './cli-error.js';

const FAULT_PREFIX = 'fault:';

export interface FaultName {
  /** The SPECs of the fault: prefixes, outermost first (empty: the name has none). */
  readonly specs: readonly string[];
  /** The store under them. */
  readonly store: string;
}

/** Split `fault:SPEC:STORE` (nested too) into its SPECs and the store; `what` names the store in errors. */
export function splitFaultName(name: string, what: string): FaultName {
  const specs: string[] = [];
  let rest = name;
  while (rest.startsWith(FAULT_PREFIX)) {
    const body = rest.slice(FAULT_PREFIX.length);
    // SPEC never holds a ':' (its items are OP@OFFSET+LENGTH%RATE*COUNT=CODE, seed=N, latency=MS).
    const colon = body.indexOf(':');
    if (colon < 0 || colon === body.length - 1) throw usageError(what, 'a fault store is written fault:SPEC:STORE (fault:read=EIO:sqlite:/srv/fs.db)');
    specs.push(checkInjectSpec(body.slice(0, colon), what));
    rest = body.slice(colon + 1);
  }
  return { specs, store: rest };
}

/** SPEC, checked: a usage error naming `what` if it is not one. */
export function checkInjectSpec(spec: string, what: string): string {
  try {
    parseFaultSpec(spec);
  } catch (err) {
    throw usageError(what, errorMessage(err));
  }
  return spec;
}

/** The SPECs as one (empty ones dropped); undefined when none was given at all. */
export function joinSpecs(specs: readonly string[]): string | undefined {
  if (specs.length === 0) return undefined;
  return specs.filter((s) => s !== '').join(',');
}
