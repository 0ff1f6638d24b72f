/**
 * Anonymous memory and the default pager (checklist row 62).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KernError } from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

describe('default pager', () => {
  it('row 62: kernel-made objects go to the default pager; pages never written read as zero', async () => {
    s = setup({ cacheSize: 16 * PAGE });
    const anon = s.kernel.vmAllocate(256 * PAGE);
    expect(anon.object.internal).toBe(true);
    const r = await anon.read(5 * PAGE + 3, 100);
    expect(r.data.equals(Buffer.alloc(100))).toBe(true);
    expect(s.kernel.defaultPager.statistics().zero_fills).toBeGreaterThanOrEqual(1);
    // Write more than the cache holds: pages go to swap and come back from it.
    for (let i = 0; i < 64; i++) await anon.write(i * PAGE, pattern(1, i));
    await settle();
    const dp = s.kernel.defaultPager.statistics();
    expect(dp.pages_written).toBeGreaterThan(40);
    for (let i = 0; i < 64; i++) expect((await anon.read(i * PAGE, PAGE)).data.equals(pattern(1, i))).toBe(true);
    expect(s.kernel.defaultPager.statistics().pages_read).toBeGreaterThan(40);
    expect(s.swap.slotsInUse).toBeGreaterThan(40);
    // Deallocating the object ends it: its swap slots are given back, nothing is returned anywhere.
    anon.deallocate();
    for (let i = 0; i < 20 && s.kernel.defaultPager.statistics().objects > 0; i++) await settle();
    expect(s.kernel.defaultPager.statistics()).toMatchObject({ objects: 0, slots_in_use: 0 });
    expect(s.swap.slotsInUse).toBe(0);
    expect(s.kernel.statistics().objects).toBe(0);
  });

  it('windows check their range and protection', async () => {
    s = setup();
    const anon = s.kernel.vmAllocate(4 * PAGE);
    await expect(anon.read(4 * PAGE, 1)).rejects.toBeInstanceOf(KernError);
    const w = await s.kernel.vmMap(s.client, s.pager.giveSendRight(s.client), 0, PAGE, 1);
    await expect(w.write(0, Buffer.from('x'))).rejects.toBeInstanceOf(KernError);
    expect(() => s.kernel.vmAllocate(0)).toThrow(KernError);
    await expect(s.kernel.vmMap(s.client, s.pager.port, 100, PAGE)).rejects.toBeInstanceOf(KernError);
    w.deallocate();
    anon.deallocate();
  });
});
