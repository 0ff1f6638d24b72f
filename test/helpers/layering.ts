/**
 * The rules of DESIGN.md "Folders and who may import whom", as a checker
 * over a source tree. test/layering.test.ts runs it over the repository;
 * test/layering-rules.test.ts runs it over small trees that break each
 * rule, so that a rule that cannot fail is seen.
 *
 * Imports are read with the TypeScript parser: `import`, `export ... from`,
 * `import()`, and `require()` / `require.resolve()` / `import.meta.resolve()`
 * with a literal name (the FUSE binding is loaded with createRequire).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';

export type ImportKind = 'import' | 'export' | 'dynamic' | 'require';

export interface ImportRef {
  /** The importing file, relative to the tree's root, with '/'. */
  file: string;
  line: number;
  specifier: string;
  kind: ImportKind;
  /**
   * Erased when compiled (`import type`, `export type`, `typeof import()`):
   * it loads nothing. Under verbatimModuleSyntax `import { type A }` is kept
   * as `import {}`, which does load the module, so it is not type-only.
   */
  typeOnly: boolean;
  /** The names taken; undefined for a namespace, `export *`, a side-effect import or a call. */
  names?: string[];
  /** The tree file a relative specifier names ('.js' read as '.ts'). */
  target?: string;
  /** The npm package a bare specifier names ('@scope/name' or 'name'). */
  packageName?: string;
}

export interface SourceInfo {
  path: string;
  lines: number;
  imports: ImportRef[];
  /** Names the file declares and exports itself (not re-exports). */
  declares: string[];
}

export interface Tree {
  files: Map<string, SourceInfo>;
}

/** What a rule found wrong: the file, and the import at fault where there is one. */
export interface Finding {
  file: string;
  line: number;
  specifier?: string;
  message: string;
}

export interface Violation extends Finding {
  rule: string;
}

export interface Rule {
  name: string;
  find(tree: Tree): Finding[];
}

/** Where the rules look: the final layout of issue 11. */
export interface Layout {
  /** Folders read, relative to the root. */
  folders: string[];
  /** The one file that may load fuse-native. */
  fuseBinding: string;
  /** Must not load the binding (control/ and cli/ import it for /proc/self/mountinfo). */
  mountTable: string;
  maxLines: number;
  /** Database drivers and the files that may import each. */
  drivers: { packageName: string; allowed: RegExp[] }[];
}

const catalogs = /^daemon\/fs\/(?:.*\/)?[^/]*catalog[^/]*\.ts$/;

export const layout: Layout = {
  folders: ['kernel', 'stores', 'daemon', 'bench', 'examples'],
  fuseBinding: 'daemon/fs/fuse/binding.ts',
  mountTable: 'daemon/fs/fuse/mount-table.ts',
  maxLines: 600,
  drivers: [
    { packageName: 'better-sqlite3', allowed: [/^stores\/sqlite-(?:connection|schema)\.ts$/, catalogs] },
    { packageName: 'pg', allowed: [/^stores\/(?:pg|postgres)[^/]*\.ts$/, catalogs] },
  ],
};

export function formatViolation(v: Violation): string {
  const spec = v.specifier === undefined ? '' : ` '${v.specifier}'`;
  return `${v.file}:${v.line}:${spec} ${v.message}`;
}

// ---------------------------------------------------------------- reading

function* sourcePaths(root: string, folder: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(posix.join(root, folder), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const rel = posix.join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* sourcePaths(root, rel);
    } else if (/\.(?:ts|mts|cts)$/.test(entry.name)) {
      yield rel;
    }
  }
}

export function readTree(root: string, folders: string[] = layout.folders): Tree {
  const files = new Map<string, SourceInfo>();
  for (const folder of folders) {
    for (const path of sourcePaths(root, folder)) files.set(path, parseSource(path, readFileSync(posix.join(root, path), 'utf8')));
  }
  for (const info of files.values()) {
    for (const ref of info.imports) if (ref.target !== undefined) ref.target = resolveIn(files, ref.target);
  }
  return { files };
}

/** A relative specifier's file: './a.js' is './a.ts' in the sources; './dir' may be './dir/index.ts'. */
function resolveIn(files: Map<string, SourceInfo>, path: string): string {
  const candidates = path.endsWith('.js') ? [path.replace(/\.js$/, '.ts'), path] : [path, `${path}.ts`, `${path}/index.ts`];
  return candidates.find((c) => files.has(c)) ?? candidates[0];
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** `require(x)`, `createRequire(url)(x)`, `require.resolve(x)`, `import.meta.resolve(x)`. */
function isRequireCall(callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return callee.text === 'require';
  if (ts.isCallExpression(callee)) return ts.isIdentifier(callee.expression) && callee.expression.text === 'createRequire';
  if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== 'resolve') return false;
  const on = callee.expression;
  return (ts.isIdentifier(on) && on.text === 'require') || (ts.isMetaProperty(on) && on.name.text === 'meta');
}

