/**
 * DESIGN.md "Folders and who may import whom", every rule, over the
 * repository. One test per rule, each failure naming the file and the import
 * at fault. test/layering-rules.test.ts shows that each rule can fail.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTree, formatViolation, layout, readTree, rules } from './helpers/layering.js';

const tree = readTree(join(import.meta.dirname, '..'));
const found = checkTree(tree);

describe('layering (DESIGN.md "Folders and who may import whom")', () => {
  it('reads the sources it guards', () => {
    expect(tree.files.size).toBeGreaterThan(150);
    for (const folder of layout.folders) expect([...tree.files.keys()].some((f) => f.startsWith(`${folder}/`)), folder).toBe(true);
    // The parser sees the imports the rules are about, in each of their forms.
    const refs = [...tree.files.values()].flatMap((f) => f.imports);
    expect(refs.some((r) => r.packageName === 'better-sqlite3' && !r.typeOnly)).toBe(true);
    expect(refs.some((r) => r.packageName?.endsWith('fuse-native') === true)).toBe(true);
    expect(refs.some((r) => r.kind === 'dynamic' && !r.typeOnly)).toBe(true);
    expect(refs.some((r) => r.file.startsWith('daemon/pager/') && r.target === 'kernel/index.ts')).toBe(true);
    expect(refs.some((r) => r.file.startsWith('daemon/pager/') && r.target === 'stores/index.ts')).toBe(true);
  });

  it.each(rules().map((rule) => [rule.name, rule] as const))('%s', (name) => {
    expect(found.filter((v) => v.rule === name).map(formatViolation)).toEqual([]);
  });
});
