import { afterEach, expect, it } from 'vitest';
import { PAGE, pagerSetup, pattern, type PagerSetup } from '../helpers/pager-setup.js';

let s: PagerSetup;
afterEach(async () => {
  await s.close();
});

it('a pager serves an object through the kernel: write, evict, read back, sync, terminate', async () => {
  s = pagerSetup({ cacheSize: 16 * PAGE });
  const w = await s.map();
  const data = pattern(100, 1);
  expect(await w.write(0, data)).toEqual({ bytes: data.length, error: 0 });
  expect((await w.read(0, data.length)).data.equals(data)).toBe(true);
  await s.pager.sync();
  expect(s.callbacks.holds(0, data)).toBe(true);
  expect(s.pager.stats.write_runs).toBeGreaterThan(0);
  w.deallocate();
  await s.pager.waitUntil(() => s.pager.state === 'notinit');
  expect(s.callbacks.cleared).toBe(false); // the owner still holds it
  s.pager.release();
  for (let i = 0; i < 20 && !s.callbacks.cleared; i++) await new Promise<void>((r) => setImmediate(r));
  expect(s.callbacks.cleared).toBe(true);
  expect(s.requests.pagerCount).toBe(0);
  expect(s.logged).toEqual([]);
});
