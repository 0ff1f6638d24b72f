/**
 * The "Mickey Mouse" external pager: the smallest complete pager we can
 * show, after Francis Vaughan's 1991 example for Mach 2.5 (seeds/000). It
 * serves one memory object whose pages it makes up, and one client maps a
 * page of it, reads the value the pager planted, writes a word and lets go.
 *
 * Three tasks share one IPC system, as threads of one Mach task did in the
 * original, but each has its own IpcSpace, so everything between them is a
 * message or a port right:
 * - the pager holds the memory object port and a terminate port in one port
 *   set, and dispatches what arrives by message id to one handler each;
 * - the client gets a send right to the memory object and vm_maps it;
 * - main starts both, waits for the client, and stops the pager with a
 *   message on the terminate port.
 *
 * Run: npm run example:mickey
 */
import { pathToFileURL } from 'node:url';
import { withTimeout } from '../daemon/timeout.js';
import {
  IpcSystem,
  Kernel,
  KernError,
  KERN_NO_SPACE,
  MACH_PORT_NULL,
  MEMORY_OBJECT_COPY_NONE,
  MEMORY_OBJECT_RETURN_NONE,
  MemorySwap,
  VM_PROT_ALL,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  defineMessages,
  inheritString,
  isKernelToPager,
  isNotification,
  protString,
  type IpcSpace,
  type KernelToPagerMessage,
  type MemoryObjectDataRequest,
  type MemoryObjectDataReturn,
  type MemoryObjectDataSupply,
  type MemoryObjectDataUnlock,
  type MemoryObjectInit,
  type MemoryObjectLockCompleted,
  type MemoryObjectLockRequest,
  type MemoryObjectReady,
  type MemoryObjectTerminate,
  type Message,
  type PortName,
  type VmProt,
  type VmRegionInfo,
} from '../kernel/index.js';

const PAGE_SIZE = 4096;
/** Bytes per word: the client's view of the page is an array of 32-bit unsigned words. */
const WORD = 4;
/** The value the pager plants in every new page, and where. */
export const MICKEY_VALUE = 2323;
export const MICKEY_VALUE_WORD = 2;
/** The value the client writes, and where. */
export const CLIENT_VALUE = 23;
export const CLIENT_VALUE_WORD = 1;
/** Longest wait for any one step: a protocol bug should fail, not hang. */
const STEP_TIMEOUT_MS = 5000;

/** Main's "kill the server" message. It carries nothing: its arrival on the terminate port is the news. */
interface MickeyTerminate extends Message {
  readonly id: 'mickey_terminate';
}
defineMessages({ mickey_terminate: { ports: {} } });

export interface MickeyResult {
  /** Every trace line, in the order printed. */
  trace: string[];
  /** The memory_object_* messages the pager received and sent, in order. */
  messages: string[];
  /** What the client read from word 2 of its page. */
  value: number;
  /** Word 1 of page 0 as the pager stored it after the object was terminated (undefined: never returned). */
  written: number | undefined;
  /** The region description the client printed. */
  region: string[];
}

type Trace = (line: string) => void;

const hex = (n: number): string => `0x${n.toString(16)}`;

// ---------------------------------------------------------------- the pager task

/**
 * The external pager. The seed's External_Pager_Proc plus its
 * memory_object_* routines; the switch in dispatch() is what the
 * MIG-generated memory_object_server() did there.
 */
class MickeyPager {
  readonly space: IpcSpace;
  /** The memory object port (the seed's Server_Port): clients vm_map it. */
  readonly objectPort: PortName;
  /** Any message here stops the pager. */
  readonly terminatePort: PortName;
  /** Both ports: one receive serves whichever has a message first. */
  readonly portSet: PortName;
  /** Page data as the pager keeps it (its "disk"), by page index. */
  readonly store = new Map<number, Buffer>();
  /** Protocol message ids, received and sent, in order. */
  readonly messages: string[] = [];
  readonly loop: Promise<void>;
  /** Resolves when memory_object_terminate has been handled: the kernel is done with the object. */
  readonly objectTerminated: Promise<void>;
  private resolveTerminated: () => void = () => undefined;
  private control: PortName = MACH_PORT_NULL;
  private name: PortName = MACH_PORT_NULL;
  private pageSize = 0;

