/**
 * Write commands (docs/design.md §7): set with conditions (CAS, NX, XX) and TTL, setMany,
 * incr/decr, expire/persist, delete, flush. Each is one function with explicit arguments;
 * a stored write's new version goes into an {@link EntryResult} the caller owns.
 *
 * Errors: the key errors of read.ts; BadValueError (`SABCACHE_ERR_BAD_VALUE`) for a value
 * that is neither a string nor a Uint8Array; ValueTooLargeError (`SABCACHE_ERR_VALUE_TOO_LARGE`)
 * past `maxValueBytes`; BadTtlError (`SABCACHE_ERR_BAD_TTL`) for a TTL that is not a whole
 * number of seconds from 0 to MAX_TTL_SECONDS; OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`)
 * only when every segment is some thread's active segment.
 *
 * @module
 */
import { BadOptionError, BadTtlError } from '../errors.ts';
import { COND_ALWAYS, COND_IF_ABSENT, COND_IF_PRESENT, COND_IF_VERSION } from '../table/table.ts';
import { MAX_TTL_SECONDS } from '../table/ttl.ts';
import { refuseUnknownOptions } from '../util/known-options.ts';
import type { CommandContext } from './context.ts';
import { EntryResult, entryVersion } from './entry.ts';
import { parseVersion } from './version-text.ts';

/** Options of a conditional {@link setWith}. At most one of the conditions may be given. */
export interface SetOptions {
  /** Time to live, in whole seconds; 0 or absent = no expiry. */
  ttlSeconds?: number;
  /** Store only if the key's current version is this one (compare-and-swap; HTTP `If-Match`). */
  ifVersion?: string;
  /** Store only if the key is absent or expired (Redis NX; HTTP `If-None-Match: *`). */
  ifAbsent?: boolean;
  /** Store only if the key is present (Redis XX). */
  ifPresent?: boolean;
}

const SET_OPTION_NAMES: readonly (keyof SetOptions)[] = ['ttlSeconds', 'ifVersion', 'ifAbsent', 'ifPresent'];
const ENTRY_NAMES = ['key', 'value', 'ttlSeconds'] as const;

/**
 * Stores `value` under `key` (a string as its UTF-8 bytes), replacing any previous value,
 * expiring after `ttlSeconds` (0: never; a fraction is kept to the millisecond). Fills `result.version`. When memory is full, the
 * oldest data is evicted to make room.
 */
export function set(cx: CommandContext, key: string | Uint8Array, value: string | Uint8Array, ttlSeconds = 0, result?: EntryResult): void {
  cx.table.set(key, value, ttlSeconds, COND_ALWAYS, 0, 0, result);
}

/**
 * As {@link set}, for the key that is `len` bytes of `src` from `start` (a key inside a
 * received frame, not copied out).
 */
export function setSlice(cx: CommandContext, src: Uint8Array, start: number, len: number, value: string | Uint8Array, ttlSeconds: number, result: EntryResult): void {
  cx.table.codec.encodeSlice(src, start, len);
  cx.table.setEncoded(value, ttlSeconds, COND_ALWAYS, 0, 0, result);
}

/**
 * Stores `value` under `key` unless a condition in `options` says otherwise, decided
 * atomically under the key's bucket lock. Returns whether it stored; then `result.version`
 * is the new version. A malformed `ifVersion` matches nothing.
 * @throws BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for an option name it does not know or
 *   two conditions; the errors of {@link set}.
 */
export function setWith(cx: CommandContext, key: string | Uint8Array, value: string | Uint8Array, options: SetOptions, result?: EntryResult): boolean {
  refuseUnknownOptions('set', options, SET_OPTION_NAMES);
  const { ttlSeconds = 0, ifVersion, ifAbsent, ifPresent } = options;
  let cond = COND_ALWAYS;
  if (ifVersion !== undefined) cond = COND_IF_VERSION;
  if (ifAbsent) cond = cond === COND_ALWAYS ? COND_IF_ABSENT : -1;
  if (ifPresent) cond = cond === COND_ALWAYS ? COND_IF_PRESENT : -1;
  if (cond < 0) throw new BadOptionError('ifVersion/ifAbsent/ifPresent', 'give at most one condition');
  const version = cx.versionScratch;
  if (cond === COND_IF_VERSION && !parseVersion(String(ifVersion), version)) {
    cx.table.codec.encode(key); // a malformed version matches nothing, but the key is still checked
    return false;
  }
  return cx.table.set(key, value, ttlSeconds, cond, version[0], version[1], result);
}

