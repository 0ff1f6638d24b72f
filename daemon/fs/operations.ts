/**
 * The FUSE operations of MachFilesystem, put together from their rooms:
 * namespace (namespace-operations.ts), data (data-operations.ts) and
 * extended attributes (xattr-operations.ts).
 */
import { buildDataOperations } from './data-operations.js';
import type { MachFilesystem } from './filesystem.js';
import type { FuseOperations } from './fuse/contract.js';
import { buildNamespaceOperations } from './namespace-operations.js';
import { buildXattrOperations } from './xattr-operations.js';

export function buildOperations(fs: MachFilesystem): FuseOperations {
  return { ...buildNamespaceOperations(fs), ...buildDataOperations(fs), ...buildXattrOperations(fs) };
}
