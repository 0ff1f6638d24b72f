/**
 * A pager library with libpager's API (pager.h), speaking the
 * memory-object protocol to the kernel over ports: the pager task and its
 * workers (pager_start_workers), pager_create and the verbs on a pager
 * (sync, flush, return, offer_page, change_attributes, shutdown,
 * get_error, memcpy), the callbacks a pager writer supplies, statistics
 * and errors. StorePager is those callbacks over a store (storeio's pager).
 * The pagemap, the write-behind and the message handlers stay inside.
 */
export { PagerRequests, type PagerRequestsOptions } from './requests.js';
export { Pager, type PagerOptions, type PagerState, type PagerStatistics } from './pager.js';
export type { PagerCallbacks, PageRead } from './callbacks.js';
export { PagerError, pagerErrno, isDamaged, type PagerErrno } from './errors.js';
export { pagerMemcpy, type VmMapper, type MappedWindow } from './pager-memcpy.js';
export { StorePager, type PageRoom, type StorePagerOptions } from './store-pager.js';
export { PagerCoherence, emptyCoherenceStatistics, type CoherenceStatistics } from './coherence/coherence.js';
export type { PagerGate } from './coherence/gate.js';
export type { PeerLink } from './coherence/peer-link.js';
