/**
 * The throwaway PostgreSQL cluster of bench/postgres-cluster.ts for a test
 * file: started before its tests, stopped and removed after them (also when
 * they fail), with a way to run SQL in it as the superuser. Shared by every
 * test of the postgres: store.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startPostgresCluster, type PostgresCluster as Cluster } from '../../bench/postgres-cluster.js';

export interface PostgresCluster extends Cluster {
  /** Run one statement in `db` (as the superuser). */
  sql(db: string, text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/** Registers the hooks (call it at the top of the file); the function it returns gives the cluster. */
export function usePostgresCluster(label?: string): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    const started = await startPostgresCluster(label);
    cluster = {
      ...started,
      async sql(db, text, values = []) {
        const client = new pg.Client({ host: started.dir, user: 'postgres', database: db });
        await client.connect();
        try {
          return await client.query(text, values);
        } finally {
          await client.end();
        }
      },
    };
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  }, 120_000);
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster did not start');
    return cluster;
  };
}
