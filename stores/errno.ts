/**
 * Errno codes as stores report them: the code string Node uses ('EIO') and
 * the Linux number, which is what FUSE finally wants. Node's table is the
 * platform's own, and machpager runs on Linux.
 */
import { constants } from 'node:os';

export type ErrnoCode = keyof typeof constants.errno;

const EIO_NUMBER = 5;

/** The Linux errno number of `code` (EIO's for a code this platform lacks). */
export function errnoNumber(code: string): number {
  return isErrnoCode(code) ? constants.errno[code] : EIO_NUMBER;
}

export function isErrnoCode(code: string): code is ErrnoCode {
  return Object.hasOwn(constants.errno, code);
}
