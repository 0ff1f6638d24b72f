/**
 * The memory-object protocol, both directions: one definition per message,
 * as GNU Mach's include/mach/memory_object.defs (kernel → pager),
 * memory_object_default.defs (kernel → default pager) and mach.defs
 * (pager → kernel) declare them. Every message is one-way (a MIG
 * simpleroutine); "replies" are separate messages. Offsets and lengths are
 * bytes, page aligned; Buffers hold whole pages.
 *
 * Rights: memory_object_init gives the pager send rights to the control and
 * name ports; later kernel → pager messages name the control port as plain
 * data (the pager already holds the right) so that the pager can check which
 * kernel, and which incarnation of the object, the message is about.
 *
 * Each message is written once, in the table of its direction: its id, its
 * fields (the type argument) and how its port fields carry rights. The
 * message types, the unions and the direction checks are derived from the
 * tables.
 */
import { defineMessages, type Disposition, type Message, type PortName } from '../ipc/message.js';
import type { CopyStrategy, ReturnPolicy, VmProt } from './prot.js';

/** One message of a table: its port fields with their dispositions; `Fields` types the rest (never set). */
interface Definition<Fields> {
  readonly ports: { readonly [F in keyof Fields]?: Disposition };
  readonly fields?: Fields;
}

function message<Fields>(ports: { readonly [F in keyof Fields]?: Disposition } = {}): Definition<Fields> {
  return { ports };
}

// ---------------------------------------------------------------- kernel → pager

const kernelToPager = {
  /** First map of a memory object: here are the control and name ports. [Reply: ready or change_attributes] */
  memory_object_init: message<{
    /** Send right to the kernel's control port for this object (all pager → kernel calls go there). */
    readonly control: PortName;
    /** Send right to the name port (what vm_region would show). */
    readonly name: PortName;
    readonly pageSize: number;
  }>({ control: 'make_send', name: 'make_send' }),
  /** The object is gone; the rights to the control and name ports are handed back to be destroyed. [No reply] */
  memory_object_terminate: message<{
    /** The receive right of the control port, moved to the pager. */
    readonly control: PortName;
    /** The receive right of the name port, moved to the pager. */
    readonly name: PortName;
  }>({ control: 'move_receive', name: 'move_receive' }),
  /** COPY_CALL: the kernel copied [offset, offset+length) into the new object. [Reply: init for newObject follows] */
  memory_object_copy: message<{
    readonly control: PortName;
    readonly offset: number;
    readonly length: number;
    /** Receive right for the new (temporary) memory object. */
    readonly newObject: PortName;
  }>({ newObject: 'move_receive' }),
  /** A fault needs these pages. [Reply: data_supply, data_unavailable or data_error] */
  memory_object_data_request: message<{
    readonly control: PortName;
    readonly offset: number;
    readonly length: number;
    readonly desiredAccess: VmProt;
  }>(),
  /** A fault needs access the page's lock denies. [Reply: lock_request lowering the lock, or a flush] */
  memory_object_data_unlock: message<{
    readonly control: PortName;
    readonly offset: number;
    readonly length: number;
    readonly desiredAccess: VmProt;
  }>(),
  /**
   * Pages given back: by pageout (kernelCopy false), by lock_request cleaning
   * (kernelCopy = !should_flush) or at termination. dirty false: clean precious
   * pages. The pager owns `data` from here on, and may give it back with
   * IpcSystem.memory.deallocate once written (vm_deallocate). [No reply] (The
   * Hurd calls it memory_object_return, "m_o_return".)
   */
  memory_object_data_return: message<{
    readonly control: PortName;
    readonly offset: number;
    data: Buffer;
    readonly dirty: boolean;
    readonly kernelCopy: boolean;
  }>(),
  /** A lock_request with a reply port is done; every data_return it caused was sent before this. */
  memory_object_lock_completed: message<{
    readonly control: PortName;
    readonly offset: number;
    readonly length: number;
  }>(),
  /** A data_supply with a reply port is done. result KERN_SUCCESS or KERN_MEMORY_PRESENT at errorOffset. */
  memory_object_supply_completed: message<{
    readonly control: PortName;
    readonly offset: number;
    readonly length: number;
    readonly result: number;
    readonly errorOffset: number;
  }>(),
  /** A change_attributes with a reply port is done (no control port: the object may be gone). */
  memory_object_change_completed: message<{
    readonly mayCache: boolean;
    readonly copyStrategy: CopyStrategy;
  }>(),
  /** To the default pager: serve this new internal (anonymous) object. It is ready at once. */
  memory_object_create: message<{
    /** Receive right of the new memory object. */
    readonly newObject: PortName;
    readonly size: number;
    readonly control: PortName;
    readonly name: PortName;
    readonly pageSize: number;
  }>({ newObject: 'move_receive', control: 'make_send', name: 'make_send' }),
  /** To the default pager: first write of a page pushed into a copy object. */
  memory_object_data_initialize: message<{
    readonly control: PortName;
    readonly offset: number;
    data: Buffer;
  }>(),
  memory_object_get_attributes_reply: message<{
    readonly result: number;
    readonly ready: boolean;
    readonly mayCache: boolean;
    readonly copyStrategy: CopyStrategy;
  }>(),
};

// ---------------------------------------------------------------- pager → kernel (to the control port)

