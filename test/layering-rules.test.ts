/**
 * Each layering rule can fail: a small tree that keeps every rule, and for
 * each rule trees that break it in the ways a change could (a static import,
 * a re-export, an `import()`, a `require.resolve`, a type import that still
 * loads), each expected to be reported with the file and the import at fault.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkTree, formatViolation, layout, readTree, rules } from './helpers/layering.js';

type Files = Record<string, string | null>;

/** Keeps every rule: the layout of DESIGN.md in miniature. */
const sound: Files = {
  'kernel/index.ts': "export * from './vm/prot.js';\n",
  'kernel/vm/prot.ts': "import { tmpdir } from 'node:os';\nexport const VM_PROT_READ = 1;\nexport const where = tmpdir();\n",
  'stores/store.ts': 'export interface Store { read(offset: number): Buffer }\nexport class DataError extends Error {}\nexport function isDataError(err: unknown): boolean { return err instanceof DataError; }\n',
  'stores/index.ts': "export * from './store.js';\nexport { SqliteStore } from './sqlite-connection.js';\n",
  'stores/sqlite-connection.ts': "import Database from 'better-sqlite3';\nexport class SqliteStore { db = Database; }\n",
  'daemon/pager/pager.ts':
    "import { VM_PROT_READ } from '../../kernel/index.js';\nimport { isDataError, type Store } from '../../stores/index.js';\nimport { Pagemap } from './pagemap.js';\nexport const use = [VM_PROT_READ, isDataError, Pagemap] as const;\nexport type S = Store;\n",
  'daemon/pager/pagemap.ts': 'export class Pagemap {}\n',
  'daemon/fs/fuse/binding.ts':
    "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nexport const addon = require.resolve('@cocalc/fuse-native/package.json');\nexport interface FuseStat { mode: number }\n",
  'daemon/fs/fuse/mount.ts': "import { addon } from './binding.js';\nexport const mount = addon;\n",
  'daemon/fs/fuse/mount-table.ts': "import { readFileSync } from 'node:fs';\nexport const mountinfo = (): string => readFileSync('/proc/self/mountinfo', 'utf8');\n",
  'daemon/fs/catalog.ts': "import type Database from 'better-sqlite3';\nimport type { FuseStat } from './fuse/binding.js';\nexport type Row = [Database.Database, FuseStat];\n",
  'daemon/control/client.ts': "import { mountinfo } from '../fs/fuse/mount-table.js';\nexport const mounts = mountinfo;\n",
  // A command that really mounts loads the binding when it runs, not when the CLI loads.
  'daemon/cli/mount.ts':
    "import type { FuseStat } from '../fs/fuse/binding.js';\nexport async function mount(): Promise<unknown> { const m = await import('../fs/fuse/mount.js'); return m.mount; }\nexport type S = FuseStat;\n",
  'daemon/cli/main.ts': "import { mount } from './mount.js';\nimport { mounts } from '../control/client.js';\nexport const commands = [mount, mounts];\n",
  'bench/mount.ts': "import { mountinfo } from '../daemon/fs/fuse/mount-table.js';\nexport const m = mountinfo;\n",
  'kernel/vm/long.ts': 'export const x = 1;\n'.repeat(layout.maxLines),
};

interface Case {
  /** What the change does. */
  does: string;
  /** Files added, replaced, or (null) removed. */
  change: Files;
  /** The one rule it breaks, as its name starts. */
  rule: string;
  /** The findings, as formatViolation prints them. */
  found: string[];
}

