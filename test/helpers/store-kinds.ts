/**
 * The stores an integration suite runs against: the two of STORE_KINDS and a
 * postgres: store in a throwaway cluster of the test file's own (started
 * before its tests, removed after them).
 */
import { STORE_KINDS } from './mounted.js';
import { usePostgresCluster } from './postgres-cluster.js';

export interface StoreKind {
  kind: string;
  /** The store of a suite whose scratch directory is `dir` (for postgres:, a new database in the cluster). */
  store: (dir: string) => Promise<string>;
}

/** Registers the cluster's hooks (call it at the top of the file). */
export function storeKindsWithPostgres(label: string): StoreKind[] {
  const cluster = usePostgresCluster(label);
  let databases = 0;
  return [
    ...STORE_KINDS.map(({ kind, store }) => ({ kind, store: (dir: string) => Promise.resolve(store(dir)) })),
    {
      kind: 'postgres',
      store: async () => {
        const name = `${label}_${++databases}`;
        await cluster().createDatabase(name);
        return cluster().uri(name);
      },
    },
  ];
}
