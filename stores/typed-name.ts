/**
 * Typed names (libstore typed.c, store_typed_open) and the class registry
 * (STORE_STD_CLASS). A name is resolved as:
 *
 *   TYPE:REST   class TYPE opens REST ('' when nothing follows the colon);
 *               an unknown TYPE is EINVAL, naming the known classes
 *   :REST       REST is a file name (file:REST)
 *   /PATH, ./PATH, ../PATH
 *               a file name, even with a ':' inside
 *   NAME        (no ':') class NAME with an empty REST if there is one,
 *               else a file name
 *
 * Classes that take children (concat, ileave, remap, copy, fault) open them
 * through the same function, so names nest: copy:remap:0+8:file:/x.
 */
import { concatClass } from './concat.js';
import { copyClass } from './copy.js';
import { faultClass } from './fault.js';
import { fileClass } from './file.js';
import { ileaveClass } from './ileave.js';
import { memoryClass } from './memory.js';
import { postgresClass } from './postgres.js';
import { remapClass } from './remap.js';
import { checkBlockSize, checkStoreSize } from './size.js';
import { sqliteClass } from './sqlite.js';
import { STORE_OPEN_FLAGS, StoreError, toStoreError, type OpenOptions, type Store } from './store.js';
import type { OpenContext, StoreClass } from './store-class.js';
import { zeroClass } from './zero.js';

const classes = new Map<string, StoreClass>();

/** Add a class (as libstore's module.c would load one); EEXIST if its name or an alias is taken. */
export function registerStoreClass(storeClass: StoreClass): void {
  const names = [storeClass.name, ...(storeClass.aliases ?? [])];
  for (const n of names) {
    if (!/^[A-Za-z0-9]+$/.test(n)) throw new StoreError('EINVAL', `store class name '${n}' is not alphanumeric`);
    if (classes.has(n)) throw new StoreError('EEXIST', `store class '${n}' exists`);
  }
  for (const n of names) classes.set(n, storeClass);
}

const BUILT_IN = [fileClass, sqliteClass, postgresClass, memoryClass, zeroClass, concatClass, ileaveClass, remapClass, copyClass, faultClass];
for (const c of BUILT_IN) registerStoreClass(c);

/** The registered classes, each once. */
export function storeClasses(): StoreClass[] {
  return [...new Set(classes.values())];
}

export function findStoreClass(type: string): StoreClass | undefined {
  return classes.get(type);
}

export interface ParsedName {
  storeClass: StoreClass;
  rest: string;
}

/** Resolve a typed name to its class and the rest of the name (nothing is opened). */
export function parseTypedName(name: string): ParsedName {
  if (name === '') throw new StoreError('EINVAL', 'empty store name');
  if (name.startsWith(':')) return { storeClass: fileClass, rest: name.slice(1) };
  if (/^\.{0,2}\//.test(name)) return { storeClass: fileClass, rest: name };
  const colon = name.indexOf(':');
  if (colon < 0) {
    const storeClass = classes.get(name);
    return storeClass ? { storeClass, rest: '' } : { storeClass: fileClass, rest: name };
  }
  const type = name.slice(0, colon);
  const storeClass = classes.get(type);
  if (!storeClass) {
    const known = storeClasses()
      .map((c) => c.name)
      .join(', ');
    throw new StoreError('EINVAL', `unknown store class '${type}' in '${name}' (known: ${known})`);
  }
  return { storeClass, rest: name.slice(colon + 1) };
}

/** Check OpenOptions given at run time (from a config file or the command line). */
export function checkOpenOptions(options: OpenOptions): OpenOptions {
  const known = new Set(['flags', 'create', 'size', 'blockSize']);
  for (const key of Object.keys(options)) if (!known.has(key)) throw new StoreError('EINVAL', `unknown store option '${key}'`);
  const { flags, create, size, blockSize } = options;
  if (flags !== undefined && (!Number.isInteger(flags) || (flags & ~STORE_OPEN_FLAGS) !== 0)) {
    throw new StoreError('EINVAL', `open flags 0x${Number(flags).toString(16)}: only STORE_READONLY and STORE_HARD_READONLY`);
  }
  if (create !== undefined && typeof create !== 'boolean') throw new StoreError('EINVAL', 'option create is not a boolean');
  if (blockSize !== undefined) checkBlockSize(blockSize);
  if (size !== undefined) checkStoreSize(size, blockSize ?? 1);
  return options;
}

const context: OpenContext = { open: openTypedStore };

/** Open the store a typed name names. Every failure is a StoreError. */
export async function openTypedStore(name: string, options: OpenOptions = {}): Promise<Store> {
  try {
    checkOpenOptions(options);
    const { storeClass, rest } = parseTypedName(name);
    return await storeClass.open(rest, options, context);
  } catch (err) {
    throw toStoreError(err, `open ${name}`);
  }
}