const cases: Case[] = [
  {
    does: 'kernel/ imports a store',
    change: { 'kernel/vm/fault.ts': "import type { Store } from '../../stores/index.js';\nexport type S = Store;\n" },
    rule: 'kernel/ imports nothing from daemon/',
    found: ["kernel/vm/fault.ts:1: '../../stores/index.js' kernel/ imports stores/index.ts"],
  },
  {
    does: 'kernel/ loads the daemon lazily',
    change: { 'kernel/vm/fault.ts': "export const later = () => import('../../daemon/pager/pager.js');\n" },
    rule: 'kernel/ imports nothing from daemon/',
    found: ["kernel/vm/fault.ts:1: '../../daemon/pager/pager.js' kernel/ imports daemon/pager/pager.ts"],
  },
  {
    does: 'stores/ re-exports the kernel',
    change: { 'stores/memory.ts': "export { VM_PROT_READ } from '../kernel/index.js';\n" },
    rule: 'stores/ imports nothing from kernel/',
    found: ["stores/memory.ts:1: '../kernel/index.js' stores/ imports kernel/index.ts"],
  },
  {
    does: 'stores/ takes an npm package',
    change: { 'stores/memory.ts': "import chalk from 'chalk';\nexport const c = chalk;\n" },
    rule: 'kernel/ and stores/ use no npm package',
    found: ["stores/memory.ts:1: 'chalk' imports the npm package chalk"],
  },
  {
    does: 'kernel/ takes an npm package',
    change: { 'kernel/vm/prot.ts': "import { Counter } from 'prom-client';\nexport const c = Counter;\n" },
    rule: 'kernel/ and stores/ use no npm package',
    found: ["kernel/vm/prot.ts:1: 'prom-client' imports the npm package prom-client"],
  },
  {
    does: 'the pager reaches into the kernel',
    change: { 'daemon/pager/fault.ts': "import type { VmProt } from '../../kernel/vm/prot.js';\nexport type P = VmProt;\n" },
    rule: 'daemon/pager/ imports the kernel only',
    found: ["daemon/pager/fault.ts:1: '../../kernel/vm/prot.js' reaches into kernel/vm/prot.ts; import from kernel/index.js"],
  },
  {
    does: 'the pager takes a store class',
    change: { 'daemon/pager/open.ts': "import { SqliteStore, type Store } from '../../stores/index.js';\nexport const s: [typeof SqliteStore, Store?] = [SqliteStore];\n" },
    rule: 'daemon/pager/ imports stores only',
    found: ["daemon/pager/open.ts:1: '../../stores/index.js' takes SqliteStore, which stores/store.ts does not declare"],
  },
  {
    does: 'the pager takes the whole stores module',
    change: { 'daemon/pager/open.ts': "import * as stores from '../../stores/index.js';\nexport const s = stores;\n" },
    rule: 'daemon/pager/ imports stores only',
    found: ["daemon/pager/open.ts:1: '../../stores/index.js' takes the whole stores module; name what it uses of the Store interface"],
  },
  {
    does: 'the pager reaches into a store file',
    change: { 'daemon/pager/open.ts': "import type { Store } from '../../stores/store.js';\nexport type S = Store;\n" },
    rule: 'daemon/pager/ imports stores only',
    found: ["daemon/pager/open.ts:1: '../../stores/store.js' reaches into stores/store.ts; import from stores/index.js"],
  },
  {
    does: 'the pager imports the filesystem',
    change: { 'daemon/pager/open.ts': "import type { Row } from '../fs/catalog.js';\nexport type R = Row;\n" },
    rule: 'daemon/pager/ imports nothing else',
    found: ["daemon/pager/open.ts:1: '../fs/catalog.js' the pager imports daemon/fs/catalog.ts"],
  },
  {
    does: 'a second file requires fuse-native',
    change: { 'daemon/fs/fuse-adapter.ts': "import { createRequire } from 'node:module';\nexport const b: unknown = createRequire(import.meta.url)('fuse-native');\nconst require = createRequire(import.meta.url);\nexport const c: unknown = require('@cocalc/fuse-native');\n" },
    rule: 'fuse-native is imported in exactly one file',
    found: [
      "daemon/fs/fuse-adapter.ts:2: 'fuse-native' loads fuse-native (require); only daemon/fs/fuse/binding.ts may",
      "daemon/fs/fuse-adapter.ts:4: '@cocalc/fuse-native' loads @cocalc/fuse-native (require); only daemon/fs/fuse/binding.ts may",
    ],
  },
  {
    does: 'bench imports fuse-native',
    change: { 'bench/fuse.ts': "import Fuse from '@cocalc/fuse-native';\nexport const f: unknown = Fuse;\n" },
    rule: 'fuse-native is imported in exactly one file',
    found: ["bench/fuse.ts:1: '@cocalc/fuse-native' loads @cocalc/fuse-native (import); only daemon/fs/fuse/binding.ts may"],
  },
  {
    does: 'the binding is not where the rule says',
    change: { 'daemon/fs/fuse/binding.ts': null },
    rule: 'fuse-native is imported in exactly one file',
    found: ['daemon/fs/fuse/binding.ts:0: is missing: the binding belongs there'],
  },
  {
    does: 'the filesystem opens SQLite itself',
    change: { 'daemon/fs/fsck.ts': "import Database from 'better-sqlite3';\nexport const d = Database;\n" },
    rule: 'better-sqlite3 and pg only',
    found: ["daemon/fs/fsck.ts:1: 'better-sqlite3' imports better-sqlite3 outside its stores and catalogs (/^stores\\/sqlite-(?:connection|schema)\\.ts$/ /^daemon\\/fs\\/(?:.*\\/)?[^/]*catalog[^/]*\\.ts$/)"],
  },
  {
    does: 'a command talks to PostgreSQL',
    change: { 'daemon/cli/pg.ts': "import pg from 'pg';\nexport const p: unknown = pg;\n" },
    rule: 'better-sqlite3 and pg only',
    found: ["daemon/cli/pg.ts:1: 'pg' imports pg outside its stores and catalogs (/^stores\\/(?:pg|postgres)[^/]*\\.ts$/ /^daemon\\/fs\\/(?:.*\\/)?[^/]*catalog[^/]*\\.ts$/)"],
  },
  {
    does: 'the mount table imports the binding, and control/ and cli/ load it through it',
    change: { 'daemon/fs/fuse/mount-table.ts': "import { addon } from './binding.js';\nexport const mountinfo = (): string => addon;\n" },
    rule: 'daemon/control/, daemon/cli/',
    found: [
      "daemon/cli/main.ts:2: '../control/client.js' loads the FUSE binding: daemon/cli/main.ts -> daemon/control/client.ts -> daemon/fs/fuse/mount-table.ts -> daemon/fs/fuse/binding.ts",
      "daemon/control/client.ts:1: '../fs/fuse/mount-table.js' loads the FUSE binding: daemon/control/client.ts -> daemon/fs/fuse/mount-table.ts -> daemon/fs/fuse/binding.ts",
      "daemon/fs/fuse/mount-table.ts:1: './binding.js' loads the FUSE binding: daemon/fs/fuse/mount-table.ts -> daemon/fs/fuse/binding.ts",
    ],
  },
  {
    // Under verbatimModuleSyntax `import { type X }` compiles to `import {}`: the module loads.
    does: 'a command imports a type from the binding without `import type`',
    change: { 'daemon/cli/stat.ts': "import { type FuseStat } from '../fs/fuse/binding.js';\nexport type S = FuseStat;\n" },
    rule: 'daemon/control/, daemon/cli/',
    found: ["daemon/cli/stat.ts:1: '../fs/fuse/binding.js' loads the FUSE binding: daemon/cli/stat.ts -> daemon/fs/fuse/binding.ts"],
  },
  {
    does: 'a command re-exports the mount',
    change: { 'daemon/cli/mount.ts': "export { mount } from '../fs/fuse/mount.js';\n" },
    rule: 'daemon/control/, daemon/cli/',
    found: [
      "daemon/cli/main.ts:1: './mount.js' loads the FUSE binding: daemon/cli/main.ts -> daemon/cli/mount.ts -> daemon/fs/fuse/mount.ts -> daemon/fs/fuse/binding.ts",
      "daemon/cli/mount.ts:1: '../fs/fuse/mount.js' loads the FUSE binding: daemon/cli/mount.ts -> daemon/fs/fuse/mount.ts -> daemon/fs/fuse/binding.ts",
    ],
  },
  {
    does: 'a file grows past the limit',
    change: { 'kernel/vm/long.ts': 'export const x = 1;\n'.repeat(layout.maxLines + 1) },
    rule: 'no source file',
    found: [`kernel/vm/long.ts:${layout.maxLines + 1}: has ${layout.maxLines + 1} lines (at most ${layout.maxLines}): a room with two jobs is two rooms`],
  },
];

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tree(change: Files = {}) {
  const root = mkdtempSync(join(tmpdir(), 'machpager-layering-'));
  roots.push(root);
  for (const [file, text] of Object.entries({ ...sound, ...change })) {
    if (text === null) continue;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return readTree(root);
}

describe('layering rules fail when broken', () => {
  it('the sound tree keeps every rule', () => {
    expect(checkTree(tree()).map(formatViolation)).toEqual([]);
  });

  it('every rule has a case that breaks it', () => {
    for (const rule of rules()) expect(cases.some((c) => rule.name.startsWith(c.rule)), rule.name).toBe(true);
  });

  it.each(cases.map((c) => [c.does, c] as const))('%s', (_does, c) => {
    const found = checkTree(tree(c.change));
    expect(found.map((v) => v.rule).every((name) => name.startsWith(c.rule)), found.map((v) => v.rule).join('; ')).toBe(true);
    expect(found.map(formatViolation)).toEqual(c.found);
  });
});
