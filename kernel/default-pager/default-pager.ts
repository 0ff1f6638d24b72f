/**
 * The default pager: the memory manager of internal (anonymous) objects,
 * which the kernel makes itself and hands over with memory_object_create.
 * Its data lives in its own swap store. It is part of the trusted base: the
 * kernel double-pages to it when an external pager does not take returned
 * pages in time, so it must not wait on anything but its swap.
 *
 * It handles one message at a time: that bounds the page data it holds
 * (one message's worth) and keeps every object's messages in order.
 */
import { KernError, MACH_SEND_INVALID_DEST } from '../ipc/kern-return.js';
import { MACH_PORT_NULL, type Message, type PortName } from '../ipc/message.js';
import type { IpcSpace, IpcSystem } from '../ipc/space.js';
import { isNotification } from '../ipc/notify.js';
import type {
  MemoryObjectCreate,
  MemoryObjectDataRequest,
  MemoryObjectDataReturn,
  MemoryObjectDataSupply,
  MemoryObjectDataUnavailable,
  MemoryObjectTerminate,
  MemoryObjectDataInitialize,
} from '../vm/memory-object-defs.js';
import { VM_PROT_NONE } from '../vm/prot.js';
import type { SwapStore } from './swap.js';

interface InternalObject {
  readonly object: PortName;
  readonly control: PortName;
  readonly name: PortName;
  /** page index → swap slot, for pages written at least once. */
  readonly slots: Map<number, number>;
}

export interface DefaultPagerStatistics {
  objects: number;
  slots_in_use: number;
  pages_read: number;
  pages_written: number;
  zero_fills: number;
}

export class DefaultPager {
  readonly space: IpcSpace;
  /** memory_object_create arrives here. */
  readonly port: PortName;
  private readonly set: PortName;
  private readonly objects = new Map<PortName, InternalObject>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private pagesRead = 0;
  private pagesWritten = 0;
  private zeroFills = 0;
  readonly loop: Promise<void>;

  constructor(
    ipc: IpcSystem,
    private readonly swap: SwapStore,
    private readonly pageSize: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.space = ipc.createSpace('default-pager');
    this.port = this.space.allocatePort();
    this.set = this.space.allocatePortSet();
    this.space.moveMember(this.port, this.set);
    this.loop = this.run();
  }

  statistics(): DefaultPagerStatistics {
    let slots = 0;
    for (const obj of this.objects.values()) slots += obj.slots.size;
    return {
      objects: this.objects.size,
      slots_in_use: slots,
      pages_read: this.pagesRead,
      pages_written: this.pagesWritten,
      zero_fills: this.zeroFills,
    };
  }

  /** Stop: finish the message in hand, then the pager's task dies (its ports with it). */
  async shutdown(): Promise<void> {
    if (this.space.hasName(this.set)) this.space.modRefs(this.set, 'port_set', -1);
    await this.loop;
    this.space.terminate();
    await this.swap.close();
  }

  private async run(): Promise<void> {
    for (;;) {
      let msg: Message;
      try {
        msg = await this.space.receive(this.set);
      } catch (err) {
        if (err instanceof KernError) return; // the set is gone: shutting down
        throw err;
      }
      try {
        await this.handle(msg);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private async handle(msg: Message): Promise<void> {
    if (isNotification(msg)) return;
    switch (msg.id) {
      case 'memory_object_create':
        return this.create(msg as MemoryObjectCreate);
      case 'memory_object_data_request':
        return this.dataRequest(msg as MemoryObjectDataRequest);
      case 'memory_object_data_return':
        return this.dataReturn(msg as MemoryObjectDataReturn);
      case 'memory_object_data_initialize':
        return this.dataInitialize(msg as MemoryObjectDataInitialize);
      case 'memory_object_terminate':
        return this.terminate(msg as MemoryObjectTerminate);
      default:
        // Nothing else is meant for a default pager (init goes to external pagers).
        return;
    }
  }

  private create(msg: MemoryObjectCreate): void {
    this.space.moveMember(msg.newObject, this.set);
    this.objects.set(msg.newObject, { object: msg.newObject, control: msg.control, name: msg.name, slots: new Map() });
  }

  private async dataRequest(msg: MemoryObjectDataRequest): Promise<void> {
    const obj = this.objects.get(msg.dest);
    if (!obj || obj.control !== msg.control) return;
    const first = msg.offset / this.pageSize;
    const count = msg.length / this.pageSize;
    // Answer in runs: pages never written are data_unavailable (zero fill), the rest come from swap.
    let i = 0;
    while (i < count) {
      const present = obj.slots.has(first + i);
      let j = i + 1;
      while (j < count && obj.slots.has(first + j) === present) j++;
      if (present) {
        const data = Buffer.allocUnsafe((j - i) * this.pageSize);
        for (let k = i; k < j; k++) {
          await this.swap.read(obj.slots.get(first + k) as number, data.subarray((k - i) * this.pageSize, (k - i + 1) * this.pageSize));
          this.pagesRead++;
        }
        this.sendToKernel<MemoryObjectDataSupply>({
          id: 'memory_object_data_supply',
          dest: obj.control,
          offset: (first + i) * this.pageSize,
          data,
          lockValue: VM_PROT_NONE,
          precious: false,
          replyTo: MACH_PORT_NULL,
        });
      } else {
        this.zeroFills += j - i;
        this.sendToKernel<MemoryObjectDataUnavailable>({
          id: 'memory_object_data_unavailable',
          dest: obj.control,
          offset: (first + i) * this.pageSize,
          size: (j - i) * this.pageSize,
        });
      }
      i = j;
    }
  }

  private async dataReturn(msg: MemoryObjectDataReturn): Promise<void> {
    const obj = this.objects.get(msg.dest);
    if (!obj || obj.control !== msg.control || !msg.dirty) return;
    await this.writePages(obj, msg.offset, msg.data);
  }

  private async dataInitialize(msg: MemoryObjectDataInitialize): Promise<void> {
    const obj = this.objects.get(msg.dest);
    if (!obj || obj.control !== msg.control) return;
    // Only the first write of a page counts; later ones are data_return.
    if (obj.slots.has(msg.offset / this.pageSize)) return;
    await this.writePages(obj, msg.offset, msg.data);
  }

  private async writePages(obj: InternalObject, offset: number, data: Buffer): Promise<void> {
    const first = offset / this.pageSize;
    for (let k = 0; k * this.pageSize < data.length; k++) {
      let slot = obj.slots.get(first + k);
      if (slot === undefined) {
        slot = this.freeSlots.pop() ?? this.nextSlot++;
        obj.slots.set(first + k, slot);
      }
      await this.swap.write(slot, data.subarray(k * this.pageSize, (k + 1) * this.pageSize));
      this.pagesWritten++;
    }
  }

  private async terminate(msg: MemoryObjectTerminate): Promise<void> {
    const obj = this.objects.get(msg.dest);
    if (!obj) return;
    this.objects.delete(msg.dest);
    for (const slot of obj.slots.values()) {
      await this.swap.discard(slot);
      this.freeSlots.push(slot);
    }
    // The object's ports die with it: control and name came back as receive rights.
    this.space.destroyName(msg.control);
    if (msg.name !== msg.control) this.space.destroyName(msg.name);
    this.space.destroyName(msg.dest);
  }

  private sendToKernel<M extends Message>(msg: M): void {
    try {
      this.space.send(msg);
    } catch (err) {
      // The kernel dropped the object meanwhile: its control port is dead, nothing is waiting.
      if (err instanceof KernError && err.code === MACH_SEND_INVALID_DEST) return;
      throw err;
    }
  }
}