function literalText(node: ts.Node | undefined): string | undefined {
  return node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

function hasExport(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

export function parseSource(path: string, text: string): SourceInfo {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports: ImportRef[] = [];
  const declares: string[] = [];
  const add = (node: ts.Node, specifier: string, kind: ImportKind, typeOnly: boolean, names?: string[]): void => {
    const target = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(path), specifier)) : undefined;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    imports.push({ file: path, line, specifier, kind, typeOnly, names, target, packageName: packageOf(specifier) });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const specifier = literalText(node.moduleSpecifier);
      if (specifier !== undefined) {
        const clause = node.importClause;
        const bindings = clause?.namedBindings;
        let names: string[] | undefined;
        if (clause !== undefined && (bindings === undefined || ts.isNamedImports(bindings))) {
          names = [...(clause.name ? ['default'] : []), ...(bindings?.elements ?? []).map((e) => (e.propertyName ?? e.name).text)];
        }
        add(node, specifier, 'import', clause?.phaseModifier === ts.SyntaxKind.TypeKeyword, names);
      }
    } else if (ts.isExportDeclaration(node)) {
      const specifier = literalText(node.moduleSpecifier);
      const clause = node.exportClause;
      if (specifier !== undefined) {
        const names = clause !== undefined && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : undefined;
        add(node, specifier, 'export', node.isTypeOnly, names);
      } else if (clause !== undefined && ts.isNamedExports(clause)) {
        declares.push(...clause.elements.map((e) => e.name.text));
      }
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const specifier = literalText(node.moduleReference.expression);
      if (specifier !== undefined) add(node, specifier, 'require', node.isTypeOnly);
    } else if (ts.isCallExpression(node)) {
      const specifier = literalText(node.arguments[0]);
      if (specifier !== undefined) {
        if (node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, specifier, 'dynamic', false);
        else if (isRequireCall(node.expression)) add(node, specifier, 'require', false);
      }
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      const specifier = ts.isLiteralTypeNode(arg) ? literalText(arg.literal) : undefined;
      if (specifier !== undefined) add(node, specifier, 'dynamic', true);
    }
    if (node.parent === source && hasExport(node)) declares.push(...declaredNames(node));
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);
  const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  return { path, lines, imports, declares };
}

function declaredNames(node: ts.Node): string[] {
  if (ts.isVariableStatement(node)) {
    return node.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  }
  if (
    (ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isEnumDeclaration(node)) &&
    node.name !== undefined
  ) {
    return [node.name.text];
  }
  return [];
}

// ---------------------------------------------------------------- the rules

const under = (path: string | undefined, folder: string): boolean => path !== undefined && path.startsWith(`${folder}/`);

function importsIn(tree: Tree, folder?: string): ImportRef[] {
  return [...tree.files.values()].filter((f) => folder === undefined || under(f.path, folder)).flatMap((f) => f.imports);
}

function at(ref: ImportRef, message: string): Finding {
  return { file: ref.file, line: ref.line, specifier: ref.specifier, message };
}

function isFuseNative(ref: ImportRef): boolean {
  return ref.packageName !== undefined && /(?:^|\/)fuse-native$/.test(ref.packageName);
}

/** Files that load the binding: the binding file, and any file that loads fuse-native itself. */
function bindingFiles(tree: Tree, l: Layout): Set<string> {
  const files = new Set([l.fuseBinding]);
  for (const ref of importsIn(tree)) if (isFuseNative(ref) && !ref.typeOnly) files.add(ref.file);
  return files;
}

/**
 * The shortest chain of static, loading imports from `start` to a file in
 * `goal`: each step is the import that takes it. A type-only import loads
 * nothing; an `import()` loads only when it runs, which is how a command
 * that really mounts reaches the binding without every command loading it.
 */
function chainTo(tree: Tree, start: string, goal: Set<string>): ImportRef[] | undefined {
  const via = new Map<string, ImportRef | undefined>([[start, undefined]]);
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (goal.has(file) && file !== start) {
      const chain: ImportRef[] = [];
      for (let step = via.get(file); step !== undefined; step = via.get(step.file)) chain.unshift(step);
      return chain;
    }
    for (const ref of tree.files.get(file)?.imports ?? []) {
      if (ref.typeOnly || ref.kind === 'dynamic' || ref.target === undefined || via.has(ref.target)) continue;
      via.set(ref.target, ref);
      queue.push(ref.target);
    }
  }
  return undefined;
}

/** The names of the Store interface: what stores/store.ts declares (Store, its flags, StoreError, DataError, isDataError ...). */
const STORE_INTERFACE = 'stores/store.ts';

