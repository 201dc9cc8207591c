/**
 * sabcache: a cache in one SharedArrayBuffer, shared by every thread of a Node process.
 *
 * @module
 */
export { SharedCache } from './shared-cache.ts';
export type { CacheEntry, CacheStats, ScanOptions, ScanPage, SetOptions, SharedCacheHandle, ThreadStats } from './shared-cache.ts';
export type { SharedCacheOptions } from './options.ts';
export type { RepairReport } from './table/repair.ts';
export * from './errors.ts';
export { parseBytes } from './util/parse-bytes.ts';