  constructor(
    ipc: IpcSystem,
    private readonly trace: Trace,
  ) {
    this.space = ipc.createSpace('mickey-pager');
    this.objectPort = this.space.allocatePort();
    this.terminatePort = this.space.allocatePort();
    this.portSet = this.space.allocatePortSet();
    this.space.moveMember(this.objectPort, this.portSet);
    this.space.moveMember(this.terminatePort, this.portSet);
    this.objectTerminated = new Promise((resolve) => (this.resolveTerminated = resolve));
    this.trace(
      `Pager: memory object port ${hex(this.objectPort)}, terminate port ${hex(this.terminatePort)}, ` +
        `port set ${hex(this.portSet)}`,
    );
    this.loop = this.run();
  }

  /**
   * Give `to` a send right to the memory object; returns its name there.
   * The stand-in for netname_check_in / netname_look_up: there is no name
   * server here, so the right goes directly.
   */
  checkIn(to: IpcSpace): PortName {
    this.space.copyRightTo(this.objectPort, 'make_send', to);
    return this.objectPort;
  }

  /** Give `to` a send right to the terminate port. */
  giveTerminateRight(to: IpcSpace): PortName {
    this.space.copyRightTo(this.terminatePort, 'make_send', to);
    return this.terminatePort;
  }

  /** The receive loop: one message at a time, until one arrives on the terminate port. */
  private async run(): Promise<void> {
    this.trace('Pager: running, waiting for messages');
    for (;;) {
      let msg: Message;
      try {
        msg = await this.space.receive(this.portSet);
      } catch (err) {
        this.trace(`Pager: receive failed (${String(err)}), exiting`);
        break;
      }
      if (msg.dest === this.terminatePort) {
        this.trace(`Pager: ← ${msg.id} on the terminate port: exiting`);
        break;
      }
      if (isNotification(msg)) {
        // The seed skipped task_notify() messages the same way.
        this.trace(`Pager: ← ${msg.id} (ignored)`);
        continue;
      }
      if (!isKernelToPager(msg)) {
        this.trace(`Pager: ← ${msg.id}: not a memory object message (ignored)`);
        continue;
      }
      this.messages.push(msg.id);
      this.dispatch(msg);
    }
    this.cleanUp();
  }

  private dispatch(msg: KernelToPagerMessage): void {
    switch (msg.id) {
      case 'memory_object_init':
        return this.init(msg);
      case 'memory_object_data_request':
        return this.dataRequest(msg);
      case 'memory_object_data_unlock':
        return this.dataUnlock(msg);
      case 'memory_object_data_return':
        return this.dataReturn(msg);
      case 'memory_object_lock_completed':
        return this.lockCompleted(msg);
      case 'memory_object_terminate':
        return this.terminate(msg);
      default:
        // copy, supply_completed, ...: this pager never asks for them.
        this.trace(`Pager: ← ${msg.id} (not handled)`);
    }
  }

  /** Send to the kernel on the control port, and trace it. */
  private send(msg: MemoryObjectReady | MemoryObjectDataSupply | MemoryObjectLockRequest, detail: string): void {
    this.space.send(msg);
    this.messages.push(msg.id);
    this.trace(`Pager: → ${msg.id} (${detail})`);
  }

  /** A message about some other object (or an old incarnation of ours) is a bug. */
  private ours(msg: KernelToPagerMessage & { readonly control: PortName }): boolean {
    if (msg.control === this.control) return true;
    this.trace(`Pager: ${msg.id} for control port ${hex(msg.control)}, not ours (${hex(this.control)}): ignored`);
    return false;
  }

