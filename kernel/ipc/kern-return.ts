/**
 * kern_return_t and mach_msg_return_t codes, with Mach's numbers, so that a
 * reader who knows <mach/kern_return.h> and <mach/message.h> recognises them.
 */
export const KERN_SUCCESS = 0;
export const KERN_INVALID_ADDRESS = 1;
export const KERN_PROTECTION_FAILURE = 2;
export const KERN_NO_SPACE = 3;
export const KERN_INVALID_ARGUMENT = 4;
export const KERN_FAILURE = 5;
export const KERN_RESOURCE_SHORTAGE = 6;
export const KERN_NOT_RECEIVER = 7;
export const KERN_NO_ACCESS = 8;
export const KERN_MEMORY_FAILURE = 9;
export const KERN_MEMORY_ERROR = 10;
export const KERN_NOT_IN_SET = 12;
export const KERN_NAME_EXISTS = 13;
export const KERN_ABORTED = 14;
export const KERN_INVALID_NAME = 15;
export const KERN_INVALID_TASK = 16;
export const KERN_INVALID_RIGHT = 17;
export const KERN_INVALID_VALUE = 18;
export const KERN_UREFS_OVERFLOW = 19;
export const KERN_INVALID_CAPABILITY = 20;
export const KERN_RIGHT_EXISTS = 21;
export const KERN_MEMORY_PRESENT = 23;

export const MACH_SEND_INVALID_DEST = 0x10000003;
export const MACH_SEND_INVALID_REPLY = 0x10000009;
export const MACH_SEND_INVALID_RIGHT = 0x1000000a;
export const MACH_RCV_INVALID_NAME = 0x10004002;
/** A port a receiver was waiting on was moved into a port set. */
export const MACH_RCV_PORT_CHANGED = 0x10004006;
export const MACH_RCV_PORT_DIED = 0x10004009;
export const MACH_RCV_IN_SET = 0x1000400a;

const names: Record<number, string> = {
  [KERN_SUCCESS]: 'KERN_SUCCESS',
  [KERN_INVALID_ADDRESS]: 'KERN_INVALID_ADDRESS',
  [KERN_PROTECTION_FAILURE]: 'KERN_PROTECTION_FAILURE',
  [KERN_NO_SPACE]: 'KERN_NO_SPACE',
  [KERN_INVALID_ARGUMENT]: 'KERN_INVALID_ARGUMENT',
  [KERN_FAILURE]: 'KERN_FAILURE',
  [KERN_RESOURCE_SHORTAGE]: 'KERN_RESOURCE_SHORTAGE',
  [KERN_NOT_RECEIVER]: 'KERN_NOT_RECEIVER',
  [KERN_NO_ACCESS]: 'KERN_NO_ACCESS',
  [KERN_MEMORY_FAILURE]: 'KERN_MEMORY_FAILURE',
  [KERN_MEMORY_ERROR]: 'KERN_MEMORY_ERROR',
  [KERN_NOT_IN_SET]: 'KERN_NOT_IN_SET',
  [KERN_NAME_EXISTS]: 'KERN_NAME_EXISTS',
  [KERN_ABORTED]: 'KERN_ABORTED',
  [KERN_INVALID_NAME]: 'KERN_INVALID_NAME',
  [KERN_INVALID_TASK]: 'KERN_INVALID_TASK',
  [KERN_INVALID_RIGHT]: 'KERN_INVALID_RIGHT',
  [KERN_INVALID_VALUE]: 'KERN_INVALID_VALUE',
  [KERN_UREFS_OVERFLOW]: 'KERN_UREFS_OVERFLOW',
  [KERN_INVALID_CAPABILITY]: 'KERN_INVALID_CAPABILITY',
  [KERN_RIGHT_EXISTS]: 'KERN_RIGHT_EXISTS',
  [KERN_MEMORY_PRESENT]: 'KERN_MEMORY_PRESENT',
  [MACH_SEND_INVALID_DEST]: 'MACH_SEND_INVALID_DEST',
  [MACH_SEND_INVALID_REPLY]: 'MACH_SEND_INVALID_REPLY',
  [MACH_SEND_INVALID_RIGHT]: 'MACH_SEND_INVALID_RIGHT',
  [MACH_RCV_INVALID_NAME]: 'MACH_RCV_INVALID_NAME',
  [MACH_RCV_PORT_CHANGED]: 'MACH_RCV_PORT_CHANGED',
  [MACH_RCV_PORT_DIED]: 'MACH_RCV_PORT_DIED',
  [MACH_RCV_IN_SET]: 'MACH_RCV_IN_SET',
};

export function kernReturnName(code: number): string {
  return names[code] ?? `kern_return ${code}`;
}

/** A failed Mach call: carries the kern_return_t / mach_msg_return_t code. */
export class KernError extends Error {
  constructor(
    readonly code: number,
    detail?: string,
  ) {
    super(detail ? `${kernReturnName(code)}: ${detail}` : kernReturnName(code));
    this.name = 'KernError';
  }
}
