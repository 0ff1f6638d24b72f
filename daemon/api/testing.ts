/**
 * Helpers for vitest and jest: a mount that is always unmounted, also
 * when the test fails, and whose actions and daemon log are printed with
 * the failure (so the failure explains itself).
 *
 *   import { withMount } from 'machpager/testing';
 *   it('survives', () => withMount({ inject: 'fsync=EIO' }, async (m) => { ... }));
 *
 *   const fs = mountFixture({ cacheSize: '8M' });   // in a describe: beforeEach mounts, afterEach unmounts
 *   it('...', async () => { await fs().sync(); });
 */
import { describeAction, mount } from './mount.js';
import type { Mount, MountOptions } from './types.js';

/** Run `fn` with a fresh mount, unmounted afterwards whatever happens; a failure carries the actions taken. */
export async function withMount<T>(options: MountOptions, fn: (m: Mount) => Promise<T>): Promise<T> {
  const m = await mount(options);
  let result: T;
  try {
    result = await fn(m);
  } catch (err) {
    // The test's own failure says more than an unmount failure after it.
    await m.unmount().catch(() => undefined);
    throw explained(err, m);
  }
  await m.unmount();
  return result;
}

/** The hooks a fixture needs: vitest's and jest's globals both fit. */
export interface FixtureHooks {
  beforeEach(fn: () => Promise<void>, timeout?: number): void;
  afterEach(fn: () => Promise<void>, timeout?: number): void;
}

/**
 * A mount per test: `beforeEach` mounts, `afterEach` unmounts (also after
 * a failure). Returns the current mount. Pass the runner's hooks, or let
 * it find the globals (vitest with globals: true, jest).
 */
export function mountFixture(options: MountOptions = {}, hooks: FixtureHooks = globalHooks()): () => Mount {
  let current: Mount | undefined;
  hooks.beforeEach(async () => {
    current = await mount(options);
  }, 60_000);
  hooks.afterEach(async () => {
    const m = current;
    current = undefined;
    await m?.unmount();
  }, 60_000);
  return () => {
    if (!current) throw new Error('mountFixture: no mount outside a test');
    return current;
  };
}

function globalHooks(): FixtureHooks {
  const g = globalThis as Partial<FixtureHooks>;
  if (typeof g.beforeEach !== 'function' || typeof g.afterEach !== 'function') {
    throw new Error('mountFixture: no beforeEach/afterEach globals: pass { beforeEach, afterEach } from your test runner');
  }
  return { beforeEach: g.beforeEach.bind(g), afterEach: g.afterEach.bind(g) };
}

/** `err` with the mount's actions and the end of its daemon log added to its message. */
function explained(err: unknown, m: Mount): unknown {
  if (!(err instanceof Error)) return err;
  const actions = m.actions.map((a) => `  ${describeAction(a)}`).join('\n');
  const log = m.daemonLog.split('\n').slice(-30).join('\n');
  err.message += `\n--- machpager actions on ${m.mountpoint}:\n${actions}\n--- daemon log (last lines):\n${log}`;
  return err;
}

export { mount, describeAction } from './mount.js';
export { attach } from './attach.js';
export type { ActionRecord, CrashOptions, InjectChange, Mount, MountOptions } from './types.js';
