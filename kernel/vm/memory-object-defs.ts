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
 */
import { defineMessages, type Message, type PortName } from '../ipc/message.js';
import type { CopyStrategy, ReturnPolicy, VmProt } from './prot.js';

// ---------------------------------------------------------------- kernel → pager

/** First map of a memory object: here are the control and name ports. [Reply: ready or change_attributes] */
export interface MemoryObjectInit extends Message {
  readonly id: 'memory_object_init';
  /** Send right to the kernel's control port for this object (all pager → kernel calls go there). */
  readonly control: PortName;
  /** Send right to the name port (what vm_region would show). */
  readonly name: PortName;
  readonly pageSize: number;
}

/** The object is gone; the rights to the control and name ports are handed back to be destroyed. [No reply] */
export interface MemoryObjectTerminate extends Message {
  readonly id: 'memory_object_terminate';
  /** The receive right of the control port, moved to the pager. */
  readonly control: PortName;
  /** The receive right of the name port, moved to the pager. */
  readonly name: PortName;
}

/** COPY_CALL: the kernel copied [offset, offset+length) into the new object. [Reply: init for newObject follows] */
export interface MemoryObjectCopy extends Message {
  readonly id: 'memory_object_copy';
  readonly control: PortName;
  readonly offset: number;
  readonly length: number;
  /** Receive right for the new (temporary) memory object. */
  readonly newObject: PortName;
}

/** A fault needs these pages. [Reply: data_supply, data_unavailable or data_error] */
export interface MemoryObjectDataRequest extends Message {
  readonly id: 'memory_object_data_request';
  readonly control: PortName;
  readonly offset: number;
  readonly length: number;
  readonly desiredAccess: VmProt;
}

/** A fault needs access the page's lock denies. [Reply: lock_request lowering the lock, or a flush] */
export interface MemoryObjectDataUnlock extends Message {
  readonly id: 'memory_object_data_unlock';
  readonly control: PortName;
  readonly offset: number;
  readonly length: number;
  readonly desiredAccess: VmProt;
}

/**
 * Pages given back: by pageout (kernelCopy false), by lock_request cleaning
 * (kernelCopy = !should_flush) or at termination. dirty false: clean precious
 * pages. The pager owns `data` from here on, and may give it back with
 * IpcSystem.memory.deallocate once written (vm_deallocate). [No reply] (The
 * Hurd calls it memory_object_return, "m_o_return".)
 */
export interface MemoryObjectDataReturn extends Message {
  readonly id: 'memory_object_data_return';
  readonly control: PortName;
  readonly offset: number;
  data: Buffer;
  readonly dirty: boolean;
  readonly kernelCopy: boolean;
}

/** A lock_request with a reply port is done; every data_return it caused was sent before this. */
export interface MemoryObjectLockCompleted extends Message {
  readonly id: 'memory_object_lock_completed';
  readonly control: PortName;
  readonly offset: number;
  readonly length: number;
}

/** A data_supply with a reply port is done. result KERN_SUCCESS or KERN_MEMORY_PRESENT at errorOffset. */
export interface MemoryObjectSupplyCompleted extends Message {
  readonly id: 'memory_object_supply_completed';
  readonly control: PortName;
  readonly offset: number;
  readonly length: number;
  readonly result: number;
  readonly errorOffset: number;
}

/** A change_attributes with a reply port is done (no control port: the object may be gone). */
export interface MemoryObjectChangeCompleted extends Message {
  readonly id: 'memory_object_change_completed';
  readonly mayCache: boolean;
  readonly copyStrategy: CopyStrategy;
}

/** To the default pager: serve this new internal (anonymous) object. It is ready at once. */
export interface MemoryObjectCreate extends Message {
  readonly id: 'memory_object_create';
  /** Receive right of the new memory object. */
  readonly newObject: PortName;
  readonly size: number;
  readonly control: PortName;
  readonly name: PortName;
  readonly pageSize: number;
}

/** To the default pager: first write of a page pushed into a copy object. */
export interface MemoryObjectDataInitialize extends Message {
  readonly id: 'memory_object_data_initialize';
  readonly control: PortName;
  readonly offset: number;
  data: Buffer;
}

// ---------------------------------------------------------------- pager → kernel (to the control port)

export interface MemoryObjectReady extends Message {
  readonly id: 'memory_object_ready';
  readonly mayCache: boolean;
  readonly copyStrategy: CopyStrategy;
}

export interface MemoryObjectChangeAttributes extends Message {
  readonly id: 'memory_object_change_attributes';
  readonly mayCache: boolean;
  readonly copyStrategy: CopyStrategy;
  /** Port for change_completed, or MACH_PORT_NULL. */
  readonly replyTo: PortName;
}

/** A routine: answered with memory_object_get_attributes_reply on replyTo. */
export interface MemoryObjectGetAttributes extends Message {
  readonly id: 'memory_object_get_attributes';
  readonly replyTo: PortName;
}