  /** First map of the object: keep the control and name ports, then say we are ready. */
  private init(msg: MemoryObjectInit): void {
    this.trace(
      `Pager: ← ${msg.id} (object ${hex(msg.dest)}, control ${hex(msg.control)}, name ${hex(msg.name)}, ` +
        `page size ${hex(msg.pageSize)})`,
    );
    this.control = msg.control;
    this.name = msg.name;
    this.pageSize = msg.pageSize;
    // Until ready arrives, the client's fault waits in the kernel. may_cache is
    // false so that the client's deallocate terminates the object at once,
    // which brings the written page back to us (the seed kept it cached).
    this.send(
      { id: 'memory_object_ready', dest: this.control, mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_NONE },
      'may_cache false, copy strategy none',
    );
  }

  /** A fault needs pages: make them up (or give back what was stored), write-locked. */
  private dataRequest(msg: MemoryObjectDataRequest): void {
    this.trace(
      `Pager: ← ${msg.id} (control ${hex(msg.control)}, offset ${hex(msg.offset)}, ` +
        `length ${hex(msg.length)}, access ${protString(msg.desiredAccess)})`,
    );
    if (!this.ours(msg)) return;
    const first = msg.offset / this.pageSize;
    const data = Buffer.alloc(msg.length);
    for (let i = 0; i * this.pageSize < msg.length; i++) {
      const stored = this.store.get(first + i);
      if (stored) stored.copy(data, i * this.pageSize);
      else data.writeUInt32LE(MICKEY_VALUE, i * this.pageSize + MICKEY_VALUE_WORD * WORD);
    }
    // Locked against writing: reads go ahead, and the first write comes
    // back to us as data_unlock, so we see the client's intent to write.
    this.send(
      {
        id: 'memory_object_data_supply',
        dest: this.control,
        offset: msg.offset,
        data,
        lockValue: VM_PROT_WRITE,
        precious: false,
        replyTo: MACH_PORT_NULL,
      },
      `offset ${hex(msg.offset)}, ${data.length / this.pageSize} page(s), word ${MICKEY_VALUE_WORD} = ${MICKEY_VALUE}, lock ${protString(VM_PROT_WRITE)}`,
    );
  }

  /** A fault wants access the lock denies: lower the lock to what is still denied. */
  private dataUnlock(msg: MemoryObjectDataUnlock): void {
    this.trace(
      `Pager: ← ${msg.id} (offset ${hex(msg.offset)}, length ${hex(msg.length)}, access ${protString(msg.desiredAccess)})`,
    );
    if (!this.ours(msg)) return;
    const lockValue = lockFor(msg.desiredAccess);
    // The memory object port as reply port: lock_completed comes back
    // through the same receive loop, once the kernel has changed the lock.
    this.send(
      {
        id: 'memory_object_lock_request',
        dest: this.control,
        offset: msg.offset,
        size: msg.length,
        shouldReturn: MEMORY_OBJECT_RETURN_NONE,
        shouldFlush: false,
        lockValue,
        replyTo: this.objectPort,
      },
      `offset ${hex(msg.offset)}, length ${hex(msg.length)}, lock ${protString(lockValue)}, reply to ${hex(this.objectPort)}`,
    );
  }

  /** Pages given back: keep the dirty ones (nothing else is in them). */
  private dataReturn(msg: MemoryObjectDataReturn): void {
    this.trace(
      `Pager: ← ${msg.id} (offset ${hex(msg.offset)}, length ${hex(msg.data.length)}, ` +
        `dirty ${msg.dirty}, kernel copy ${msg.kernelCopy})`,
    );
    if (this.ours(msg) && msg.dirty) {
      const first = msg.offset / this.pageSize;
      for (let i = 0; i * this.pageSize < msg.data.length; i++) {
        // A copy: the message's buffer is ours, but a page per entry keeps the store simple.
        this.store.set(first + i, Buffer.from(msg.data.subarray(i * this.pageSize, (i + 1) * this.pageSize)));
        const word = msg.data.readUInt32LE(i * this.pageSize + CLIENT_VALUE_WORD * WORD);
        this.trace(`Pager: stored page ${first + i} (word ${CLIENT_VALUE_WORD} = ${word})`);
      }
    }
    // vm_deallocate: the kernel counts returned pages as laundry until their memory is given back.
    this.space.system.memory.deallocate(msg.data);
  }

