/**
 * The pager wiring that benchmarks and tests share: a kernel, a pager task
 * (PagerRequests) serving pagers, and a client task that vm_maps their
 * objects, as the filesystem's FileObject does. Written once here; tests
 * import it too (bench/ cannot import test/).
 */
import { IpcSystem, Kernel, MemorySwap, type IpcSpace, type KernelOptions, type VmWindow } from '../kernel/index.js';
import { PagerRequests, type Pager, type PagerCallbacks, type PagerOptions, type PagerRequestsOptions } from '../daemon/pager/index.js';

export interface PagerRigOptions {
  /** The kernel's page cache, in bytes. */
  cacheSize: number;
  /** The kernel's page size (and its swap's). Default 4096. */
  pageSize?: number;
  /** Where the kernel's and the pager task's lines go. Default: nowhere. */
  log?: (line: string) => void;
  /** More kernel options (they win over the above). */
  kernel?: Partial<KernelOptions>;
  /** More pager-task options (they win over `log`). */
  requests?: PagerRequestsOptions;
}

export class PagerRig {
  readonly ipc = new IpcSystem();
  readonly kernel: Kernel;
  /** The pager task, started. */
  readonly requests: PagerRequests;
  /** The task that maps the pagers' objects. */
  readonly client: IpcSpace;

  constructor(options: PagerRigOptions) {
    const pageSize = options.pageSize ?? 4096;
    const log = options.log ?? (() => undefined);
    this.kernel = new Kernel({ ipc: this.ipc, cacheSize: options.cacheSize, pageSize, swap: new MemorySwap(pageSize), log, ...options.kernel });
    this.requests = new PagerRequests(this.ipc, { log, ...options.requests });
    this.requests.start();
    this.client = this.ipc.createSpace('client');
  }

  /** pager_create: a pager served by this rig's pager task. */
  createPager(callbacks: PagerCallbacks, options?: PagerOptions): Pager {
    return this.requests.createPager(callbacks, options);
  }

  /** vm_map of `size` bytes of the pager's object into the client task. */
  async map(pager: Pager, size: number): Promise<VmWindow> {
    const name = pager.makeSendRight(this.client);
    try {
      return await this.kernel.vmMap(this.client, name, 0, size);
    } finally {
      this.client.deallocate(name);
    }
  }

  /** The kernel, then the pager task. */
  async shutdown(): Promise<void> {
    await this.kernel.shutdown();
    await this.requests.shutdown();
  }
}

/** One pager over `callbacks`, mapped: what a benchmark or a test of one object needs. */
export interface ServedPager {
  rig: PagerRig;
  kernel: Kernel;
  requests: PagerRequests;
  pager: Pager;
  window: VmWindow;
  /** Unmap, release the pager, shut the rig down. */
  close: () => Promise<void>;
}

/** Serve `callbacks` with a cacheable pager (may_cache) and map its first `size` bytes. */
export async function servePager(callbacks: PagerCallbacks, size: number, options: PagerRigOptions & { pager?: PagerOptions }): Promise<ServedPager> {
  const rig = new PagerRig(options);
  const pager = rig.createPager(callbacks, options.pager ?? { mayCache: true });
  const window = await rig.map(pager, size);
  return {
    rig,
    kernel: rig.kernel,
    requests: rig.requests,
    pager,
    window,
    close: async () => {
      window.deallocate();
      pager.release();
      await rig.shutdown();
    },
  };
}
