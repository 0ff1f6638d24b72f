/**
 * An in-memory external pager for benchmarks: it speaks the raw
 * memory-object protocol, answers data_request from a Map (zeros for pages
 * never written), keeps what data_return brings, and grants every unlock.
 * It does as little as a pager can, so that figures measure the kernel.
 */
import {
  MACH_PORT_NULL,
  MEMORY_OBJECT_COPY_DELAY,
  MEMORY_OBJECT_RETURN_NONE,
  VM_PROT_NONE,
  isKernelToPager,
  serve,
  type IpcSpace,
  type IpcSystem,
  type MemoryObjectDataRequest,
  type MemoryObjectDataReturn,
  type MemoryObjectDataSupply,
  type MemoryObjectDataUnlock,
  type MemoryObjectLockRequest,
  type MemoryObjectReady,
  type Message,
  type PortName,
} from '../kernel/index.js';

export interface MemoryPagerOptions {
  /**
   * Keep the pages data_return brings (default). False: count them and
   * drop the data, a pager writing to /dev/null, so that the process's
   * memory shows the kernel's own use.
   */
  keepReturned?: boolean;
  /** Called as each message is received, before it is handled (a place to sample the kernel mid-burst). */
  onReceive?: (msg: Message) => void;
}

export class MemoryPager {
  readonly space: IpcSpace;
  /** The memory object port (receive right here). */
  readonly port: PortName;
  /** Stored page data by page index. */
  readonly pages = new Map<number, Buffer>();
  /** Pages received in data_returns. */
  returnedPages = 0;
  readonly loop: Promise<void>;
  /** Resolves when memory_object_terminate has been handled (the kernel let go of the object). */
  readonly terminated: Promise<void>;
  private resolveTerminated: () => void = () => undefined;
  private readonly keepReturned: boolean;
  private readonly onReceive: ((msg: Message) => void) | undefined;
  private control: PortName = MACH_PORT_NULL;
  private pageSize = 0;

  constructor(ipc: IpcSystem, options: MemoryPagerOptions = {}) {
    this.keepReturned = options.keepReturned ?? true;
    this.onReceive = options.onReceive;
    this.space = ipc.createSpace('bench-pager');
    this.port = this.space.allocatePort();
    this.terminated = new Promise((resolve) => (this.resolveTerminated = resolve));
    this.loop = serve(this.space, this.port, (msg) => this.handle(msg));
  }

  /** Give `client` a send right to the memory object; returns its name there. */
  giveSendRight(client: IpcSpace): PortName {
    this.space.copyRightTo(this.port, 'make_send', client);
    return this.port;
  }

  /** Stop serving: the task goes, and with it the memory object port. */
  stop(): Promise<void> {
    this.space.terminate();
    return this.loop;
  }

  private handle(msg: Message): void {
    this.onReceive?.(msg);
    if (!isKernelToPager(msg)) return;
    switch (msg.id) {
      case 'memory_object_init':
        this.control = msg.control;
        this.pageSize = msg.pageSize;
        this.space.send({
          id: 'memory_object_ready',
          dest: this.control,
          mayCache: false,
          copyStrategy: MEMORY_OBJECT_COPY_DELAY,
        } satisfies MemoryObjectReady);
        break;
      case 'memory_object_data_request':
        this.dataRequest(msg);
        break;
      case 'memory_object_data_unlock':
        this.dataUnlock(msg);
        break;
      case 'memory_object_data_return':
        this.dataReturn(msg);
        break;
      case 'memory_object_terminate':
        this.space.destroyName(msg.control);
        this.space.destroyName(msg.name);
        if (msg.control === this.control) this.control = MACH_PORT_NULL;
        this.resolveTerminated();
        break;
      default:
        break;
    }
  }

  private dataRequest(msg: MemoryObjectDataRequest): void {
    const pageSize = this.pageSize;
    const first = msg.offset / pageSize;
    const data = Buffer.alloc(msg.length);
    if (this.pages.size > 0) {
      for (let i = 0; i * pageSize < msg.length; i++) this.pages.get(first + i)?.copy(data, i * pageSize);
    }
    this.space.send({
      id: 'memory_object_data_supply',
      dest: msg.control,
      offset: msg.offset,
      data,
      lockValue: VM_PROT_NONE,
      precious: false,
      replyTo: MACH_PORT_NULL,
    } satisfies MemoryObjectDataSupply);
  }

  private dataUnlock(msg: MemoryObjectDataUnlock): void {
    this.space.send({
      id: 'memory_object_lock_request',
      dest: msg.control,
      offset: msg.offset,
      size: msg.length,
      shouldReturn: MEMORY_OBJECT_RETURN_NONE,
      shouldFlush: false,
      lockValue: VM_PROT_NONE,
      replyTo: MACH_PORT_NULL,
    } satisfies MemoryObjectLockRequest);
  }

  private dataReturn(msg: MemoryObjectDataReturn): void {
    const pageSize = this.pageSize;
    const count = msg.data.length / pageSize;
    this.returnedPages += count;
    if (this.keepReturned && msg.dirty) {
      const first = msg.offset / pageSize;
      // A copy: the kernel counts the pages as laundry until the buffer is given back.
      for (let i = 0; i < count; i++) this.pages.set(first + i, Buffer.from(msg.data.subarray(i * pageSize, (i + 1) * pageSize)));
    }
    this.space.system.memory.deallocate(msg.data);
  }
}
