/**
 * The real filesystem for the executables: MachFilesystem.open, loaded
 * only when a mount starts (help, usage errors and the --daemon parent do
 * not load the kernel, the stores or SQLite).
 */
import type { FilesystemFactory } from './deps.js';

export const openMachFilesystem: FilesystemFactory = async (config) => {
  const { MachFilesystem } = await import('../fs/filesystem.js');
  return MachFilesystem.open(config);
};
