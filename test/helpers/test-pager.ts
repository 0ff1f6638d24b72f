/**
 * A scriptable external pager for kernel tests: it speaks the raw
 * memory-object protocol (no libpager), keeps page data in a Map, and
 * either answers requests itself or leaves them for the test to answer.
 */
import {
  IpcSpace,
  IpcSystem,
  MACH_PORT_NULL,
  MEMORY_OBJECT_COPY_DELAY,
  VM_PROT_NONE,
  isNotification,
  type CopyStrategy,
  type KernelToPagerMessage,
  type Message,
  type MemoryObjectDataRequest,
  type MemoryObjectDataReturn,
  type MemoryObjectDataUnlock,
  type PagerToKernelMessage,
  type PortName,
  type ReturnPolicy,
  type VmProt,
} from '../../kernel/index.js';

export interface TestPagerOptions {
  mayCache?: boolean;
  copyStrategy?: CopyStrategy;
  /** page_lock given to supplied pages. Default VM_PROT_NONE. */
  lockValue?: VmProt;
  precious?: boolean;
  /** Answer init, data_request and data_unlock by itself. Default true. */
  auto?: boolean;
  /** Pages never written: data_unavailable instead of zeros. Default false. */
  unavailableForHoles?: boolean;
  /**
   * Keep each data_return's memory until giveBack() (a pager that receives at
   * once but writes slowly). Default false: given back as soon as stored.
   */
  holdReturns?: boolean;
}

type Omitted<M> = M extends Message ? Omit<M, 'dest' | 'seqno'> : never;

export class TestPager {
  readonly space: IpcSpace;
  /** The memory object port (receive right here). */
  readonly port: PortName;
  readonly received: KernelToPagerMessage[] = [];
  readonly notifications: Message[] = [];
  /** Page data as the pager's "disk" holds it. */
  readonly pages = new Map<number, Buffer>();
  control: PortName = MACH_PORT_NULL;
  pageSize = 0;
  readonly options: Required<TestPagerOptions>;
  private readonly claimed = new Set<Message>();
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly loop: Promise<void>;

  constructor(ipc: IpcSystem, options: TestPagerOptions = {}) {
    this.options = {
      mayCache: false,
      copyStrategy: MEMORY_OBJECT_COPY_DELAY,
      lockValue: VM_PROT_NONE,
      precious: false,
      auto: true,
      unavailableForHoles: false,
      holdReturns: false,
      ...options,
    };
    this.space = ipc.createSpace('test-pager');
    this.port = this.space.allocatePort();
    this.loop = this.run();
  }

  /** Give `client` a send right to the memory object; returns its name there. */
  giveSendRight(client: IpcSpace): PortName {
    this.space.copyRightTo(this.port, 'make_send', client);
    return this.port;
  }

  /** Messages received so far, by name. */
  ids(): string[] {
    return this.received.map((m) => m.id);
  }

  /** The messages received so far with this name. */
  messages<Id extends KernelToPagerMessage['id']>(id: Id): Extract<KernelToPagerMessage, { id: Id }>[] {
    return this.received.filter((m): m is Extract<KernelToPagerMessage, { id: Id }> => m.id === id);
  }

  count(id: string): number {
    return this.received.filter((m) => m.id === id).length;
  }

  /** The next (or an already received, not yet claimed) message matching. */
  waitFor<M extends Message>(id: M['id'], match: (m: M) => boolean = () => true): Promise<M> {
    const matches = (m: Message): boolean => m.id === id && match(m as M);
    const seen = [...this.received, ...this.notifications].find((m) => !this.claimed.has(m) && matches(m));
    if (seen) {
      this.claimed.add(seen);
      return Promise.resolve(seen as M);
    }
    return new Promise((resolve) => {
      this.waiters.push({ match: matches, resolve: (m) => resolve(m as M) });
    });
  }

  send(msg: Omitted<PagerToKernelMessage>, control = this.control): void {
    this.space.send({ ...msg, dest: control });
  }

  supply(offset: number, data: Buffer, lockValue = this.options.lockValue, precious = this.options.precious, replyTo = MACH_PORT_NULL): void {
    this.send({ id: 'memory_object_data_supply', offset, data, lockValue, precious, replyTo });
  }

