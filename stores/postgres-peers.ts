/**
 * The mounts of one PostgreSQL store, and a way for their pagers to talk:
 * a table of mounts (id, slot, heartbeat) and one LISTEN/NOTIFY channel.
 *
 * Why NOTIFY: every listener of a channel gets its notifications in one
 * order, the order their transactions committed, its own included. The
 * coherence layer (daemon/pager/coherence/) rests on that total order to
 * decide which of two overlapping requests goes first, without a lock
 * server. Each mount has its own connection for LISTEN (a pooled one may
 * be handed to someone else); NOTIFY goes through the pool.
 *
 * Liveness: each mount sets its heartbeat (the server's clock, so the
 * machines' clocks do not matter) every `heartbeatMs`; a mount whose
 * heartbeat is older than `deadAfterMs` is dead: its row is removed by the
 * first peer that sees it, and nobody waits for it any longer. Slots
 * (1..SLOTS-1, unique among the rows) give each mount its own inode
 * numbers (ino % SLOTS = slot), so two mounts never make the same inode.
 *
 * This needs PostgreSQL itself (LISTEN/NOTIFY); CockroachDB and YugabyteDB
 * have neither, and a pager-to-pager socket would take its place there.
 */
import pg from 'pg';
import { POSTGRES_CONNECT_TIMEOUT_MS } from './postgres-connection.js';
import { StoreError } from './store.js';

export const PEER_CHANNEL = 'machpager_coherence';
/** Inode-number classes: a mount makes inodes whose number is its slot modulo this. */
export const PEER_SLOTS = 64;

export interface PeersOptions {
  heartbeatMs?: number;
  deadAfterMs?: number;
  log?: (line: string) => void;
}

const MOUNT_TABLE = `CREATE TABLE IF NOT EXISTS machpager_mount (
  id BIGSERIAL PRIMARY KEY, slot INTEGER NOT NULL UNIQUE, host TEXT NOT NULL, pid INTEGER NOT NULL,
  heartbeat TIMESTAMPTZ NOT NULL DEFAULT now())`;

export class PostgresPeers {
  private listener: pg.Client | undefined;
  private readonly pool: pg.Pool;
  private timer: NodeJS.Timeout | undefined;
  private livePeers = new Set<number>();
  private handlers: ((payload: string) => void)[] = [];
  private liveHandlers: ((live: ReadonlySet<number>) => void)[] = [];
  private closed = false;
  private beating = false;
  private readonly heartbeatMs: number;
  private readonly deadAfterMs: number;
  private readonly log: (line: string) => void;
  /** Mounts found dead since this one started (their rows removed). */
  deadPeers = 0;

  private constructor(
    readonly uri: string,
    readonly id: number,
    readonly slot: number,
    /** Other mounts were alive when this one joined (recovery of the store is theirs to leave alone). */
    readonly othersAtJoin: number,
    pool: pg.Pool,
    options: PeersOptions,
  ) {
    this.pool = pool;
    this.heartbeatMs = options.heartbeatMs ?? 500;
    this.deadAfterMs = options.deadAfterMs ?? 3000;
    this.log = options.log ?? ((line) => process.stderr.write(`machpager: ${line}\n`));
  }

