/** Wired pages: resident until unwired, and lock_request waits for them. */
import { afterEach, describe, expect, it } from 'vitest';
import { MEMORY_OBJECT_RETURN_ALL, VM_PROT_NO_CHANGE, VM_PROT_READ, type MemoryObjectLockCompleted } from '../../kernel/index.js';
import { closeSetups, PAGE, pattern, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
afterEach(closeSetups);

describe('wired pages', () => {
  it('stay resident under pressure and count in wire_count', async () => {
    s = setup({ cacheSize: 32 * PAGE });
    const w = await s.map(8 * PAGE);
    expect(await w.wire()).toBe(0);
    expect(s.kernel.statistics().wire_count).toBe(8);
    const other = await s.map();
    for (let i = 0; i < 200; i++) await other.read((100 + i * 3) * PAGE, 1);
    for (let i = 0; i < 8; i++) expect(w.copySync(i * PAGE, Buffer.alloc(1), VM_PROT_READ)).toBe(1);
    expect(s.kernel.statistics().wire_count).toBe(8);
    w.unwire();
    expect(s.kernel.statistics().wire_count).toBe(0);
    w.deallocate();
    other.deallocate();
  });

  it('a lock_request that would change a wired page waits until it is unwired', async () => {
    s = setup();
    const w = await s.map(4 * PAGE);
    await w.write(0, pattern(4, 1));
    await w.wire();
    s.pager.lockRequest(0, 4 * PAGE, MEMORY_OBJECT_RETURN_ALL, true, VM_PROT_NO_CHANGE, s.pager.port);
    await settle(5);
    expect(s.pager.count('memory_object_lock_completed')).toBe(0);
    w.unwire();
    await s.pager.waitFor<MemoryObjectLockCompleted>('memory_object_lock_completed');
    expect(w.object.residentCount).toBe(0);
    expect(s.pager.page(3).equals(pattern(4, 1).subarray(3 * PAGE))).toBe(true);
    w.deallocate();
  });
});