  lockRequest(offset: number, size: number, shouldReturn: ReturnPolicy, shouldFlush: boolean, lockValue: VmProt, replyTo: PortName = MACH_PORT_NULL): void {
    this.send({ id: 'memory_object_lock_request', offset, size, shouldReturn, shouldFlush, lockValue, replyTo });
  }

  /** The stored data of page `index` (zeros if never written). */
  page(index: number): Buffer {
    return this.pages.get(index) ?? Buffer.alloc(this.pageSize);
  }

  /** Answer a data_request from the stored pages. */
  answer(req: MemoryObjectDataRequest): void {
    const pageSize = this.pageSize;
    const first = req.offset / pageSize;
    const count = req.length / pageSize;
    if (this.options.unavailableForHoles && [...Array(count).keys()].every((i) => !this.pages.has(first + i))) {
      this.send({ id: 'memory_object_data_unavailable', offset: req.offset, size: req.length });
      return;
    }
    const data = Buffer.alloc(req.length);
    for (let i = 0; i < count; i++) this.page(first + i).copy(data, i * pageSize);
    this.supply(req.offset, data);
  }

  /** Grant an unlock (lock_request lowering the lock to NONE). */
  grant(req: MemoryObjectDataUnlock): void {
    this.lockRequest(req.offset, req.length, 0, false, VM_PROT_NONE);
  }

  /** Returned memory kept by holdReturns, not yet given back. */
  readonly heldReturns: Buffer[] = [];

  /** vm_deallocate every returned buffer kept so far ("written"); returns how many. */
  giveBack(): number {
    const buffers = this.heldReturns.splice(0);
    for (const data of buffers) this.space.system.memory.deallocate(data);
    return buffers.length;
  }

  /** Stop serving: the memory object port dies. */
  die(): void {
    this.space.terminate();
  }

  private paused: Promise<void> | undefined;
  private unpause: (() => void) | undefined;

  /** Stop taking messages (a wedged pager); they queue up on the port. */
  pause(): void {
    this.paused ??= new Promise((resolve) => {
      this.unpause = resolve;
    });
  }

  resume(): void {
    this.unpause?.();
    this.paused = undefined;
    this.unpause = undefined;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.paused) await this.paused;
      let msg: Message;
      try {
        msg = await this.space.receive(this.port);
      } catch {
        return;
      }
      this.handle(msg);
    }
  }

  private handle(msg: Message): void {
    if (isNotification(msg)) {
      this.notifications.push(msg);
      this.wake(msg);
      return;
    }
    const m = msg as KernelToPagerMessage;
    this.received.push(m);
    switch (m.id) {
      case 'memory_object_init':
        this.control = m.control;
        this.pageSize = m.pageSize;
        if (this.options.auto) this.send({ id: 'memory_object_ready', mayCache: this.options.mayCache, copyStrategy: this.options.copyStrategy });
        break;
      case 'memory_object_data_request':
        if (this.options.auto) this.answer(m);
        break;
      case 'memory_object_data_unlock':
        if (this.options.auto) this.grant(m);
        break;
      case 'memory_object_data_return':
        this.store(m);
        break;
      case 'memory_object_terminate':
        this.space.destroyName(m.control);
        this.space.destroyName(m.name);
        if (this.control === m.control) this.control = MACH_PORT_NULL;
        break;
      default:
        break;
    }
    this.wake(m);
  }

  private store(m: MemoryObjectDataReturn): void {
    if (m.dirty) {
      const first = m.offset / this.pageSize;
      for (let i = 0; i * this.pageSize < m.data.length; i++) {
        this.pages.set(first + i, Buffer.from(m.data.subarray(i * this.pageSize, (i + 1) * this.pageSize)));
      }
    }
    // vm_deallocate: the pages are stored, the kernel's laundry drains.
    if (this.options.holdReturns) this.heldReturns.push(m.data);
    else this.space.system.memory.deallocate(m.data);
  }

  private wake(msg: Message): void {
    const i = this.waiters.findIndex((w) => w.match(msg));
    if (i < 0) return;
    const [w] = this.waiters.splice(i, 1);
    this.claimed.add(msg);
    w?.resolve(msg);
  }
}

/** Let every pending microtask and immediate run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
