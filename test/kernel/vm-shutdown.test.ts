/**
 * Kernel.shutdown: what is still running or waiting afterwards ends
 * harmlessly. Its messages cannot be sent (the kernel's space is gone, as a
 * dead task's), pager calls queued behind it are dropped, and faults fail
 * with EIO instead of waiting for answers that can no longer arrive.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EIO, MEMORY_OBJECT_COPY_DELAY, VM_PROT_READ, type MemoryObjectDataRequest } from '../../kernel/index.js';
import { unwirePages, wirePages } from '../../kernel/vm/wire.js';
import { closeSetups, PAGE, setup, type Setup } from '../helpers/kernel-setup.js';
import { settle } from '../helpers/test-pager.js';

let s: Setup;
let errors: unknown[];
afterEach(closeSetups);

function withErrors(): Setup {
  errors = [];
  return setup({ onError: (err) => errors.push(err) });
}

describe('kernel shutdown', () => {
  it('a terminate resuming after Kernel.shutdown ends without an error (it threw KERN_INVALID_ARGUMENT, uncaught)', async () => {
    s = withErrors();
    const w = await s.map();
    expect((await w.write(0, Buffer.from('dirty'))).error).toBe(0);
    // A wire held outside the window: the termination waits for it in its flush.
    expect(await wirePages(s.kernel, w.object, 0, PAGE, VM_PROT_READ)).toBe(0);
    w.deallocate();
    await settle();
    expect(w.object.state).toBe('terminating');
    await s.kernel.shutdown();
    unwirePages(s.kernel, w.object, 0, PAGE);
    await settle(5);
    expect(errors).toEqual([]);
    // The dirty page had nobody left to take it.
    expect(s.kernel.statistics().pages_lost).toBe(1);
  });

  it('a window dropped after shutdown starts no termination and reports nothing', async () => {
    s = withErrors();
    const w = await s.map();
    expect((await w.write(0, Buffer.from('dirty'))).error).toBe(0);
    await s.kernel.shutdown();
    w.deallocate();
    await settle(5);
    expect(errors).toEqual([]);
    expect(s.pager.count('memory_object_terminate')).toBe(0);
  });

  it('faults waiting on a pager fail with EIO at shutdown; later faults fail at once', async () => {
    s = withErrors();
    s.pager.options.auto = false;
    const w = await s.map();
    await s.pager.waitFor('memory_object_init');
    const unready = w.read(0, 10);
    await settle();
    s.pager.send({ id: 'memory_object_ready', mayCache: false, copyStrategy: MEMORY_OBJECT_COPY_DELAY });
    await s.pager.waitFor<MemoryObjectDataRequest>('memory_object_data_request');
    const waiting = w.read(0, 10);
    await settle();
    await s.kernel.shutdown();
    expect((await unready).error).toBe(EIO);
    expect((await waiting).error).toBe(EIO);
    expect((await w.read(50 * PAGE, 10)).error).toBe(EIO);
    expect(w.object.absentCount).toBe(0);
    await settle();
    expect(errors).toEqual([]);
  });
});