const pagerToKernel = {
  memory_object_ready: message<{
    readonly mayCache: boolean;
    readonly copyStrategy: CopyStrategy;
  }>(),
  memory_object_change_attributes: message<{
    readonly mayCache: boolean;
    readonly copyStrategy: CopyStrategy;
    /** Port for change_completed, or MACH_PORT_NULL. */
    readonly replyTo: PortName;
  }>({ replyTo: 'poly' }),
  /** A routine: answered with memory_object_get_attributes_reply on replyTo. */
  memory_object_get_attributes: message<{
    readonly replyTo: PortName;
  }>({ replyTo: 'make_send_once' }),
  /** Pages for the object: whole pages, inserted clean with page_lock = lockValue. */
  memory_object_data_supply: message<{
    readonly offset: number;
    readonly data: Buffer;
    readonly lockValue: VmProt;
    readonly precious: boolean;
    /** Port for supply_completed, or MACH_PORT_NULL. */
    readonly replyTo: PortName;
    /**
     * The sender gives `data` away (Mach's dealloc flag): the kernel returns
     * it to IpcSystem.memory once copied. Without it the kernel only copies.
     */
    readonly deallocate?: boolean;
  }>({ replyTo: 'poly' }),
  /** No data for these pages: waiting faults get zero-filled pages. */
  memory_object_data_unavailable: message<{
    readonly offset: number;
    readonly size: number;
  }>(),
  /** The pages could not be read: faults waiting on them now fail with errorValue. */
  memory_object_data_error: message<{
    readonly offset: number;
    readonly size: number;
    readonly errorValue: number;
  }>(),
  /** Clean, flush or (un)lock resident pages of a range. */
  memory_object_lock_request: message<{
    readonly offset: number;
    readonly size: number;
    readonly shouldReturn: ReturnPolicy;
    readonly shouldFlush: boolean;
    /** Accesses to deny (VM_PROT_*), or VM_PROT_NO_CHANGE. */
    readonly lockValue: VmProt;
    /** Port for lock_completed, or MACH_PORT_NULL. */
    readonly replyTo: PortName;
  }>({ replyTo: 'poly' }),
  /** The manager gives up the object: the ports are cut now, terminate follows. */
  memory_object_destroy: message<{
    readonly reason: number;
  }>(),
};

defineMessages({ ...kernelToPager, ...pagerToKernel });

type Table = typeof kernelToPager & typeof pagerToKernel;

/** The message named `Id`: a Message with that id and the fields of its definition. */
export type MemoryObjectMessageOf<Id extends keyof Table> =
  Table[Id] extends Definition<infer Fields> ? Flatten<Message & { readonly id: Id } & Fields> : never;

type Flatten<T> = { [K in keyof T]: T[K] };

export type KernelToPagerMessage = { [Id in keyof typeof kernelToPager]: MemoryObjectMessageOf<Id> }[keyof typeof kernelToPager];
export type PagerToKernelMessage = { [Id in keyof typeof pagerToKernel]: MemoryObjectMessageOf<Id> }[keyof typeof pagerToKernel];
export type MemoryObjectMessage = KernelToPagerMessage | PagerToKernelMessage;

// The names the rest of machpager uses for each message.
export type MemoryObjectInit = MemoryObjectMessageOf<'memory_object_init'>;
export type MemoryObjectTerminate = MemoryObjectMessageOf<'memory_object_terminate'>;
export type MemoryObjectCopy = MemoryObjectMessageOf<'memory_object_copy'>;
export type MemoryObjectDataRequest = MemoryObjectMessageOf<'memory_object_data_request'>;
export type MemoryObjectDataUnlock = MemoryObjectMessageOf<'memory_object_data_unlock'>;
export type MemoryObjectDataReturn = MemoryObjectMessageOf<'memory_object_data_return'>;
export type MemoryObjectLockCompleted = MemoryObjectMessageOf<'memory_object_lock_completed'>;
export type MemoryObjectSupplyCompleted = MemoryObjectMessageOf<'memory_object_supply_completed'>;
export type MemoryObjectChangeCompleted = MemoryObjectMessageOf<'memory_object_change_completed'>;
export type MemoryObjectCreate = MemoryObjectMessageOf<'memory_object_create'>;
export type MemoryObjectDataInitialize = MemoryObjectMessageOf<'memory_object_data_initialize'>;
export type MemoryObjectGetAttributesReply = MemoryObjectMessageOf<'memory_object_get_attributes_reply'>;
export type MemoryObjectReady = MemoryObjectMessageOf<'memory_object_ready'>;
export type MemoryObjectChangeAttributes = MemoryObjectMessageOf<'memory_object_change_attributes'>;
export type MemoryObjectGetAttributes = MemoryObjectMessageOf<'memory_object_get_attributes'>;
export type MemoryObjectDataSupply = MemoryObjectMessageOf<'memory_object_data_supply'>;
export type MemoryObjectDataUnavailable = MemoryObjectMessageOf<'memory_object_data_unavailable'>;
export type MemoryObjectDataError = MemoryObjectMessageOf<'memory_object_data_error'>;
export type MemoryObjectLockRequest = MemoryObjectMessageOf<'memory_object_lock_request'>;
export type MemoryObjectDestroy = MemoryObjectMessageOf<'memory_object_destroy'>;

export function isKernelToPager(msg: Message): msg is KernelToPagerMessage {
  return Object.hasOwn(kernelToPager, msg.id);
}

export function isPagerToKernel(msg: Message): msg is PagerToKernelMessage {
  return Object.hasOwn(pagerToKernel, msg.id);
}
