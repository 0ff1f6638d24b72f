/**
 * A store class as the typed-name registry sees it (libstore's struct
 * store_class, STORE_STD_CLASS): a plain object with a name, its name syntax,
 * the options it uses, and an open function. Classes that take children get
 * an OpenContext to open them by typed name, so no class file imports the
 * registry.
 */
import { STORE_OPEN_FLAGS, type OpenOptions, type Store } from './store.js';

export interface OpenContext {
  /** Open a child store by its typed name. */
  open(name: string, options?: OpenOptions): Promise<Store>;
}

export interface StoreClass {
  /** The TYPE in TYPE:NAME. */
  readonly name: string;
  /** Other TYPE spellings that select this class. */
  readonly aliases?: readonly string[];
  /** The NAME grammar, for messages and docs: 'memory:SIZE[/BLOCKSIZE]'. */
  readonly syntax: string;
  readonly summary: string;
  /** The OpenOptions this class uses (others are ignored). */
  readonly options: readonly (keyof OpenOptions)[];
  /** Open REST (the part after 'TYPE:'; '' when there was none). */
  open(rest: string, options: OpenOptions, context: OpenContext): Promise<Store>;
}

/** What a composite passes to its children: only the read-only flags. */
export function childOptions(options: OpenOptions, extraFlags = 0): OpenOptions {
  return { flags: ((options.flags ?? 0) & STORE_OPEN_FLAGS) | extraFlags };
}

/** A class of stores made over other stores (concat, copy, fault, ileave, remap): of the OpenOptions it takes only the flags. */
export function compositeClass(spec: Omit<StoreClass, 'options'>): StoreClass {
  return { ...spec, options: ['flags'] };
}

/** A class of stores kept on disk (file, sqlite): it takes the flags, and may create its store with a size and block size. */
export function diskClass(spec: Omit<StoreClass, 'options'>): StoreClass {
  return { ...spec, options: ['flags', 'create', 'size', 'blockSize'] };
}
