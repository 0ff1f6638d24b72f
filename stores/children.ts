/**
 * Lists of child stores in a name (libstore's store_open_children): the
 * first character that is not alphanumeric separates the children, each a
 * full TYPE:NAME; a common "TYPE:" may come first.
 *
 *   concat:,memory:1M,memory:2M      two memory children
 *   concat:memory:,1M,2M             the same, with a common prefix
 *   concat:;file:/a,b;file:/c        ';' because a name holds a ','
 *
 * A trailing separator is allowed. Names are written back with the first
 * separator that no child name contains.
 */
import { StoreError, type OpenOptions, type Store } from './store.js';
import { childOptions, type OpenContext } from './store-class.js';
import { closeAll } from './composite.js';

const SEPARATORS = [',', ';', '|', '!', '@', '+', '~', '^', '&', '%', '='];

export function splitChildren(list: string): string[] {
  let prefix = '';
  let rest = list;
  const typed = /^([A-Za-z0-9]+:)/.exec(list);
  if (typed) {
    prefix = typed[1]!;
    rest = list.slice(prefix.length);
  } else if (/^[A-Za-z0-9]/.test(list)) {
    throw new StoreError('EINVAL', `bad child list '${list}': start with a separator or a common TYPE:`);
  }
  const sep = rest[0];
  if (sep === undefined || sep === ':' || /[A-Za-z0-9]/.test(sep)) {
    throw new StoreError('EINVAL', `bad child list '${list}': no separator`);
  }
  const names = rest.slice(1).split(sep);
  if (names.at(-1) === '') names.pop();
  if (names.length === 0 || names.some((n) => n === '')) throw new StoreError('EINVAL', `bad child list '${list}': an empty child name`);
  return names.map((n) => prefix + n);
}

export function joinChildren(names: readonly string[]): string {
  const sep = SEPARATORS.find((s) => names.every((n) => !n.includes(s)));
  if (!sep) throw new StoreError('EINVAL', 'no separator is free for these child names');
  return sep + names.join(sep);
}

/** Open every child; if one fails, close the others and throw. */
export async function openChildren(list: string, options: OpenOptions, context: OpenContext): Promise<Store[]> {
  const results = await Promise.allSettled(splitChildren(list).map((name) => context.open(name, options)));
  const failed = results.find((r) => r.status === 'rejected');
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<Store>).value);
  await closeAll(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))).catch(() => undefined);
  throw failed.reason;
}

/** Split the NAME of a class with a parameter before its child (fault:SPEC:TYPE:NAME, remap:RUNS:..., ileave:INTERLEAVE:...); EINVAL without the colon. */
export function splitParameter(className: string, rest: string, expected: string): { readonly parameter: string; readonly child: string } {
  const colon = rest.indexOf(':');
  if (colon < 0) throw new StoreError('EINVAL', `${className}:${rest}: expected ${expected}`);
  return { parameter: rest.slice(0, colon), child: rest.slice(colon + 1) };
}

/**
 * The store `make` builds over children already open; when building fails
 * (sizes that do not fit ...), the children are closed again. That error is
 * the one to report: a close failing on top of it is dropped.
 */
export async function storeOver<T extends Store>(children: readonly Store[], make: () => T): Promise<T> {
  try {
    return make();
  } catch (err) {
    await closeAll(children).catch(() => undefined);
    throw err;
  }
}

/**
 * Open the child of a class with a parameter before it (fault:SPEC:TYPE:NAME,
 * remap:RUNS:TYPE:NAME), once `parse` has taken the parameter: a bad
 * parameter opens nothing.
 */
export async function openParameterChild<P>(
  className: string,
  rest: string,
  expected: string,
  parse: (parameter: string) => P,
  options: OpenOptions,
  context: OpenContext,
): Promise<{ readonly parsed: P; readonly child: Store }> {
  const { parameter, child } = splitParameter(className, rest, expected);
  const parsed = parse(parameter);
  return { parsed, child: await context.open(child, childOptions(options)) };
}
