/**
 * machpager as a test bed, for Node test runners: `mount` a filesystem,
 * run the program under test on it (in a child process), inject faults,
 * crash it, look at its cache, unmount. `machpager/testing` has withMount
 * and a vitest/jest fixture. docs/testing-api.md describes it all.
 *
 *   import { mount } from 'machpager';
 *   const m = await mount({ inject: 'write(*.wal)#3=EIO' });
 *   try { ... } finally { await m.unmount(); }
 */
export { mount, describeAction } from './mount.js';
export { attach } from './attach.js';
export { ControlError } from '../control/control-error.js';
export type { ActionRecord, CrashAction, CrashOptions, CrashResult, FaultEvent, FileRecord, InjectChange, InjectResult, Mount, MountOptions, StatsRecord } from './types.js';
