/**
 * A mount's claim on a postgres: database, held for the mount's life: a
 * session-level advisory lock on a connection of its own. A mount without
 * --coherent holds it alone (two such mounts, from two machines or two
 * spellings of one URI, would each cache pages and catalog rows and write
 * them back over the other's: the local lock file cannot see them);
 * coherent mounts share it, so none of them mounts beside a lone one. The
 * server lets go when the connection ends, also when the daemon is killed.
 * If the connection is lost (the server went away), the claim is taken
 * again when the server is back.
 */
import pg from 'pg';
import { POSTGRES_CONNECT_TIMEOUT_MS } from './postgres-connection.js';
import { StoreError } from './store.js';

/** The advisory lock's two keys: 'mach', 'page'. */
const CLAIM_KEYS = [0x6d616368, 0x70616765] as const;
const RETAKE_MS = 1000;

export type ClaimMode = 'alone' | 'shared';

export interface DatabaseClaim {
  readonly uri: string;
  readonly mode: ClaimMode;
  /** Whether the claim is held now (false while the server is away). */
  held(): boolean;
  release(): Promise<void>;
}

async function tryClaim(uri: string, mode: ClaimMode): Promise<pg.Client | undefined> {
  const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS });
  // Errors before the listener below is set are the connect's or the query's own, thrown to the caller.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const fn = mode === 'shared' ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
    const got = await client.query<{ ok: boolean }>(`SELECT ${fn}($1, $2) AS ok`, [...CLAIM_KEYS]);
    if (got.rows[0]?.ok === true) return client;
    await client.end();
    return undefined;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** Claim the database at `uri`; EBUSY when another mount holds it in a way that excludes this one. */
export async function claimPostgres(uri: string, mode: ClaimMode, log: (line: string) => void): Promise<DatabaseClaim> {
  let client: pg.Client | undefined;
  try {
    client = await tryClaim(uri, mode);
  } catch (err) {
    throw new StoreError('EIO', `cannot reach ${uri} to claim it: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (client === undefined) {
    throw new StoreError(
      'EBUSY',
      mode === 'alone'
        ? 'in use by another machpager mount (another machine, another spelling of the URI, or --coherent mounts); mount every one with --coherent to share it'
        : 'in use by a machpager mount without --coherent; unmount it first, or mount every one with --coherent',
    );
  }
  let released = false;
  let retry: NodeJS.Timeout | undefined;
  let toldBusy = false;
  const watch = (c: pg.Client): void => {
    c.removeAllListeners('error');
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
  };
  const lost = (c: pg.Client, err: Error): void => {
    if (released || client !== c) return;
    client = undefined;
    log(`the claim on ${uri} went with its connection (${err.message}); taking it again when the server is back`);
    schedule();
  };
  const schedule = (): void => {
    retry = setTimeout(() => void retake(), RETAKE_MS);
    retry.unref();
  };
  const retake = async (): Promise<void> => {
    if (released) return;
    let got: pg.Client | undefined;
    try {
      got = await tryClaim(uri, mode);
    } catch {
      // The server is still away: try again.
      schedule();
      return;
    }
    if (released) {
      await got?.end().catch(() => undefined);
      return;
    }
    if (got === undefined) {
      if (!toldBusy) log(`the claim on ${uri} is held by another mount now: this mount's write-backs may meet its changes; unmount one of them`);
      toldBusy = true;
      schedule();
      return;
    }
    toldBusy = false;
    client = got;
    watch(got);
    log(`the claim on ${uri} is held again`);
  };
  watch(client);
  return {
    uri,
    mode,
    held: () => client !== undefined,
    release: async () => {
      if (released) return;
      released = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
