/**
 * The README's one list of replacement policies is the registry's: a policy
 * added to kernel/policy without a row (or a row without a policy) fails here.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allPolicyFactories } from '../../kernel/policy/registry.js';
import { REPO } from './harness.js';

describe('README', () => {
  it('lists every policy of the registry once, in its order, live or sim only as the registry says, with its description', async () => {
    const readme = await readFile(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Replacement policies'), readme.indexOf('## Simulating policies'));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| ([^|]+) \| (.+) \|$/gm)].map((m) => ({ name: m[1], runs: m[2]?.trim(), description: m[3] }));
    expect(rows).toEqual(allPolicyFactories().map((f) => ({ name: f.name, runs: f.offline === true ? 'sim only' : 'live and sim', description: f.description })));
  });
});
