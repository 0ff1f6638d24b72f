/**
 * PagerCoherence over an in-memory channel with one total order (as
 * PostgreSQL's NOTIFY gives): who asks whom, who goes first when two want
 * overlapping pages, and how a dead mount stops being waited for. The
 * recalls themselves (lock_request on a real kernel) are tested on real
 * mounts (test/mount/coherence*.test.ts); here no pager is attached, so a
 * mount acknowledges as soon as its turn comes.
 */
import { describe, expect, it } from 'vitest';
import { PagerCoherence, type PeerLink } from '../../daemon/pager/index.js';

/** A broadcast bus: every message to every mount, in send order, each delivery a later macrotask. */
class Bus {
  readonly links: FakeLink[] = [];
  sent: { from: number; payload: string }[] = [];
  link(id: number): FakeLink {
    const link = new FakeLink(this, id);
    this.links.push(link);
    return link;
  }
  deliver(from: number, payload: string): void {
    this.sent.push({ from, payload });
    setTimeout(() => {
      for (const link of this.links) if (!link.dead) for (const h of link.handlers) h(payload);
    }, 0);
  }
}

class FakeLink implements PeerLink {
  handlers: ((payload: string) => void)[] = [];
  liveHandlers: ((live: ReadonlySet<number>) => void)[] = [];
  live: ReadonlySet<number> = new Set();
  dead = false;
  constructor(
    private readonly bus: Bus,
    readonly id: number,
  ) {}
  send(payload: string): Promise<void> {
    if (this.dead) return Promise.reject(new Error('dead'));
    this.bus.deliver(this.id, payload);
    return Promise.resolve();
  }
  onMessage(handler: (payload: string) => void): void {
    this.handlers.push(handler);
  }
  onLiveChange(handler: (live: ReadonlySet<number>) => void): void {
    this.liveHandlers.push(handler);
  }
  noteAlive(id: number): void {
    this.setLive(new Set([...this.live, id]));
  }
  setLive(live: ReadonlySet<number>): void {
    this.live = live;
    for (const h of this.liveHandlers) h(live);
  }
}

function pair(): { bus: Bus; a: PagerCoherence; b: PagerCoherence; la: FakeLink; lb: FakeLink } {
  const bus = new Bus();
  const la = bus.link(1);
  const lb = bus.link(2);
  la.setLive(new Set([2]));
  lb.setLive(new Set([1]));
  const log = (): void => undefined;
  return { bus, a: new PagerCoherence(la, log), b: new PagerCoherence(lb, log), la, lb };
}

/** The kind of a message as sent. */
const kind = (m: { payload: string }): string => (JSON.parse(m.payload) as { k: string }).k;

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('PagerCoherence', () => {
  it('alone, a fault asks no one', async () => {
    const bus = new Bus();
    const alone = new PagerCoherence(bus.link(1), () => undefined);
    const release = await alone.gateFor(7).acquire(0, 4, true);
    release();
    expect(bus.sent).toEqual([]);
  });

  it('a write asks the other mount (invalidate); a later read there recalls it first, then reads with no message', async () => {
    const { bus, a, b } = pair();
    (await a.gateFor(7).acquire(3, 4, true))();
    expect(bus.sent.map(kind)).toEqual(['i', 'a']);
    expect(b.stats.invalidations_received).toBe(1);
    // B never asked about inode 7: its first read recalls the whole file from A.
    (await b.gateFor(7).acquire(0, 1, false))();
    expect(JSON.parse(bus.sent[2]?.payload ?? '{}')).toMatchObject({ k: 'r', a: 0 });
    const sent = bus.sent.length;
    // Now B knows who may write what: a read of pages A did not claim since asks no one.
    (await b.gateFor(7).acquire(0, 1, false))();
    expect(bus.sent.length).toBe(sent);
    // A writes page 3 again: B must recall it before reading it.
    (await a.gateFor(7).acquire(3, 4, true))();
    (await b.gateFor(7).acquire(3, 4, false))();
    expect(bus.sent.slice(sent).map(kind)).toEqual(['i', 'a', 'r', 'a']);
    expect(a.stats.waits).toBeGreaterThan(0);
  });

  it('two writers of one page: the first in the channel order goes first, the other waits for its release', async () => {
    const { a, b } = pair();
    const order: string[] = [];
    const ga = a.gateFor(7).acquire(0, 1, true).then((release) => {
      order.push('A granted');
      return release;
    });
    const gb = b.gateFor(7).acquire(0, 1, true).then((release) => {
      order.push('B granted');
      return release;
    });
    const releaseA = await ga;
    await tick();
    await tick();
    // B's ack from A is held back until A has answered its kernel.
    expect(order).toEqual(['A granted']);
    expect(a.stats.deferred).toBe(1);
    releaseA();
    (await gb)();
    expect(order).toEqual(['A granted', 'B granted']);
  });

  it('writers of different pages do not wait for each other', async () => {
    const { a, b } = pair();
    const [ra, rb] = await Promise.all([a.gateFor(7).acquire(0, 1, true), b.gateFor(7).acquire(1, 2, true)]);
    ra();
    rb();
    expect(a.stats.deferred + b.stats.deferred).toBe(0);
  });

  it('a mount that dies is not waited for once it is declared dead', async () => {
    const { a, la, lb } = pair();
    lb.dead = true;
    const granted = a.gateFor(7).acquire(0, 1, true);
    let done = false;
    void granted.then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    la.setLive(new Set());
    (await granted)();
    expect(a.stats.acks_abandoned).toBe(1);
  });

  it('namespace changes go out with their keys and come in to onNames', async () => {
    const { a, b } = pair();
    const heard: (string | undefined)[] = [];
    b.onNames = (keys) => heard.push(keys);
    await a.announceNames([{ tbl: 'dirent', key: '[1,"x"]' }]);
    await tick();
    expect(heard).toEqual([JSON.stringify([{ tbl: 'dirent', key: '[1,"x"]' }])]);
    expect(a.stats.names_sent).toBe(1);
    expect(b.stats.names_received).toBe(1);
  });
});
