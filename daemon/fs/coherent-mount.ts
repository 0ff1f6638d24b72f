/**
 * One mount among several of one postgres: store, kept coherent
 * (docs/coherence.md). It joins the store's mounts (stores/postgres-peers.ts),
 * gives each file's pager the gate of PagerCoherence (daemon/pager/coherence/),
 * makes inode numbers of its own class, and carries namespace changes both
 * ways: this mount's catalog flushes are announced, and the rows other
 * mounts announce are read into this catalog, the inodes and names in
 * memory following them.
 */
import { PagerCoherence, type CoherenceStatistics } from '../pager/index.js';
import { PEER_SLOTS, PostgresPeers } from '../../stores/index.js';
import type { Catalog } from './catalog.js';
import type { CatalogKey, DataStore, SharedCatalog } from './data-store.js';
import { FsError } from './errors.js';
import type { FileObject } from './file-object.js';
import type { Namespace } from './namespace.js';

/** Join the mounts of `data`'s store (a postgres: store, direct cache mode). */
export async function joinMounts(data: DataStore, config: { cacheMode: string; log?: (line: string) => void }): Promise<CoherentMount> {
  if (!data.shared) throw new FsError('EINVAL', `${data.name}: only a postgres: store can be shared by coherent mounts`);
  if (config.cacheMode !== 'direct') throw new FsError('EINVAL', "coherent mounts need --cache-mode direct (Linux's page cache would keep copies no pager can recall)");
  return CoherentMount.join(data.shared, config.log ?? ((line) => process.stderr.write(`machpager: ${line}\n`)));
}

export interface CoherentHost {
  readonly namespace: Namespace;
  readonly catalog: Catalog;
  readonly objects: ReadonlyMap<number, FileObject>;
  readonly pageSize: number;
  readonly log: (line: string) => void;
  readonly data: DataStore;
  destroyInodeData(ino: number): Promise<void>;
}

export class CoherentMount {
  private applying: Promise<void> = Promise.resolve();
  private host: CoherentHost | undefined;

  private constructor(
    readonly peers: PostgresPeers,
    readonly coherence: PagerCoherence,
    private readonly shared: SharedCatalog,
    private readonly log: (line: string) => void,
  ) {}

  static async join(shared: SharedCatalog, log: (line: string) => void): Promise<CoherentMount> {
    const peers = await PostgresPeers.join(shared.uri, { log });
    const mount = new CoherentMount(peers, new PagerCoherence(peers, (line) => log(line)), shared, log);
    shared.onFlushed((keys) => {
      mount.coherence.announceNames(keys).catch((err: unknown) => log(`coherence: announcing catalog changes: ${String(err)}`));
    });
    mount.coherence.onNames = (text) => mount.heard(text);
    return mount;
  }

  /** Other mounts were alive when this one joined: the store's recovery is not this mount's to run. */
  get othersAtJoin(): boolean {
    return this.peers.othersAtJoin > 0;
  }

  /** Whether inode `ino` is of this mount's class (made here, or by a mount that had this slot before). */
  ownsInode(ino: number): boolean {
    return ino % PEER_SLOTS === this.peers.slot;
  }

  /** The filesystem is ready: new inodes take this mount's numbers, and other mounts' changes apply to it. */
  attach(host: CoherentHost): void {
    this.host = host;
    host.catalog.inodeClass = { slot: this.peers.slot, of: PEER_SLOTS };
    // Rows committed between the catalog's load and this mount's LISTEN were announced to nobody here.
    this.heard(undefined);
  }

  /**
   * Recovery while other mounts serve the store: only page data of inodes of
   * this mount's class that the catalog does not name goes (made by a
   * mount that had this slot and died before its catalog reached the
   * database; a new inode here could take the number). The rest is left to
   * the last mount alone, or to fsck.
   */
  async recoverOwnClass(host: CoherentHost): Promise<void> {
    for (const ino of await host.data.inodesWithData()) {
      if (!this.ownsInode(ino) || host.catalog.get(ino)) continue;
      await host.destroyInodeData(ino).catch((err: unknown) => this.log(`removing the data of inode ${ino}, which no longer exists: ${String(err)}`));
    }
  }

  stats(): CoherenceStatistics & { mount_id: number; slot: number } {
    return { ...this.coherence.stats, mount_id: this.peers.id, slot: this.peers.slot };
  }

  /** Let the others know this mount is gone (they stop waiting for it at once). */
  leave(): Promise<void> {
    return this.peers.leave();
  }

  /** Wait for the catalog changes heard so far to be applied (tests, sync). */
  settled(): Promise<void> {
    return this.applying;
  }

  /** Read inode `ino`'s row from the database now (a read past the end this mount knows: another may have grown it). */
  refreshInode(ino: number): Promise<void> {
    const keys = [{ tbl: 'inode', key: JSON.stringify([ino]) }];
    const run = this.applying.then(() => this.shared.refresh(keys)).then((changed) => this.follow(changed));
    this.applying = run.catch((err: unknown) => this.log(`coherence: reading inode ${ino}: ${String(err)}`));
    return run;
  }

  private heard(text: string | undefined): void {
    let keys: CatalogKey[] | undefined;
    if (text !== undefined) {
      try {
        keys = JSON.parse(text) as CatalogKey[];
      } catch (err) {
        this.log(`coherence: catalog keys not understood (${String(err)}); reading the whole catalog`);
      }
    }
    // One after another: a later read of a row must not be overtaken by an earlier one.
    this.applying = this.applying
      .then(() => this.shared.refresh(keys))
      .then((changed) => this.follow(changed))
      .catch((err: unknown) => this.log(`coherence: reading other mounts' catalog changes: ${String(err)}`));
  }

  /** The inodes and names in memory follow the rows that changed. */
  private follow(changed: readonly CatalogKey[]): void {
    const host = this.host;
    if (!host) return;
    let names = false;
    for (const { tbl, key } of changed) {
      if (tbl === 'dirent') names = true;
      if (tbl !== 'inode') continue;
      const ino = (JSON.parse(key) as unknown[])[0];
      if (typeof ino !== 'number') continue;
      const was = host.namespace.refresh(ino);
      const object = host.objects.get(ino);
      // Cut short elsewhere: pages past the new end go from this cache (a later growth reads zeros there).
      if (was && object && was.inode.size < was.oldSize) {
        const end = Math.ceil(was.inode.size / host.pageSize) * host.pageSize;
        object.pager.flushSome(end, Math.ceil(was.oldSize / host.pageSize) * host.pageSize - end, false).catch((err: unknown) => this.log(`coherence: dropping pages of inode ${ino}: ${String(err)}`));
      }
    }
    if (names) host.namespace.forgetNames();
  }
}
