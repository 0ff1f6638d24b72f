/**
 * What a power loss takes, decided before anything is done (the same plan
 * serves --dry-run and the crash itself): per file, the pages written since
 * its durable point (written back to the store or still dirty in the cache),
 * which of them a --keep or --torn crash lets survive, and the file's size
 * afterwards; and the names that come or go with the catalog's durable
 * state. Every choice comes from one PRNG stream seeded by the user, taken
 * in inode and page order, so the same workload and seed give the same
 * crash.
 *
 * --keep random:SEED:P: each unsynced page survives with probability P.
 * --torn: each file's pages written before its latest write survive (with
 *   --keep, each with probability P); its latest write keeps only a prefix:
 *   k of its n pages, k drawn from 0 .. n-1. A page that does not survive
 *   goes back to its durable content (zeros where the durable file had none).
 * A kept page past the durable size makes the file that long (at most its
 * size before the crash), as a filesystem that writes the size with the data.
 */
import { mulberry32 } from '../../../stores/seeded-random.js';
import type { CrashJournal } from './crash-journal.js';
import { pathFinder, readRows, type CatalogDb, type CatalogRows } from './durable-catalog.js';

export interface CrashChoice {
  /** --keep random:SEED:P */
  keep?: { seed: number; probability: number };
  /** --torn (its seed: --keep's, else this one) */
  torn?: { seed: number };
}

/** One file's loss, as the crash reports it. */
export interface FileLoss {
  /** Its path now ('' when it has no name). */
  path: string;
  ino: number;
  /** Its size now, and after the crash (0 when gone). */
  size: number;
  size_after: number;
  /** The file goes (never made durable through its directory). */
  gone: boolean;
  /** Unsynced pages dropped, as ranges of page numbers ("0-15,40"). */
  lost: string;
  lost_pages: number;
  /** Unsynced pages --keep or --torn let survive. */
  kept_pages: number;
}

export interface NameChange {
  path: string;
  /** lost: made since the durable point, gone after the crash; returns: removed since, back after it. */
  change: 'lost' | 'returns';
}

export interface LossPlan {
  files: FileLoss[];
  names: NameChange[];
  /** Sizes the catalog's durable state gets (files a kept page made longer). */
  sizes: Map<number, number>;
  /** Per surviving file: the unsynced pages that survive. */
  kept: Map<number, Set<number>>;
}

/** What the plan needs of the filesystem, now. */
export interface LossInput {
  db: CatalogDb;
  journal: CrashJournal;
  pageSize: number;
  /** The durable state's rows, made consistent. */
  target: CatalogRows;
  /** Files whose size in memory differs from the catalog's (not yet flushed), and their dirty pages in the cache. */
  files: Map<number, { size: number; dirty: number[] }>;
}

export function planLoss(input: LossInput, choice: CrashChoice): LossPlan {
  const { journal, target, pageSize } = input;
  const live = readRows(input.db);
  const livePath = pathFinder(live);
  const inos = new Set<number>([...journal.inodes.keys(), ...input.files.keys()]);
  for (const [ino, row] of live.inodes) if (target.inodes.get(ino)?.size !== row.size) inos.add(ino);
  const random = mulberry32(choice.keep?.seed ?? choice.torn?.seed ?? 0);
  const plan: LossPlan = { files: [], names: [], sizes: new Map(), kept: new Map() };
  for (const ino of [...inos].sort((a, b) => a - b)) {
    const row = live.inodes.get(ino);
    const durable = target.inodes.get(ino);
    if (row && (row.mode & 0o170000) !== 0o100000) continue;
    const size = input.files.get(ino)?.size ?? row?.size ?? 0;
    const unsynced = new Set<number>([...(journal.inodes.get(ino)?.written.keys() ?? []), ...(input.files.get(ino)?.dirty ?? [])]);
    // A file that goes loses every page it has; one that stays, those written since its durable point.
    const pages = durable ? [...unsynced].filter((p) => p * pageSize < size).sort((a, b) => a - b) : Array.from({ length: Math.ceil(size / pageSize) }, (_, p) => p);
    const kept = new Set<number>();
    if (durable) {
      const last = choice.torn ? journal.lastWrites.get(ino) : undefined;
      const tail = last ? pages.filter((p) => p >= last.first && p < last.end) : [];
      const tear = tail.length === 0 ? 0 : Math.floor(random() * tail.length);
      for (const p of pages) {
        const inTail = tail.length > 0 && p >= last!.first && p < last!.end;
        if (inTail) {
          if (p - tail[0] < tear) kept.add(p);
        } else if (choice.keep) {
          if (random() < choice.keep.probability) kept.add(p);
        } else if (choice.torn) kept.add(p);
      }
    }
    const durableSize = durable?.size ?? 0;
    let sizeAfter = durableSize;
    if (kept.size > 0) sizeAfter = Math.max(durableSize, Math.min(size, (Math.max(...kept) + 1) * pageSize));
    if (durable && sizeAfter !== durableSize) plan.sizes.set(ino, sizeAfter);
    if (kept.size > 0) plan.kept.set(ino, kept);
    const lost = pages.filter((p) => !kept.has(p));
    if (lost.length === 0 && durable && sizeAfter === size) continue;
    plan.files.push({
      path: livePath(ino) ?? pathFinder(target)(ino) ?? '',
      ino,
      size,
      size_after: durable ? sizeAfter : 0,
      gone: !durable,
      lost: pageRanges(lost),
      lost_pages: lost.length,
      kept_pages: kept.size,
    });
  }
  plan.names = nameChanges(live, target);
  return plan;
}

/** The names in `live` the crash takes, and those of `target` it brings back. */
function nameChanges(live: CatalogRows, target: CatalogRows): NameChange[] {
  const changes: NameChange[] = [];
  const livePath = pathFinder(live);
  const targetPath = pathFinder(target);
  for (const [parent, entries] of live.dirents) {
    for (const [name, ino] of entries) {
      if (target.dirents.get(parent)?.get(name) === ino) continue;
      changes.push({ path: `${parent === 1 ? '' : (livePath(parent) ?? `(directory ${parent})`)}/${name}`, change: 'lost' });
    }
  }
  for (const [parent, entries] of target.dirents) {
    for (const [name, ino] of entries) {
      if (live.dirents.get(parent)?.get(name) === ino) continue;
      changes.push({ path: `${parent === 1 ? '' : (targetPath(parent) ?? `(directory ${parent})`)}/${name}`, change: 'returns' });
    }
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Page numbers as ranges: [0,1,2,5] → "0-2,5". */
export function pageRanges(pages: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < pages.length; ) {
    let j = i;
    while (j + 1 < pages.length && pages[j + 1] === pages[j] + 1) j++;
    parts.push(i === j ? `${pages[i]}` : `${pages[i]}-${pages[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
