/**
 * A machpager mount the API did not start (`machpager mount` in a shell
 * script, a systemd unit, fstab): `attach` gives it the same Mount as
 * `mount` does, so a suite can drive a mount it was handed: inject, crash,
 * stats, files, sync, evict, each recorded. Its daemon is not a child of
 * this process: `daemonLog` is empty (the daemon logs where it was
 * started), and `unmount` is `fusermount -u`, after which the daemon syncs
 * and stops as it does for any unmount.
 */
import { realpath } from 'node:fs/promises';
import { ControlError, resolveMount } from '../control/client.js';
import type { HelloResult } from '../control/protocol.js';
import { checkResult } from '../control/stats-record.js';
import { findMount, fusermount } from '../fs/fuse/mount-table.js';
import { ControlledMount } from './controlled-mount.js';
import type { ActionRecord, Mount } from './types.js';

class AttachedMount extends ControlledMount implements Mount {
  private daemonPid = 0;
  private gone: Promise<void> | undefined;
  private detached = false;

  get pid(): number {
    return this.daemonPid;
  }

  get daemonLog(): string {
    return '';
  }

  get running(): boolean {
    return !this.detached;
  }

  async hello(): Promise<HelloResult> {
    const hello = await this.act('attach', {}, async (c) => checkResult<HelloResult>(await c.call('hello', {}), 'hello', ['pid'], ['mountpoint']));
    this.daemonPid = hello.pid;
    return hello;
  }

  unmount(): Promise<void> {
    this.gone ??= this.act('unmount', {}, async () => {
      this.client?.close();
      this.client = undefined;
      if (await findMount(this.mountpoint)) await fusermount(this.mountpoint);
      this.detached = true;
      return { unmounted: this.mountpoint };
    }).then(() => undefined);
    return this.gone;
  }
}

/**
 * The machpager mount at `mountpoint` (or holding that path), as a Mount.
 * Rejects with ENOENT when no machpager mount is there, or with the
 * socket's error when its daemon does not answer.
 */
export async function attach(mountpoint: string, options: { log?: (action: ActionRecord) => void } = {}): Promise<Mount> {
  const real = await realpath(mountpoint);
  const found = await resolveMount(real, { cwd: process.cwd(), uid: process.getuid?.() ?? 0, env: process.env });
  if (found.unlisted === true) throw new ControlError('ENOENT', `no machpager mount at ${real}`);
  const m = new AttachedMount(found.mountpoint, found.source, options.log);
  await m.hello();
  return m;
}
