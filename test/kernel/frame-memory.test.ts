/**
 * A page cache costs memory for the pages it holds (issue 12): a 2 GiB
 * cache does not make the process 2 GiB resident when it starts; its
 * resident memory grows as frames are first used. Measured in a child
 * process (its own RSS, nothing else loaded) on the built kernel.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const MiB = 1024 * 1024;

it('a 2 GiB cache is not resident up front; 256 MiB written make about 256 MiB resident', async () => {
  const kernelModule = path.resolve('dist/kernel/index.js');
  const script = `
    const { IpcSystem, Kernel, MemorySwap } = await import(${JSON.stringify(kernelModule)});
    const rss = () => process.memoryUsage().rss;
    const start = rss();
    const ipc = new IpcSystem();
    const kernel = new Kernel({ ipc, cacheSize: 2 * 1024 ** 3, swap: new MemorySwap(4096), log: () => undefined });
    const made = rss();
    const w = kernel.vmAllocate(256 * ${MiB});
    const chunk = Buffer.alloc(${MiB}, 1);
    for (let offset = 0; offset < 256 * ${MiB}; offset += ${MiB}) {
      const r = await w.write(offset, chunk);
      if (r.error !== 0) throw new Error('write failed: ' + r.error);
    }
    const filled = rss();
    process.stdout.write(JSON.stringify({ made: made - start, filled: filled - made }));
    await kernel.shutdown();
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  const { made, filled } = JSON.parse(stdout) as { made: number; filled: number };
  // Descriptors, hash and policy arrays only: well under a tenth of the cache.
  expect(made).toBeLessThan(150 * MiB);
  // The pages written are resident now (the written chunk itself is reused).
  expect(filled).toBeGreaterThan(200 * MiB);
});
