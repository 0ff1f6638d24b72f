/**
 * A write-back that fails is never lost and never reported as success
 * (issue 10): the pager holds the page, answers requests for it from its
 * copy, reports the store's own errno to every sync until the store takes
 * it, and returned pages count as the kernel's laundry until written, so
 * that a slow store makes the kernel double-page instead of the pager
 * growing without end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PagerError } from '../../daemon/pager/index.js';
import { DATA_WRITE_MAX } from '../../kernel/vm/data-return.js';
import { fail, PAGE, pagerSetup, pattern, settle, type PagerSetup } from '../helpers/pager-setup.js';

let s: PagerSetup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('write-back errors are kept', () => {
  it('ENOSPC stays ENOSPC: sync rejects with the store errno, never EIO, never success', async () => {
    s = pagerSetup({ cacheSize: 16 * PAGE });
    const w = await s.map();
    const data = pattern(8, 3);
    await w.write(0, data);
    s.callbacks.writeFault = () => fail('ENOSPC');
    const err = await s.pager.sync(true).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PagerError);
    expect((err as PagerError).code).toBe('ENOSPC');
    // Asked again, still the same answer: the data is not stored yet.
    await expect(s.pager.sync(true)).rejects.toMatchObject({ code: 'ENOSPC' });
    s.callbacks.writeFault = undefined;
    await s.pager.sync(true);
    expect(s.callbacks.holds(0, data)).toBe(true);
    w.deallocate();
  });

  it('pages whose write failed read back right while evicted, through a cache far smaller than the data', async () => {
    s = pagerSetup({ cacheSize: 16 * PAGE });
    const w = await s.map();
    s.callbacks.writeFault = () => fail('ENOSPC');
    const data = pattern(128, 5);
    await w.write(0, data);
    await expect(s.pager.return(true)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(s.pager.stats.pages_held).toBe(128);
    const back = await w.read(0, data.length);
    expect(back.error).toBe(0);
    expect(back.data.equals(data)).toBe(true);
    s.callbacks.writeFault = undefined;
    await s.pager.sync(true);
    expect(s.pager.stats.pages_held).toBe(0);
    expect(s.callbacks.holds(0, data)).toBe(true);
    w.deallocate();
  });

  it('a newer write of a held page replaces it; a flush (truncate, unlink) drops it', async () => {
    s = pagerSetup();
    const w = await s.map();
    await w.write(0, Buffer.from('old'));
    await w.write(PAGE, Buffer.from('gone'));
    s.callbacks.writeFault = () => fail('EIO');
    await expect(s.pager.return(true)).rejects.toMatchObject({ code: 'EIO' });
    await w.write(0, Buffer.from('new'));
    await s.pager.flushSome(PAGE, PAGE, true);
    s.callbacks.writeFault = undefined;
    await s.pager.sync(true);
    expect(s.callbacks.page(0).subarray(0, 3).toString()).toBe('new');
    expect(s.callbacks.pages.has(1)).toBe(false);
    expect(s.pager.stats.pages_held).toBe(0);
    w.deallocate();
  });

  it('a pager holding unwritten pages is not freed when the kernel lets the object go; it is once they are stored', async () => {
    s = pagerSetup();
    const setup = s;
    const w = await setup.map();
    await w.write(0, Buffer.from('keep'));
    setup.callbacks.writeFault = () => fail('EIO');
    w.deallocate();
    setup.pager.release();
    await setup.pager.waitUntil(() => setup.pager.state === 'notinit');
    await settle(5);
    expect(setup.pager.isDestroyed).toBe(false);
    expect(setup.callbacks.cleared).toBe(false);
    expect(setup.pager.stats.pages_held).toBe(1);
    setup.callbacks.writeFault = undefined;
    await setup.pager.sync(true);
    await settle(5);
    expect(setup.callbacks.page(0).subarray(0, 4).toString()).toBe('keep');
    expect(setup.pager.isDestroyed).toBe(true);
    expect(setup.callbacks.cleared).toBe(true);
  });

  it('only what failed before a sync is retried by it: one attempt per page per sync', async () => {
    s = pagerSetup();
    const w = await s.map();
    await w.write(0, Buffer.from('x'));
    let attempts = 0;
    s.callbacks.writeFault = () => {
      attempts++;
      return fail('EDQUOT');
    };
    await expect(s.pager.sync(true)).rejects.toMatchObject({ code: 'EDQUOT' });
    expect(attempts).toBe(1);
    await expect(s.pager.sync(true)).rejects.toMatchObject({ code: 'EDQUOT' });
    expect(attempts).toBe(2);
    expect(s.pager.stats.write_retries).toBe(1);
    s.callbacks.writeFault = undefined;
    await s.pager.sync(true);
    w.deallocate();
  });
});

describe('write-behind is bounded by the laundry', () => {
  it('a slow store: the pager never holds more unwritten pages than the kernel lets be laundry, and the kernel double-pages', async () => {
    s = pagerSetup({ cacheSize: 32 * PAGE });
    const setup = s;
    setup.callbacks.latency = 50;
    setup.callbacks.bulk = false;
    const w = await setup.map();
    // Looked at on every page write: what the pager holds received and not yet written.
    let most = 0;
    setup.callbacks.writeFault = () => {
      most = Math.max(most, setup.kernel.externalWriting);
      return undefined;
    };
    const data = pattern(128, 9);
    await w.write(0, data);
    await setup.pager.sync(true);
    expect(most).toBeGreaterThan(0);
    // The kernel stops sending at its limit: at most one data_return (a sync's) goes over it.
    expect(most).toBeLessThanOrEqual(setup.kernel.externalLaundryMax + DATA_WRITE_MAX);
    expect(setup.kernel.stats.double_paged).toBeGreaterThan(0);
    // Every page written: the laundry is all given back.
    expect(setup.kernel.externalWriting).toBe(0);
    const back = await w.read(0, data.length);
    expect(back.data.equals(data)).toBe(true);
    w.deallocate();
  });
});
