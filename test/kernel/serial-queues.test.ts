/** Per-object serialisation of messages: one job at a time per key, in submission order. */
import { describe, expect, it } from 'vitest';
import { SerialQueues } from '../../kernel/util/serial-queues.js';

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records starts and ends, and the most jobs of one key ever running together. */
class Probe {
  readonly log: string[] = [];
  private running = new Map<string, number>();
  maxRunning = 0;

  enter(key: string, name: string): void {
    const n = (this.running.get(key) ?? 0) + 1;
    this.running.set(key, n);
    this.maxRunning = Math.max(this.maxRunning, n);
    this.log.push(`${name}+`);
  }

  leave(key: string, name: string): void {
    this.running.set(key, (this.running.get(key) ?? 1) - 1);
    this.log.push(`${name}-`);
  }
}

describe('SerialQueues', () => {
  it('one key: jobs run one at a time in submission order; other keys run meanwhile', async () => {
    const errors: unknown[] = [];
    const q = new SerialQueues<string>((e) => errors.push(e));
    const p = new Probe();
    const job = (key: string, name: string, ticks: number) => async () => {
      p.enter(key, name);
      for (let i = 0; i < ticks; i++) await tick();
      p.leave(key, name);
    };
    q.run('a', job('a', 'a1', 3));
    q.run('a', job('a', 'a2', 1));
    q.run('b', job('b', 'b1', 1));
    q.run('a', () => {
      p.enter('a', 'a3');
      p.leave('a', 'a3');
    });
    expect(q.depth('a')).toBe(3);
    expect(q.depth('b')).toBe(1);
    for (let i = 0; i < 10; i++) await tick();
    expect(p.log.filter((l) => l.startsWith('a'))).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(p.log.indexOf('b1-')).toBeLessThan(p.log.indexOf('a1-')); // b did not wait for a
    expect(p.maxRunning).toBe(1);
    expect(q.idle('a') && q.idle('b')).toBe(true);
    expect(q.busyKeys).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a synchronous job that submits for its own key: the new job runs after it, not inside it', () => {
    const q = new SerialQueues<string>((e) => {
      throw e;
    });
    const p = new Probe();
    q.run('a', () => {
      p.enter('a', 'outer');
      q.run('a', () => {
        p.enter('a', 'inner');
        p.leave('a', 'inner');
      });
      p.leave('a', 'outer');
    });
    expect(p.log).toEqual(['outer+', 'outer-', 'inner+', 'inner-']);
    expect(p.maxRunning).toBe(1);
    expect(q.idle('a')).toBe(true);
  });

  it('an async job that submits for its own key before its first await: still one at a time, still in order', async () => {
    const q = new SerialQueues<string>((e) => {
      throw e;
    });
    const p = new Probe();
    q.run('a', async () => {
      p.enter('a', 'outer');
      // (the kernel's lock_request flushing a cached object queues terminate like this)
      q.run('a', async () => {
        p.enter('a', 'inner');
        await tick();
        p.leave('a', 'inner');
      });
      await tick();
      await tick();
      p.leave('a', 'outer');
    });
    q.run('a', async () => {
      p.enter('a', 'later');
      await tick();
      p.leave('a', 'later');
    });
    expect(q.depth('a')).toBe(3);
    for (let i = 0; i < 10; i++) await tick();
    expect(p.log).toEqual(['outer+', 'outer-', 'inner+', 'inner-', 'later+', 'later-']);
    expect(p.maxRunning).toBe(1);
    expect(q.idle('a')).toBe(true);
  });

  it('a failing job (thrown or rejected) is reported and the queue goes on', async () => {
    const errors: string[] = [];
    const q = new SerialQueues<number>((e) => errors.push((e as Error).message));
    const done: number[] = [];
    q.run(1, () => {
      throw new Error('sync');
    });
    q.run(1, async () => {
      await tick();
      throw new Error('async');
    });
    q.run(1, () => void done.push(3));
    for (let i = 0; i < 5; i++) await tick();
    expect(errors).toEqual(['sync', 'async']);
    expect(done).toEqual([3]);
    expect(q.idle(1)).toBe(true);
  });

  it('close: a running job goes on to its end; jobs queued behind it and jobs submitted later never run', async () => {
    const errors: unknown[] = [];
    const q = new SerialQueues<number>((e) => errors.push(e));
    const log: string[] = [];
    q.run(1, async () => {
      log.push('running+');
      await tick();
      log.push('running-');
    });
    q.run(1, () => void log.push('queued'));
    q.run(2, () => void log.push('other key'));
    q.close();
    q.run(1, () => void log.push('later'));
    q.run(3, () => void log.push('later, new key'));
    for (let i = 0; i < 5; i++) await tick();
    expect(log).toEqual(['running+', 'other key', 'running-']);
    expect(q.busyKeys).toBe(0);
    expect(errors).toEqual([]);
  });
});
