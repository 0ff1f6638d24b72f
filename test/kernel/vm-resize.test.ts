/**
 * Resizing the frame pool while running: growing adds free frames, shrinking
 * evicts in the policy's order (dirty pages go back to their pager first),
 * retired frames come back on a later grow, and no data is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeSetups, framesAccountedFor, PAGE, pattern, scrambled, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

describe('resize', () => {
  it('growing adds free frames at once, and the grown cache holds a working set it could not before', async () => {
    s = setup({ cacheSize: 32 * PAGE });
    const w = await s.map();
    for (const i of scrambled(101)) await w.read(i * PAGE, 1);
    expect(s.kernel.statistics().evictions_clean).toBeGreaterThan(0);
    const free = s.kernel.pages.freeFrameCount;

    await s.kernel.resize(5000 * PAGE);
    const st = s.kernel.statistics();
    expect(st.frames).toBe(5000);
    expect(st.free_count).toBe(free + 5000 - 32);
    expect([s.kernel.freeMin, s.kernel.freeLow, s.kernel.freeHigh]).toEqual([250, 300, 500]);
    expect(s.kernel.policy.capacity).toBe(5000);

    // Pages resident before the grow are still found (the hash was rebuilt), and 4000 new pages all stay.
    const before = st.evictions_clean;
    const data = pattern(4000, 3);
    expect((await w.write(0, data)).error).toBe(0);
    const back = await w.read(0, data.length);
    expect(back.error).toBe(0);
    expect(back.data.equals(data)).toBe(true);
    expect(s.kernel.statistics().evictions_clean + s.kernel.statistics().evictions_dirty).toBe(before);
    expect(w.object.residentCount).toBe(4000);
    expect(framesAccountedFor(s.kernel)).toBe(true);
    w.deallocate();
  });

  it('shrinking evicts down to size, returning dirty pages to the pager; nothing is lost', async () => {
    s = setup({ cacheSize: 256 * PAGE });
    const w = await s.map();
    const data = pattern(200, 5);
    expect((await w.write(0, data)).error).toBe(0);
    expect(w.object.dirtyCount).toBe(200);

    await s.kernel.resize(16 * PAGE);
    await settle();
    const st = s.kernel.statistics();
    expect(st.frames).toBe(16);
    expect(st.frames_retiring).toBe(0);
    expect(w.object.residentCount).toBeLessThanOrEqual(16 - s.kernel.freeHigh);
    expect(st.evictions_dirty).toBe(200 - w.object.residentCount);
    expect(st.pageouts).toBe(st.evictions_dirty);
    expect(framesAccountedFor(s.kernel)).toBe(true);

    // The pages come back from the pager through the smaller cache.
    const back = await w.read(0, data.length);
    expect(back.error).toBe(0);
    expect(back.data.equals(data)).toBe(true);
    expect(w.object.residentCount).toBeLessThanOrEqual(16);
    w.deallocate();
  });

  it('a shrink evicts in the policy order: the most recently used pages stay', async () => {
    s = setup({ cacheSize: 128 * PAGE, policy: 'lru' });
    const w = await s.map();
    for (const i of scrambled(100)) await w.read(i * PAGE, 1);
    // Touch 0..9 last: they are the most recently used.
    for (let i = 0; i < 10; i++) await w.read(i * PAGE, 1);
    await s.kernel.resize(16 * PAGE);
    for (let i = 0; i < 10; i++) expect(s.kernel.pages.lookup(w.object.id, i)).toBeGreaterThanOrEqual(0);
    expect(w.object.residentCount).toBeLessThanOrEqual(16);
    expect(s.kernel.statistics().policy).toBe('lru');
    w.deallocate();
  });

  it('a shrink past wired pages waits until they are unwired; a grow meanwhile cancels what it still owes', async () => {
    s = setup({ cacheSize: 64 * PAGE });
    const w = await s.map(40 * PAGE);
    expect(await w.wire()).toBe(0);
    let done = false;
    const shrink = s.kernel.resize(8 * PAGE).then(() => {
      done = true;
    });
    await settle(10);
    expect(done).toBe(false);
    expect(s.kernel.statistics().frames_retiring).toBe(40 - 8);
    expect(s.kernel.statistics().frames).toBe(8);
    w.unwire();
    await settle(10);
    await shrink;
    expect(s.kernel.statistics().frames_retiring).toBe(0);
    expect(framesAccountedFor(s.kernel)).toBe(true);

    // Growing again takes the retired frames back before making new ones.
    const slots = s.kernel.pages.frameSlots;
    await s.kernel.resize(64 * PAGE);
    expect(s.kernel.pages.frameSlots).toBe(slots);
    expect(s.kernel.statistics().frames).toBe(64);
    expect(framesAccountedFor(s.kernel)).toBe(true);

    const w2 = await s.map(40 * PAGE);
    expect(await w2.wire()).toBe(0);
    const pending = s.kernel.resize(8 * PAGE);
    expect(s.kernel.statistics().frames_retiring).toBeGreaterThan(0);
    await s.kernel.resize(64 * PAGE);
    await pending;
    expect(s.kernel.statistics().frames_retiring).toBe(0);
    expect(s.kernel.statistics().frames).toBe(64);
    expect(framesAccountedFor(s.kernel)).toBe(true);
    w2.deallocate();
    w.deallocate();
  });

  it('refuses a size below the minimum pool', () => {
    s = setup({ cacheSize: 64 * PAGE });
    expect(() => s.kernel.resize(3 * PAGE)).toThrow(RangeError);
    expect(s.kernel.statistics().frames).toBe(64);
  });
});
