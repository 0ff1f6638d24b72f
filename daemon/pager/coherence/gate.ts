/**
 * What a pager asks before it answers its kernel, when other mounts share
 * its store: the pages of a data_request or data_unlock may be held by
 * another mount's kernel. The gate recalls them (PagerCoherence) and says
 * when the pager may go on; the pager then calls the function it got once
 * its answer (data_supply, the unlock's lock_request) is sent.
 */
export interface PagerGate {
  /** Pages [first, end) are wanted here, for writing or for reading; rejects (EIO) if the other mounts cannot be asked. */
  acquire(first: number, end: number, write: boolean): Promise<() => void>;
}
