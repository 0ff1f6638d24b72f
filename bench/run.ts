/**
 * npm run bench: print benchmark figures. Each bench file exports an async
 * function that prints its own table and returns its rows; this file runs
 * them in turn (stores and FUSE benches go in the list when they exist).
 *
 * Usage: node dist/bench/run.js [--quick] [NAME...]
 *   --quick   short loops, small sizes: a smoke run
 *   NAME...   run only these benches (names as listed by --list; a name
 *             with a space is quoted: 'slow store')
 *   --list    print the bench names and stop
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchKernel } from './kernel.js';
import { benchPolicies } from './policies.js';
import { benchStores } from './stores.js';
import { benchMount } from './mount.js';
import { benchColdReads } from './cold-reads.js';
import { benchSlowStore } from './slow-store.js';
import { benchWorkloads } from './workloads.js';
import { benchMemory } from './memory.js';
import { benchProfile } from './profile.js';
import { benchSnapshot } from './snapshot.js';
import { benchMrc } from './mrc.js';
import { benchMrcLive } from './mrc-live.js';
import { benchCoherence } from './coherence.js';
import type { BenchRow, Print } from './table.js';

interface Bench {
  readonly name: string;
  run(print: Print, quick: boolean): Promise<BenchRow[]>;
}

const benches: readonly Bench[] = [
  {
    name: 'kernel',
    run: (print, quick) => benchKernel({ print, durationMs: quick ? 200 : 2000, shrink: quick ? 8 : 1 }),
  },
  {
    name: 'policies',
    run: (print, quick) => benchPolicies({ print, requests: quick ? 100_000 : 1_000_000, universe: quick ? 100_000 : 1_000_000 }),
  },
  {
    name: 'stores',
    run: (print, quick) => benchStores({ print, dataBytes: quick ? 8 * 1024 * 1024 : 64 * 1024 * 1024, randomReads: quick ? 2000 : 20000 }),
  },
  {
    name: 'mount',
    run: (print, quick) => benchMount({ print, quick }),
  },
  {
    name: 'cold reads',
    run: (print, quick) => benchColdReads({ print, quick }),
  },
  {
    name: 'slow store',
    run: (print, quick) => benchSlowStore({ print, quick }),
  },
  {
    name: 'workloads',
    run: (print, quick) => benchWorkloads({ print, quick }),
  },
  {
    name: 'memory',
    run: (print, quick) => benchMemory({ print, quick }),
  },
  {
    name: 'snapshot',
    run: (print, quick) => benchSnapshot({ print, quick }),
  },
  {
    name: 'mrc',
    run: (print, quick) => benchMrc({ print, quick }),
  },
  {
    name: 'mrc live',
    run: (print, quick) => benchMrcLive({ print, quick }),
  },
  {
    name: 'coherence',
    run: (print, quick) => benchCoherence({ print, quick }),
  },
  {
    name: 'profile',
    run: (print, quick) => benchProfile({ print, quick }),
  },
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const print: Print = (line) => console.log(line);
  if (args.includes('--list')) {
    for (const bench of benches) print(bench.name);
    return;
  }
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !benches.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`no bench named ${unknown.join(', ')} (have: ${benches.map((b) => b.name).join(', ')})`);
  const chosen = names.length === 0 ? benches : benches.filter((b) => names.includes(b.name));
  const cpus = os.cpus();
  print(`machpager bench: node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPU(s) (${cpus[0]?.model.trim() ?? 'unknown'})${quick ? ', quick' : ''}`);
  const started = performance.now();
  for (const bench of chosen) await bench.run(print, quick);
  print('');
  print(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
