/**
 * The FUSE operations of MachFilesystem, put together from their rooms:
 * namespace (namespace-operations.ts), data (data-operations.ts) and
 * extended attributes (xattr-operations.ts); on a mount that injects
 * faults, the ones a rule may fail ask first (operation-faults.ts).
 */
import { buildDataOperations } from './data-operations.js';
import type { MachFilesystem } from './filesystem.js';
import type { FuseOperations } from './fuse/contract.js';
import { buildNamespaceOperations } from './namespace-operations.js';
import { withOperationFaults } from './operation-faults.js';
import { buildXattrOperations } from './xattr-operations.js';

export function buildOperations(fs: MachFilesystem): FuseOperations {
  const ops = { ...buildNamespaceOperations(fs), ...buildDataOperations(fs), ...buildXattrOperations(fs) };
  return fs.faults ? withOperationFaults(ops, fs.faults) : ops;
}