/**
 * Stores each entry as {@link set} would, one after the other (each atomic on its own, not
 * all together). Returns the new versions (text).
 * @throws the errors of {@link set}; BadOptionError (`SABCACHE_ERR_BAD_OPTION`) for an entry
 *   field other than `key`, `value` and `ttlSeconds`.
 */
export function setMany(cx: CommandContext, entries: readonly { key: string | Uint8Array; value: string | Uint8Array; ttlSeconds?: number }[]): string[] {
  const r = new EntryResult();
  return entries.map((e) => {
    refuseUnknownOptions('setMany entry', e, ENTRY_NAMES);
    cx.table.set(e.key, e.value, e.ttlSeconds ?? 0, COND_ALWAYS, 0, 0, r);
    return entryVersion(cx, r);
  });
}

/**
 * Adds `by` to the 64-bit signed integer under `key` (absent counts as 0) and returns the
 * result, atomically, keeping the key's TTL (Redis INCRBY): a number when it is a safe
 * integer, else a bigint. Fills `result.version`.
 * @throws NotIntegerError (`SABCACHE_ERR_NOT_INTEGER`) if the value is not a decimal int64;
 *   OverflowError (`SABCACHE_ERR_OVERFLOW`) if the result leaves the int64 range;
 *   BadValueError (`SABCACHE_ERR_BAD_VALUE`) for a bad `by`.
 */
export function incr(cx: CommandContext, key: string | Uint8Array, by: number | bigint = 1, result?: EntryResult): number | bigint {
  return cx.table.incr(key, by, result);
}

/**
 * As {@link incr}, for the key that is `len` bytes of `src` from `start` (a key inside a
 * received frame, not copied out).
 */
export function incrSlice(cx: CommandContext, src: Uint8Array, start: number, len: number, by: number | bigint, result: EntryResult): number | bigint {
  cx.table.codec.encodeSlice(src, start, len);
  return cx.table.incrEncoded(by, result);
}

/** Subtracts `by` (default 1); as {@link incr}. */
export function decr(cx: CommandContext, key: string | Uint8Array, by: number | bigint = 1, result?: EntryResult): number | bigint {
  return cx.table.incr(key, -by as number | bigint, result);
}

/**
 * Gives a present key a new TTL, in seconds (a fraction is kept to the millisecond); 0
 * deletes it (as Redis EXPIRE). The value and its version stay. Returns whether the key was
 * present.
 * @throws BadTtlError (`SABCACHE_ERR_BAD_TTL`).
 */
export function expire(cx: CommandContext, key: string | Uint8Array, ttlSeconds: number): boolean {
  if (ttlSeconds === 0) return cx.table.delete(key);
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new BadTtlError(`ttlSeconds must be a number from 0 to ${MAX_TTL_SECONDS}, got ${ttlSeconds}`);
  }
  return cx.table.setTtl(key, ttlSeconds);
}

/** Removes a present key's TTL (it never expires). Returns whether the key was present. */
export function persist(cx: CommandContext, key: string | Uint8Array): boolean {
  return cx.table.setTtl(key, 0);
}

/** Removes `key`. Returns true if a live (unexpired) entry was removed. */
export function del(cx: CommandContext, key: string | Uint8Array): boolean {
  return cx.table.delete(key);
}

/** Removes every key. Returns how many were removed. */
export function flush(cx: CommandContext): number {
  return cx.table.flush();
}

/**
 * Gives a present key the absolute expiry `unixSeconds` (to the millisecond: Redis EXPIREAT, PEXPIREAT); a time now or
 * past deletes it. Returns whether the key was present.
 * @throws BadTtlError (`SABCACHE_ERR_BAD_TTL`) for a time more than MAX_TTL_SECONDS ahead.
 */
export function expireAt(cx: CommandContext, key: string | Uint8Array, unixSeconds: number): boolean {
  const atMs = Math.ceil(unixSeconds * 1000);
  if (!Number.isFinite(atMs) || (atMs - cx.table.now()) / 1000 > MAX_TTL_SECONDS) {
    throw new BadTtlError(`unixSeconds must be at most ${MAX_TTL_SECONDS} seconds from now, got ${unixSeconds}`);
  }
  if (atMs <= cx.table.now()) return cx.table.delete(key);
  return cx.table.setExpiry(key, atMs);
}
