/**
 * A store named by a bare word must exist. `machpager STORE MOUNTPOINT`
 * (and `machpager mount STORE MOUNTPOINT`) would otherwise read a mistyped
 * command as a new store: `machpager stat empty` made a store ./stat and
 * mounted it on ./empty. A bare word is a name with no '/' and no ':' that
 * does not end in `.db` and is not a word for the default store: such a
 * name mounts only a store that is there. A new one is spelled so that it
 * cannot be a command: `./NAME`, `file:NAME`, `NAME.db`, `sqlite:NAME`.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { CliError, usageError } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import { DEFAULT_STORE_WORDS } from './store-location.js';

/** Whether `spec` is a bare word (see the file comment). */
export function isBareWord(spec: string): boolean {
  return spec !== '' && !spec.includes('/') && !spec.includes(':') && !spec.endsWith('.db') && !DEFAULT_STORE_WORDS.includes(spec);
}

/** The edit distance of `a` and `b`: insertions, deletions, substitutions, and swaps of two neighbours (one each). */
export function editDistance(a: string, b: string): number {
  // Optimal string alignment: three rows of the Levenshtein table are enough for the swap.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The candidate closest to `word`, if one is close enough to be a typo of it (at most 40% of its letters differ). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    const allowed = Math.max(1, Math.floor(Math.max(word.length, c.length) * 0.4));
    if (d <= allowed && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

async function exists(spec: string, cwd: string): Promise<boolean> {
  try {
    await lstat(path.resolve(cwd, spec));
    return true;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    // EACCES and the like: it may be there; the mount's own checks say what is wrong with it.
    return true;
  }
}

/** How a new store of that name is written. */
function spellings(word: string): string {
  return `./${word}, file:${word} or ${word}.db`;
}

/**
 * `machpager WORD MOUNTPOINT` with WORD a bare word that names nothing here:
 * a usage error, suggesting the command it may be a typo of.
 */
export async function checkShorthandStore(spec: string, cwd: string, commands: readonly string[]): Promise<void> {
  if (!isBareWord(spec) || (await exists(spec, cwd))) return;
  const guess = closest(spec, commands);
  const hint = guess === undefined ? '' : ` (did you mean '${guess}'?)`;
  throw new CliError('', `unknown command '${spec}'${hint}, and no store '${spec}' exists here to mount (a new store is written ${spellings(spec)})`, EXIT.USAGE);
}

/** `machpager mount WORD MOUNTPOINT` with WORD a bare word that names nothing here: a usage error. */
export async function checkStoreWord(spec: string, cwd: string): Promise<void> {
  if (!isBareWord(spec) || (await exists(spec, cwd))) return;
  throw usageError(`store ${spec}`, `no such store here (a new store is written ${spellings(spec)})`);
}
