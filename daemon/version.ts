/** machpager's version, from package.json (found from the source tree and from dist/ alike). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function machpagerVersion(): string {
  if (cached !== undefined) return cached;
  cached = '0.0.0';
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'machpager' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // Not there from this layout: try the other.
    }
  }
  return cached;
}
