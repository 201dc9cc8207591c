/**
 * What a command tells about an entry: the result object a front end owns and passes to
 * reads and writes ({@link EntryResult}, filled on a hit or a stored write, as lru-cache's
 * `status`), and what a front end derives from it (version text, TTL, type name).
 *
 * @module
 */
import { EntryResult } from '../table/entry-result.ts';
import { WrongTypeError } from '../errors.ts';
import { TYPE_BYTES, TYPE_HASH, TYPE_INTEGER, TYPE_LIST, TYPE_STRING } from '../table/layout.ts';
import { remainingTtlSeconds } from '../table/ttl.ts';
import type { CommandContext } from './context.ts';
import { formatVersion } from './version-text.ts';

export { EntryResult };
export { MAX_TTL_SECONDS, remainingTtlMs, remainingTtlSeconds } from '../table/ttl.ts';

/** Value type: stored as bytes (a Uint8Array, an HTTP body). */
export const VALUE_BYTES = TYPE_BYTES;
/** Value type: stored from a string (UTF-8). */
export const VALUE_STRING = TYPE_STRING;
/** Value type: an integer written by incr/decr (decimal text). */
export const VALUE_INTEGER = TYPE_INTEGER;

/** Value type: a list (LPUSH, RPUSH; collection-value.ts). */
export const VALUE_LIST = TYPE_LIST;
/** Value type: a hash (HSET; collection-value.ts). */
export const VALUE_HASH = TYPE_HASH;

/** A value type's name, as the APIs give it. */
export type ValueTypeName = 'bytes' | 'string' | 'integer' | 'list' | 'hash';

const TYPE_NAMES: readonly ValueTypeName[] = ['bytes', 'string', 'integer', 'list', 'hash'];

/** The name of `result`'s value type. */
export function entryTypeName(result: EntryResult): ValueTypeName {
  return TYPE_NAMES[result.type] ?? 'bytes';
}

/**
 * Refuses a string operation on an entry that holds a collection (Redis WRONGTYPE).
 * @throws WrongTypeError (`SABCACHE_ERR_WRONG_TYPE`) when `result` (a hit) is a list or hash.
 */
export function expectString(result: EntryResult): void {
  if (result.type >= TYPE_LIST) throw new WrongTypeError(entryTypeName(result));
}

/** The cache's version epoch: with `result.version` (the counter), an entry's version. */
export function versionEpoch(cx: CommandContext): number {
  return cx.table.versionEpoch;
}

/** `result`'s version as text (version-text.ts). */
export function entryVersion(cx: CommandContext, result: EntryResult): string {
  return formatVersion(cx.table.versionEpoch, result.version);
}

/** Whole seconds until `result`'s entry expires (Redis TTL), -1 if it never does; reads the clock only then. */
export function entryTtlSeconds(cx: CommandContext, result: EntryResult): number {
  return remainingTtlSeconds(result.expireAt, result.expireCode, cx.table.now);
}
