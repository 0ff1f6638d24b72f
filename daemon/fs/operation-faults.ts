/**
 * File-system operations failed on purpose (a fault rule whose OP is
 * create, rename, fsync ...: stores/fault-injector.ts FS_FAULT_OPS): each
 * such FUSE operation first asks the mount's injector, and a rule that
 * matches its path answers the rule's errno before the operation does
 * anything, as a disk refusing the metadata write would. The pager is not
 * involved, so any errno may be answered (an unknown one is EIO).
 */
import { FS_FAULT_OPS, type FaultInjector, type FsFaultOp } from '../../stores/index.js';
import { FsError, isFsErrorCode } from './errors.js';
import type { FuseOperations } from './fuse/contract.js';

type AnyOperation = (...args: unknown[]) => void;

/** `ops` with every operation of FS_FAULT_OPS asking `faults` first. */
export function withOperationFaults(ops: FuseOperations, faults: FaultInjector): FuseOperations {
  const out: Record<string, unknown> = { ...ops };
  for (const op of FS_FAULT_OPS) {
    const original = (ops as unknown as Record<string, AnyOperation | undefined>)[op];
    if (!original) continue;
    out[op] = (...args: unknown[]): void => {
      if (faults.hasOperationRules) {
        const code = faults.operationFault(op, pathArgument(op, args));
        if (code !== undefined) {
          const reply = args[args.length - 1] as (err: FsError) => void;
          reply(new FsError(isFsErrorCode(code) ? code : 'EIO', `injected on ${op}`));
          return;
        }
      }
      original.apply(ops, args);
    };
  }
  return out as unknown as FuseOperations;
}

/** The path a rule's glob is matched against: the one the operation makes or changes (symlink's new name, not its target). */
function pathArgument(op: FsFaultOp, args: readonly unknown[]): string {
  const at = op === 'symlink' ? 2 : 1;
  return String(args[at]);
}
