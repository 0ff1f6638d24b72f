/**
 * The real filesystem for the executables: MachFilesystem.open, with the
 * control socket's handlers (MountControl) beside it. Loaded only when a
 * mount starts (help, usage errors and the --daemon parent do not load the
 * kernel, the stores or SQLite).
 */
import type { FilesystemFactory } from '../cli/deps.js';

export const openMachFilesystem: FilesystemFactory = async (config) => {
  const [{ MachFilesystem }, { MountControl }] = await Promise.all([import('../fs/filesystem.js'), import('../control/mount-control.js')]);
  const fs = await MachFilesystem.open(config);
  return {
    operations: () => fs.operations(),
    fuseOptions: () => fs.fuseOptions(),
    sync: () => fs.sync(),
    close: () => fs.close(),
    describeWaits: () => fs.describeWaits(),
    control: (mount) => new MountControl(fs, mount),
  };
};
