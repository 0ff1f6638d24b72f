/** DESIGN.md "Folders and who may import whom", as it applies to stores/. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../stores');
const sources = readdirSync(root)
  .filter((f) => f.endsWith('.ts'))
  .map((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return { file, imports: [...text.matchAll(/\bfrom '([^']+)'|^import '([^']+)'/gm)].map((m) => m[1] ?? m[2] ?? '') };
  });

describe('stores layering', () => {
  it('imports nothing from kernel/ or daemon/, and better-sqlite3 only in the connection registry', () => {
    for (const { file, imports } of sources) {
      for (const spec of imports) {
        expect(spec, file).not.toMatch(/kernel|daemon/);
        if (spec === 'better-sqlite3') expect(file).toBe('sqlite-connection.ts');
        if (!spec.startsWith('./')) expect(spec === 'better-sqlite3' || spec.startsWith('node:'), `${file}: ${spec}`).toBe(true);
      }
    }
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.find((s) => s.file === 'sqlite-connection.ts')?.imports).toContain('better-sqlite3');
  });
});