export function rules(l: Layout = layout): Rule[] {
  return [
    {
      name: 'kernel/ imports nothing from daemon/ or stores/',
      find: (tree) =>
        importsIn(tree, 'kernel')
          .filter((ref) => under(ref.target, 'daemon') || under(ref.target, 'stores'))
          .map((ref) => at(ref, `kernel/ imports ${ref.target}`)),
    },
    {
      name: 'stores/ imports nothing from kernel/ or daemon/',
      find: (tree) =>
        importsIn(tree, 'stores')
          .filter((ref) => under(ref.target, 'kernel') || under(ref.target, 'daemon'))
          .map((ref) => at(ref, `stores/ imports ${ref.target}`)),
    },
    {
      name: 'kernel/ and stores/ use no npm package but the stores\' database drivers',
      find: (tree) =>
        [...importsIn(tree, 'kernel'), ...importsIn(tree, 'stores')]
          .filter((ref) => ref.packageName !== undefined && !(under(ref.file, 'stores') && l.drivers.some((d) => d.packageName === ref.packageName)))
          .map((ref) => at(ref, `imports the npm package ${ref.packageName}`)),
    },
    {
      name: 'daemon/pager/ imports the kernel only through kernel/index.ts',
      find: (tree) =>
        importsIn(tree, 'daemon/pager')
          .filter((ref) => under(ref.target, 'kernel') && ref.target !== 'kernel/index.ts')
          .map((ref) => at(ref, `reaches into ${ref.target}; import from kernel/index.js`)),
    },
    {
      name: `daemon/pager/ imports stores only through the Store interface (names ${STORE_INTERFACE} declares, from stores/index.ts)`,
      find: (tree) => {
        const allowed = new Set(tree.files.get(STORE_INTERFACE)?.declares ?? []);
        return importsIn(tree, 'daemon/pager').flatMap((ref) => {
          if (!under(ref.target, 'stores')) return [];
          if (ref.target !== 'stores/index.ts') return [at(ref, `reaches into ${ref.target}; import from stores/index.js`)];
          if (ref.names === undefined) return [at(ref, 'takes the whole stores module; name what it uses of the Store interface')];
          const outside = ref.names.filter((n) => !allowed.has(n));
          return outside.length === 0 ? [] : [at(ref, `takes ${outside.join(', ')}, which ${STORE_INTERFACE} does not declare`)];
        });
      },
    },
    {
      name: 'daemon/pager/ imports nothing else of daemon/',
      find: (tree) =>
        importsIn(tree, 'daemon/pager')
          .filter((ref) => under(ref.target, 'daemon') && !under(ref.target, 'daemon/pager'))
          .map((ref) => at(ref, `the pager imports ${ref.target}`)),
    },
    {
      name: `fuse-native is imported in exactly one file, ${l.fuseBinding}`,
      find: (tree) => {
        const refs = importsIn(tree).filter(isFuseNative);
        const found = refs.filter((ref) => ref.file !== l.fuseBinding).map((ref) => at(ref, `loads ${ref.packageName} (${ref.kind}); only ${l.fuseBinding} may`));
        if (!refs.some((ref) => ref.file === l.fuseBinding)) {
          found.push({ file: l.fuseBinding, line: 0, message: tree.files.has(l.fuseBinding) ? 'does not load fuse-native' : 'is missing: the binding belongs there' });
        }
        return found;
      },
    },
    {
      name: `${l.drivers.map((d) => d.packageName).join(' and ')} only in their stores and catalogs`,
      find: (tree) =>
        l.drivers.flatMap((driver) =>
          importsIn(tree)
            .filter((ref) => ref.packageName === driver.packageName && !driver.allowed.some((re) => re.test(ref.file)))
            .map((ref) => at(ref, `imports ${driver.packageName} outside its stores and catalogs (${driver.allowed.map(String).join(' ')})`)),
        ),
    },
    {
      name: `daemon/control/, daemon/cli/ and ${l.mountTable} do not load the FUSE binding (static imports, transitively)`,
      find: (tree) => {
        const binding = bindingFiles(tree, l);
        const starts = [...tree.files.keys()].filter((f) => under(f, 'daemon/control') || under(f, 'daemon/cli') || f === l.mountTable);
        return starts.flatMap((start) => {
          const own = tree.files.get(start)?.imports.find((ref) => isFuseNative(ref) && !ref.typeOnly);
          if (own !== undefined) return [at(own, 'loads fuse-native itself')];
          const chain = chainTo(tree, start, binding);
          if (chain === undefined) return [];
          return [at(chain[0], `loads the FUSE binding: ${[start, ...chain.map((step) => step.target)].join(' -> ')}`)];
        });
      },
    },
    {
      name: `no source file in daemon/, kernel/ or stores/ over ${l.maxLines} lines`,
      find: (tree) =>
        [...tree.files.values()]
          .filter((f) => ['daemon', 'kernel', 'stores'].some((d) => under(f.path, d)) && f.lines > l.maxLines)
          .map((f) => ({ file: f.path, line: f.lines, message: `has ${f.lines} lines (at most ${l.maxLines}): a room with two jobs is two rooms` })),
    },
  ];
}

/** Every violation of every rule in the tree. */
export function checkTree(tree: Tree, ruleList: Rule[] = rules()): Violation[] {
  return ruleList.flatMap((rule) => rule.find(tree).map((f) => ({ rule: rule.name, ...f })));
}
