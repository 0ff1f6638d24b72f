/** A kernel, a test pager and a client task, wired together for a test. */
import { IpcSystem, Kernel, MEMORY_OBJECT_COPY_DELAY, MemorySwap, type IpcSpace, type KernelOptions, type VmWindow } from '../../kernel/index.js';
import { TestPager, type TestPagerOptions } from './test-pager.js';

export const PAGE = 4096;

export interface Setup {
  ipc: IpcSystem;
  kernel: Kernel;
  pager: TestPager;
  client: IpcSpace;
  swap: MemorySwap;
  /** vm_map [0, size) of the pager's object into the client. */
  map(size?: number): Promise<VmWindow>;
  /**
   * vm_map of `pager`'s object (one that answers nothing by itself), its
   * init answered with ready: faults then wait for what the test answers.
   */
  mapReady(pager?: TestPager): Promise<VmWindow>;
  /** Protocol errors the kernel logged. */
  logged: string[];
  close(): Promise<void>;
}

export function setup(kernelOptions: Partial<KernelOptions> = {}, pagerOptions: TestPagerOptions = {}): Setup {
  const ipc = new IpcSystem();
  const swap = new MemorySwap(kernelOptions.pageSize ?? PAGE);
  const logged: string[] = [];
  const kernel = new Kernel({
    ipc,
    cacheSize: 64 * PAGE,
    swap,
    log: (line) => logged.push(line),
    ...kernelOptions,
  });
  const pager = new TestPager(ipc, pagerOptions);
  const client = ipc.createSpace('client');
  const made: Setup = {
    ipc,
    kernel,
    pager,
    client,
    swap,
    logged,
    map: (size = 1 << 30) => kernel.vmMap(client, pager.giveSendRight(client), 0, size),
    async mapReady(by = pager) {
      const w = await kernel.vmMap(client, by.giveSendRight(client), 0, 1 << 30);
      await by.waitFor('memory_object_init');
      by.send({ id: 'memory_object_ready', mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
      return w;
    },
    close: () => {
      open.delete(made);
      return kernel.shutdown();
    },
  };
  open.add(made);
  return made;
}

/** Setups not closed yet. */
const open = new Set<Setup>();

/** Close every setup a test made (use as `afterEach(closeSetups)`), also when the test failed before keeping it. */
export async function closeSetups(): Promise<void> {
  for (const made of [...open]) await made.close();
}

/** A buffer of `pages` pages whose every 4-byte word says which page and word it is. */
export function pattern(pages: number, seed = 0, pageSize = PAGE): Buffer {
  const buf = Buffer.alloc(pages * pageSize);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE((seed * 7919 + i) >>> 0, i);
  return buf;
}

/**
 * Every frame is free, resident in an object, laundry, or still owed to a
 * shrink: no page data anywhere else.
 */
export function framesAccountedFor(kernel: Kernel): boolean {
  const st = kernel.statistics();
  let resident = 0;
  for (const object of kernel.objects.values()) resident += object.residentCount;
  return st.free_count + resident + st.laundry_count === st.frames + st.frames_retiring;
}

/** Page indexes 0..n-1 in a scrambled order (no two in sequence, so no read-ahead). */
export function scrambled(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 37) % n);
}