  /** Our lock_request is done: the client's write has gone ahead. */
  private lockCompleted(msg: MemoryObjectLockCompleted): void {
    this.trace(`Pager: ← ${msg.id} (offset ${hex(msg.offset)}, length ${hex(msg.length)})`);
  }

  /** The kernel is done with the object: it hands back the control and name ports, and we destroy them. */
  private terminate(msg: MemoryObjectTerminate): void {
    this.trace(`Pager: ← ${msg.id} (control ${hex(msg.control)}, name ${hex(msg.name)})`);
    this.space.destroyName(msg.control);
    this.space.destroyName(msg.name);
    if (msg.control === this.control) {
      this.control = MACH_PORT_NULL;
      this.name = MACH_PORT_NULL;
    }
    this.trace('Pager: control and name ports destroyed');
    this.resolveTerminated();
  }

  /** The pager exits: its ports go, as they would with the task. */
  private cleanUp(): void {
    // Still serving an object (main killed us early): let go of its ports too.
    for (const port of [this.control, this.name]) if (port !== MACH_PORT_NULL && this.space.hasName(port)) this.space.destroyName(port);
    this.space.destroyName(this.portSet);
    this.space.destroyName(this.objectPort);
    this.space.destroyName(this.terminatePort);
    this.space.terminate();
    this.trace('Pager: ports destroyed, pager gone');
  }
}

/** The lock to leave after an unlock for `desired`: a read-only ask keeps writes locked; a write ask opens the page. */
function lockFor(desired: VmProt): VmProt {
  return (desired & VM_PROT_WRITE) !== 0 ? VM_PROT_NONE : VM_PROT_WRITE;
}

// ---------------------------------------------------------------- the client task

/**
 * The seed's region_scan: walk the client task's address map with
 * vm_region, from address 0 up, region after region (KERN_NO_SPACE ends it),
 * printing the holes between them and, per region, its start, size,
 * protection and maximum protection, inheritance, whether it is shared, its
 * object and offset, and (from the kernel's per-object figures) what of it is
 * resident and dirty.
 */
function regionScan(kernel: Kernel, task: IpcSpace, trace: Trace): string[] {
  const lines: string[] = [];
  let last = 0;
  for (let address = 0; ; ) {
    let r: VmRegionInfo;
    try {
      r = kernel.vmRegion(task, address);
    } catch (err) {
      if (err instanceof KernError && err.code === KERN_NO_SPACE) break;
      throw err;
    }
    if (r.address !== last) lines.push(`unallocated: start ${hex(last)}, size ${hex(r.address - last)}`);
    const object = kernel.objectStatistics().find((o) => o.object === r.objectName);
    lines.push(
      `Region: start ${hex(r.address)}, size ${hex(r.size)}, ${protString(r.protection)} ${protString(r.maxProtection)} ${inheritString(r.inheritance)}` +
        `${r.shared ? ' shared' : ''}, object ${hex(r.objectName)}, offset ${hex(r.offset)}, resident ${object?.resident_count ?? 0}, dirty ${object?.dirty_count ?? 0}`,
    );
    address = last = r.address + r.size;
  }
  for (const line of lines) trace(line);
  return lines;
}

