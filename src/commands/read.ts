/**
 * Read commands (docs/design.md §7): get (string, bytes, into a caller's buffer, with the
 * entry's version, TTL and type), has, ttl, getMany. Each is one function with explicit
 * arguments; the entry's details go into an {@link EntryResult} the caller owns.
 *
 * The value reads refuse a key that holds a list or hash: WrongTypeError
 * (`SABCACHE_ERR_WRONG_TYPE`), as Redis's GET answers WRONGTYPE.
 *
 * Key errors, for every command that takes a key: BadKeyError (`SABCACHE_ERR_BAD_KEY`) for
 * an empty key or a string that is not well-formed UTF-16, KeyTooLargeError
 * (`SABCACHE_ERR_KEY_TOO_LARGE`) past `maxKeyBytes`.
 *
 * @module
 */
import type { CommandContext } from './context.ts';
import { EntryResult, entryTtlSeconds, entryTypeName, entryVersion, expectString, type ValueTypeName } from './entry.ts';

/** One entry, as {@link getEntry} returns it. */
export interface CacheEntry {
  /** The value's bytes (a copy this thread owns). */
  value: Uint8Array;
  /** The entry's version: pass it as `ifVersion` to compare-and-swap. */
  version: string;
  /** Whole seconds until it expires (as Redis TTL: N right after `ttlSeconds: N`), or -1 if it never does. */
  ttlSeconds: number;
  /** How it was stored: `bytes`, `string` or `integer` (by incr/decr); never a collection (refused). */
  type: ValueTypeName;
}

/** The value of `key` decoded as UTF-8, or undefined when absent or expired; fills `result` on a hit. */
export function get(cx: CommandContext, key: string | Uint8Array, result: EntryResult = cx.found): string | undefined {
  const value = cx.table.getString(key, result);
  if (value !== undefined) expectString(result);
  return value;
}

/**
 * The value of `key` as a Uint8Array this thread owns (a copy; small values are views into
 * a per-thread slab), or undefined; fills `result` on a hit.
 */
export function getBytes(cx: CommandContext, key: string | Uint8Array, result: EntryResult = cx.found): Uint8Array | undefined {
  const value = cx.table.getBytes(key, result);
  if (value !== undefined) expectString(result);
  return value;
}

/** Whether `key` is present and not expired; fills `result` when it is. */
export function has(cx: CommandContext, key: string | Uint8Array, result?: EntryResult): boolean {
  return cx.table.has(key, result);
}

/** Whole seconds until `key` expires, -1 if it never does, -2 if it is absent (Redis TTL). */
export function ttl(cx: CommandContext, key: string | Uint8Array): number {
  return cx.table.ttl(key);
}

const entryScratch = new EntryResult();

/** The value of `key` with its version, TTL and type, or undefined when absent or expired. */
export function getEntry(cx: CommandContext, key: string | Uint8Array): CacheEntry | undefined {
  const r = entryScratch;
  const value = cx.table.getBytes(key, r);
  if (value === undefined) return undefined;
  expectString(r);
  return { value, version: entryVersion(cx, r), ttlSeconds: entryTtlSeconds(cx, r), type: entryTypeName(r) };
}

/**
 * Copies the value of `key` into `dest` from byte `at`, if it fits there, and fills `result`.
 * Returns the value's length on a hit (when it is more than `dest.length - at`, nothing was
 * copied: call again with more room), or -1 on a miss. Allocates nothing.
 */
export function getInto(cx: CommandContext, key: string | Uint8Array, dest: Uint8Array, at: number, result: EntryResult): number {
  cx.table.codec.encode(key);
  const n = cx.table.readEncodedInto(dest, at, result);
  if (n >= 0) expectString(result);
  return n;
}

/**
 * As {@link getInto}, for the key that is `len` bytes of `src` from `start` (a key inside a
 * received frame, not copied out).
 */
export function getSliceInto(cx: CommandContext, src: Uint8Array, start: number, len: number, dest: Uint8Array, at: number, result: EntryResult, counted = true): number {
  cx.table.codec.encodeSlice(src, start, len);
  const n = cx.table.readEncodedInto(dest, at, result, counted);
  if (n >= 0) expectString(result);
  return n;
}

/** The values of `keys` decoded as UTF-8, undefined where absent; each read on its own. */
export function getMany(cx: CommandContext, keys: readonly (string | Uint8Array)[]): (string | undefined)[] {
  return keys.map((k) => get(cx, k));
}

/** The type of `key`'s value (Redis TYPE): its {@link ValueTypeName}, or undefined when absent. */
export function typeOf(cx: CommandContext, key: string | Uint8Array): ValueTypeName | undefined {
  return cx.table.has(key, cx.found) ? entryTypeName(cx.found) : undefined;
}
