/**
 * A pager library with libpager's API (pager.h), speaking the
 * memory-object protocol to the kernel over ports.
 */
export { PagerRequests, type PagerRequestsOptions } from './requests.js';
export { Pager, type PagerOptions, type PagerState, type PagerStatistics } from './pager.js';
export type { PagerCallbacks, PageRead } from './callbacks.js';
export { PagerError, pagerErrno, isDamaged, type PagerErrno } from './errors.js';
export { pagerMemcpy, type VmMapper, type MappedWindow } from './pager-memcpy.js';
export * from './pagemap.js';
export { StorePager, type PageRoom, type StorePagerOptions } from './store-pager.js';
