/**
 * npm run bench: print benchmark figures. Each bench file exports an async
 * function that prints its own table and returns its rows; this file runs
 * them in turn (stores and FUSE benches go in the list when they exist).
 *
 * Options: --quick (short loops, small sizes: a smoke run).
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchKernel } from './kernel.js';
import { benchPolicies } from './policies.js';
import { benchStores } from './stores.js';
import { benchMount } from './mount.js';
import { benchSlowStore } from './slow-store.js';
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
    name: 'slow store',
    run: (print, quick) => benchSlowStore({ print, quick }),
  },
];

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const print: Print = (line) => console.log(line);
  const cpus = os.cpus();
  print(`machpager bench: node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} CPU(s) (${cpus[0]?.model.trim() ?? 'unknown'})${quick ? ', quick' : ''}`);
  const started = performance.now();
  for (const bench of benches) await bench.run(print, quick);
  print('');
  print(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
