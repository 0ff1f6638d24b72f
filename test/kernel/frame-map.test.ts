/** The frame map (the web view's grid): one state per frame, agreeing with the kernel's counts. */
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_STATES, type FrameMap } from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';

let s: Setup;
afterEach(closeSetups);

function counts(map: FrameMap): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(FRAME_STATES.map((name) => [name, 0]));
  for (const state of map.states) out[FRAME_STATES[state] as string] = (out[FRAME_STATES[state] as string] ?? 0) + 1;
  return out;
}

describe('frame map', () => {
  it('an idle pool is all free', () => {
    s = setup({ cacheSize: 32 * PAGE });
    const map = s.kernel.frameMap();
    expect(map.states.length).toBe(32);
    expect(counts(map).free).toBe(32);
    expect([...map.objects].every((id) => id === -1)).toBe(true);
  });

  it('states follow reads, writes and wiring, and add up to the statistics', async () => {
    s = setup({ cacheSize: 64 * PAGE, policy: 'mach' });
    const w = await s.map(120 * PAGE);
    // More pages than frames: the pageout daemon runs, and Mach's refill moves active pages to the inactive queue.
    for (let i = 0; i < 100; i++) await w.read(i * PAGE, 1);
    await w.write(100 * PAGE, pattern(2, 3));
    const wired = await s.map(4 * PAGE);
    expect(await wired.wire()).toBe(0);
    const map = s.kernel.frameMap();
    const stats = s.kernel.statistics();
    const c = counts(map);
    expect(map.states.length).toBe(stats.frames);
    expect(c.free).toBe(stats.free_count);
    expect(c.wired).toBe(4);
    expect(c.dirty).toBe(2);
    expect(stats.inactive_count).toBeGreaterThan(0);
    expect(c.inactive).toBeGreaterThan(0);
    expect(c.active).toBeGreaterThan(0);
    // Dirty pages are tracked by the policy too; the map shows them as dirty.
    expect(c.active + c.inactive + c.dirty).toBe(stats.active_count + stats.inactive_count);
    // Every frame that holds a page names its object, and the object is known.
    for (let i = 0; i < map.states.length; i++) {
      if (map.states[i] === 0) continue;
      expect(map.owners.get(map.objects[i])?.control).toBe(map.objects[i] === w.object.id ? w.object.control : wired.object.control);
    }
    wired.unwire();
    wired.deallocate();
    w.deallocate();
  });

  it('a shrink leaves retired frames out', async () => {
    s = setup({ cacheSize: 64 * PAGE });
    await s.kernel.resize(32 * PAGE);
    expect(s.kernel.frameMap().states.length).toBe(32);
  });
});