  /** Register this mount, LISTEN, and start the heartbeat. */
  static async join(uri: string, options: PeersOptions = {}): Promise<PostgresPeers> {
    const pool = new pg.Pool({ connectionString: uri, max: 2, connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS, query_timeout: 20000, idleTimeoutMillis: 10000 });
    pool.on('error', (err) => (options.log ?? ((l: string) => process.stderr.write(`machpager: ${l}\n`)))(`coherence connection: ${err.message}`));
    try {
      const deadAfter = options.deadAfterMs ?? 3000;
      const { id, slot, others } = await registerMount(pool, deadAfter);
      const peers = new PostgresPeers(uri, id, slot, others, pool, options);
      await peers.listen();
      await peers.beat();
      peers.timer = setInterval(() => void peers.beat(), peers.heartbeatMs);
      peers.timer.unref();
      return peers;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err instanceof StoreError ? err : new StoreError('EIO', `joining the mounts of ${uri}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** The other mounts alive now (by the last heartbeat scan). */
  get live(): ReadonlySet<number> {
    return this.livePeers;
  }

  noteAlive(id: number): void {
    if (this.livePeers.has(id) || id === this.id) return;
    this.livePeers = new Set([...this.livePeers, id]);
    for (const handler of this.liveHandlers) handler(this.livePeers);
  }

  onMessage(handler: (payload: string) => void): void {
    this.handlers.push(handler);
  }

  /** Called when a peer joins or dies. */
  onLiveChange(handler: (live: ReadonlySet<number>) => void): void {
    this.liveHandlers.push(handler);
  }

  /** NOTIFY every mount (this one too) with `payload` (at most 7999 bytes). */
  async send(payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [PEER_CHANNEL, payload]);
  }

  /** Leave: the row goes, the others stop waiting for this mount at once. */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.pool.query('DELETE FROM machpager_mount WHERE id = $1', [this.id]);
    } finally {
      await this.listener?.end().catch(() => undefined);
      await this.pool.end().catch(() => undefined);
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.uri, connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS });
    client.on('error', (err) => this.log(`coherence listener of ${this.uri}: ${err.message}; listening again`));
    client.on('end', () => {
      if (!this.closed) setTimeout(() => void this.relisten(), 500).unref();
    });
    client.on('notification', (n) => {
      if (n.channel !== PEER_CHANNEL || n.payload === undefined) return;
      for (const handler of this.handlers) handler(n.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${PEER_CHANNEL}`);
    this.listener = client;
  }

  private async relisten(): Promise<void> {
    if (this.closed) return;
    try {
      await this.listen();
    } catch (err) {
      this.log(`coherence listener of ${this.uri}: ${err instanceof Error ? err.message : String(err)}; trying again`);
      setTimeout(() => void this.relisten(), 1000).unref();
    }
  }

  /** Heartbeat, and the live set: rows of the others beating within deadAfterMs; older rows are removed. */
  private async beat(): Promise<void> {
    if (this.beating || this.closed) return;
    this.beating = true;
    try {
      const mine = await this.pool.query('UPDATE machpager_mount SET heartbeat = now() WHERE id = $1', [this.id]);
      if (mine.rowCount === 0) this.log(`this mount (id ${this.id}) was declared dead by another: its cached pages may be stale; remount it`);
      const dead = await this.pool.query<{ id: string }>("DELETE FROM machpager_mount WHERE heartbeat < now() - $1 * interval '1 millisecond' RETURNING id", [this.deadAfterMs]);
      for (const row of dead.rows) this.log(`mount ${row.id} of ${this.uri} stopped beating for ${this.deadAfterMs} ms: declared dead`);
      this.deadPeers += dead.rows.length;
      const rows = await this.pool.query<{ id: string }>('SELECT id FROM machpager_mount WHERE id <> $1', [this.id]);
      const live = new Set(rows.rows.map((r) => Number(r.id)));
      const changed = live.size !== this.livePeers.size || [...live].some((id) => !this.livePeers.has(id));
      this.livePeers = live;
      if (changed) for (const handler of this.liveHandlers) handler(live);
    } catch (err) {
      this.log(`coherence heartbeat to ${this.uri}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.beating = false;
    }
  }
}

/** A new row in machpager_mount with a free slot (dead rows removed first); how many others are alive. */
async function registerMount(pool: pg.Pool, deadAfterMs: number): Promise<{ id: number; slot: number; others: number }> {
  const client = await pool.connect();
  try {
    await client.query(MOUNT_TABLE);
    await client.query('BEGIN');
    try {
      await client.query('LOCK TABLE machpager_mount IN EXCLUSIVE MODE');
      await client.query("DELETE FROM machpager_mount WHERE heartbeat < now() - $1 * interval '1 millisecond'", [deadAfterMs]);
      const used = new Set((await client.query<{ slot: number }>('SELECT slot FROM machpager_mount')).rows.map((r) => r.slot));
      let slot = 1;
      while (used.has(slot)) slot++;
      if (slot >= PEER_SLOTS) throw new StoreError('EBUSY', `${PEER_SLOTS - 1} mounts of this store are alive already`);
      const { hostname } = await import('node:os');
      const r = await client.query<{ id: string }>('INSERT INTO machpager_mount (slot, host, pid) VALUES ($1, $2, $3) RETURNING id', [slot, hostname(), process.pid]);
      await client.query('COMMIT');
      return { id: Number(r.rows[0]?.id), slot, others: used.size };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}
