/**
 * `sabcache/code-cache`: V8 code cache data shared by every thread through a SharedCache
 * (docs/design.md §9).
 *
 * @module
 */
export { CodeCache, installCodeCache } from './code-cache.ts';
export type { CodeCacheOptions, CodeCacheOutcome, CompiledScript } from './code-cache.ts';
export { CodeCacheInstalledError } from '../errors.ts';