export interface MemoryObjectGetAttributesReply extends Message {
  readonly id: 'memory_object_get_attributes_reply';
  readonly result: number;
  readonly ready: boolean;
  readonly mayCache: boolean;
  readonly copyStrategy: CopyStrategy;
}

/** Pages for the object: whole pages, inserted clean with page_lock = lockValue. */
export interface MemoryObjectDataSupply extends Message {
  readonly id: 'memory_object_data_supply';
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
}

/** No data for these pages: waiting faults get zero-filled pages. */
export interface MemoryObjectDataUnavailable extends Message {
  readonly id: 'memory_object_data_unavailable';
  readonly offset: number;
  readonly size: number;
}

/** The pages could not be read: faults waiting on them now fail with errorValue. */
export interface MemoryObjectDataError extends Message {
  readonly id: 'memory_object_data_error';
  readonly offset: number;
  readonly size: number;
  readonly errorValue: number;
}

/** Clean, flush or (un)lock resident pages of a range. */
export interface MemoryObjectLockRequest extends Message {
  readonly id: 'memory_object_lock_request';
  readonly offset: number;
  readonly size: number;
  readonly shouldReturn: ReturnPolicy;
  readonly shouldFlush: boolean;
  /** Accesses to deny (VM_PROT_*), or VM_PROT_NO_CHANGE. */
  readonly lockValue: VmProt;
  /** Port for lock_completed, or MACH_PORT_NULL. */
  readonly replyTo: PortName;
}

/** The manager gives up the object: the ports are cut now, terminate follows. */
export interface MemoryObjectDestroy extends Message {
  readonly id: 'memory_object_destroy';
  readonly reason: number;
}

export type KernelToPagerMessage =
  | MemoryObjectInit
  | MemoryObjectTerminate
  | MemoryObjectCopy
  | MemoryObjectDataRequest
  | MemoryObjectDataUnlock
  | MemoryObjectDataReturn
  | MemoryObjectLockCompleted
  | MemoryObjectSupplyCompleted
  | MemoryObjectChangeCompleted
  | MemoryObjectCreate
  | MemoryObjectDataInitialize
  | MemoryObjectGetAttributesReply;

export type PagerToKernelMessage =
  | MemoryObjectReady
  | MemoryObjectChangeAttributes
  | MemoryObjectGetAttributes
  | MemoryObjectDataSupply
  | MemoryObjectDataUnavailable
  | MemoryObjectDataError
  | MemoryObjectLockRequest
  | MemoryObjectDestroy;

export type MemoryObjectMessage = KernelToPagerMessage | PagerToKernelMessage;

/** Messages without an `id` or `dest`, for building them. */
export type Body<M extends Message> = Omit<M, 'dest' | 'seqno'>;

defineMessages({
  memory_object_init: { ports: { control: 'make_send', name: 'make_send' } },
  memory_object_terminate: { ports: { control: 'move_receive', name: 'move_receive' } },
  memory_object_copy: { ports: { newObject: 'move_receive' } },
  memory_object_data_request: { ports: {} },
  memory_object_data_unlock: { ports: {} },
  memory_object_data_return: { ports: {} },
  memory_object_lock_completed: { ports: {} },
  memory_object_supply_completed: { ports: {} },
  memory_object_change_completed: { ports: {} },
  memory_object_create: { ports: { newObject: 'move_receive', control: 'make_send', name: 'make_send' } },
  memory_object_data_initialize: { ports: {} },
  memory_object_ready: { ports: {} },
  memory_object_change_attributes: { ports: { replyTo: 'poly' } },
  memory_object_get_attributes: { ports: { replyTo: 'make_send_once' } },
  memory_object_get_attributes_reply: { ports: {} },
  memory_object_data_supply: { ports: { replyTo: 'poly' } },
  memory_object_data_unavailable: { ports: {} },
  memory_object_data_error: { ports: {} },
  memory_object_lock_request: { ports: { replyTo: 'poly' } },
  memory_object_destroy: { ports: {} },
});

const kernelToPager = new Set<string>([
  'memory_object_init',
  'memory_object_terminate',
  'memory_object_copy',
  'memory_object_data_request',
  'memory_object_data_unlock',
  'memory_object_data_return',
  'memory_object_lock_completed',
  'memory_object_supply_completed',
  'memory_object_change_completed',
  'memory_object_create',
  'memory_object_data_initialize',
  'memory_object_get_attributes_reply',
]);

const pagerToKernel = new Set<string>([
  'memory_object_ready',
  'memory_object_change_attributes',
  'memory_object_get_attributes',
  'memory_object_data_supply',
  'memory_object_data_unavailable',
  'memory_object_data_error',
  'memory_object_lock_request',
  'memory_object_destroy',
]);

export function isKernelToPager(msg: Message): msg is KernelToPagerMessage {
  return kernelToPager.has(msg.id);
}

export function isPagerToKernel(msg: Message): msg is PagerToKernelMessage {
  return pagerToKernel.has(msg.id);
}