async function runClient(kernel: Kernel, space: IpcSpace, memoryObject: PortName, trace: Trace): Promise<{ value: number; region: string[] }> {
  trace('Client: running');
  trace(`Client: Server Port = ${hex(memoryObject)}`);
  // One page at offset 0 of the object, every access allowed: the pager's locks decide the rest.
  const window = await kernel.vmMap(space, memoryObject, 0, kernel.pageSize, VM_PROT_ALL);
  trace(`Client: mapped page: object ${hex(window.object.id)}, port ${hex(memoryObject)}`);

  trace('Client: touch page with read');
  const word = Buffer.alloc(WORD);
  const read = await window.memcpy(MICKEY_VALUE_WORD * WORD, word, VM_PROT_READ);
  if (read.error !== 0) throw new Error(`client read failed with errno ${read.error}`);
  const value = word.readUInt32LE(0);
  trace(`Client: page contains ${value}`);

  trace('Client: write page');
  word.writeUInt32LE(CLIENT_VALUE, 0);
  const written = await window.memcpy(CLIENT_VALUE_WORD * WORD, word, VM_PROT_WRITE);
  if (written.error !== 0) throw new Error(`client write failed with errno ${written.error}`);
  trace(`Client: wrote ${CLIENT_VALUE} into word ${CLIENT_VALUE_WORD}`);

  const region = regionScan(kernel, space, trace);

  // vm_deallocate: the last reference to the object goes, so the kernel
  // returns the dirty page and terminates the object.
  window.deallocate();
  space.deallocate(memoryObject);
  trace('Client: page deallocated, exiting');
  return { value, region };
}

// ---------------------------------------------------------------- main

/** No step of the example may hang it: each waits at most STEP_TIMEOUT_MS. */
function step<T>(promise: Promise<T>, what: string): Promise<T> {
  return withTimeout(promise, STEP_TIMEOUT_MS, () => new Error(`mickey: timed out waiting for ${what}`));
}

/** Run the example; every trace line goes to `print` and is returned. */
export async function runMickey(print: (line: string) => void): Promise<MickeyResult> {
  const lines: string[] = [];
  const trace: Trace = (line) => {
    lines.push(line);
    print(line);
  };

  const ipc = new IpcSystem();
  // A small pool is plenty for one page; swap in memory leaves nothing on disk.
  const kernel = new Kernel({
    ipc,
    cacheSize: 16 * PAGE_SIZE,
    pageSize: PAGE_SIZE,
    swap: new MemorySwap(PAGE_SIZE),
    log: (line) => trace(`Kernel: ${line}`),
  });
  const main = ipc.createSpace('main');
  const client = ipc.createSpace('client');

  trace('Main: starting the pager');
  const pager = new MickeyPager(ipc, trace);
  const killPort = pager.giveTerminateRight(main);
  try {
    const memoryObject = pager.checkIn(client);
    trace('Main: starting the client');
    const { value, region } = await step(runClient(kernel, client, memoryObject, trace), 'the client');

    // Let the kernel finish with the object before stopping its pager:
    // the dirty page is on its way back in a data_return, ahead of terminate.
    await step(pager.objectTerminated, 'memory_object_terminate');
    trace('Main: killing server');
    main.send({ id: 'mickey_terminate', dest: killPort } satisfies MickeyTerminate);
    await step(pager.loop, 'the pager to exit');

    const stats = kernel.statistics();
    trace(`Main: kernel sent ${formatCounts(stats.messages_sent)}`);
    trace(`Main: kernel received ${formatCounts(stats.messages_received)}`);
    const written = pager.store.get(0)?.readUInt32LE(CLIENT_VALUE_WORD * WORD);
    return { trace: lines, messages: [...pager.messages], value, written, region };
  } finally {
    await kernel.shutdown();
    client.terminate();
    main.terminate();
  }
}

function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([id, n]) => `${id.replace(/^memory_object_/, '')} ${n}`)
    .join(', ');
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  runMickey((line) => console.log(line)).then(
    (result) => {
      if (result.value !== MICKEY_VALUE || result.written !== CLIENT_VALUE) process.exitCode = 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
