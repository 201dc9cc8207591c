/**
 * Hashes (Redis HSET, HGET, HMGET, HDEL, HGETALL, HLEN, HEXISTS, HINCRBY, HKEYS, HVALS):
 * small field → value maps stored in one value (collection-value.ts: field, value, … in
 * insertion order), each change a {@link rewrite} of the whole hash under its key's bucket
 * lock, bounded by `maxValueBytes` (docs/design.md §7 "Collections"). Deleting the last
 * field deletes the key, as in Redis. Every command refuses a key that holds a string or
 * list: WrongTypeError (`SABCACHE_ERR_WRONG_TYPE`).
 *
 * @module
 */
import { WrongTypeError } from '../errors.ts';
import { addInt64, checkDelta, parseInt64 } from '../table/integer-value.ts';
import { decodeItems, encodeItems } from './collection-value.ts';
import type { CommandContext } from './context.ts';
import { EntryResult, entryTypeName, VALUE_HASH } from './entry.ts';
import { DELETE, rewrite, UNCHANGED } from './rewrite.ts';

/** A hash's fields and values, alternating (views of a copy). */
export type HashItems = Buffer[];

/** The fields and values (alternating) of the hash under `key`, or undefined when absent. @throws WrongTypeError. */
export function hashItems(cx: CommandContext, key: string | Uint8Array): HashItems | undefined {
  const value = cx.table.getBytes(key, cx.found);
  if (value === undefined) return undefined;
  if (cx.found.type !== VALUE_HASH) throw new WrongTypeError(entryTypeName(cx.found));
  return decodeItems(value);
}

function itemsOf(old: Uint8Array | undefined, entry: EntryResult): HashItems {
  if (old === undefined) return [];
  if (entry.type !== VALUE_HASH) throw new WrongTypeError(entryTypeName(entry));
  return decodeItems(old);
}

/** Index of `field`'s entry in `items` (even), or -1. */
function fieldAt(items: HashItems, field: Uint8Array): number {
  for (let i = 0; i < items.length; i += 2) if (items[i].equals(field)) return i;
  return -1;
}

/**
 * Sets each field of `pairs` (field, value, field, value, …) and returns how many fields
 * were new (HSET). The key's TTL stays.
 * @throws WrongTypeError; ValueTooLargeError (`SABCACHE_ERR_VALUE_TOO_LARGE`) when the hash
 *   would pass `maxValueBytes`.
 */
export function hashSet(cx: CommandContext, key: string | Uint8Array, pairs: readonly Uint8Array[]): number {
  let added = 0;
  rewrite(cx, key, (old, entry) => {
    const items: Uint8Array[] = itemsOf(old, entry);
    added = 0;
    for (let p = 0; p + 1 < pairs.length; p += 2) {
      const i = fieldAt(items as Buffer[], pairs[p]);
      if (i >= 0) items[i + 1] = pairs[p + 1];
      else {
        items.push(pairs[p], pairs[p + 1]);
        added++;
      }
    }
    return { value: encodeItems(items), type: VALUE_HASH };
  });
  return added;
}

/** The value of `field`, or undefined (HGET). @throws WrongTypeError. */
export function hashGet(cx: CommandContext, key: string | Uint8Array, field: Uint8Array): Buffer | undefined {
  const items = hashItems(cx, key) ?? [];
  const i = fieldAt(items, field);
  return i < 0 ? undefined : items[i + 1];
}

/** Removes `fields` and returns how many were there (HDEL); the last one's removal deletes the key. @throws WrongTypeError. */
export function hashDelete(cx: CommandContext, key: string | Uint8Array, fields: readonly Uint8Array[]): number {
  let removed = 0;
  rewrite(cx, key, (old, entry) => {
    const items = itemsOf(old, entry);
    removed = 0;
    for (const f of fields) {
      const i = fieldAt(items, f);
      if (i >= 0) {
        items.splice(i, 2);
        removed++;
      }
    }
    if (removed === 0) return UNCHANGED;
    return items.length === 0 ? DELETE : { value: encodeItems(items), type: VALUE_HASH };
  });
  return removed;
}

/**
 * Adds `by` to the integer in `field` (absent: 0) and returns the result (HINCRBY): a
 * number when it is a safe integer, else a bigint, as incr's.
 * @throws WrongTypeError; NotIntegerError (`SABCACHE_ERR_NOT_INTEGER`) when the field is not
 *   a decimal int64; OverflowError (`SABCACHE_ERR_OVERFLOW`) past the int64 range;
 *   BadValueError (`SABCACHE_ERR_BAD_VALUE`) for a bad `by`.
 */
export function hashIncrBy(cx: CommandContext, key: string | Uint8Array, field: Uint8Array, by: number | bigint): number | bigint {
  const delta = checkDelta(by);
  let result: number | bigint = 0;
  rewrite(cx, key, (old, entry) => {
    const items: Uint8Array[] = itemsOf(old, entry);
    const i = fieldAt(items as Buffer[], field);
    result = addInt64(i >= 0 ? parseInt64(items[i + 1], 0, items[i + 1].length) : 0, delta);
    const text = Buffer.from(String(result), 'latin1');
    if (i >= 0) items[i + 1] = text;
    else items.push(field, text);
    return { value: encodeItems(items), type: VALUE_HASH };
  });
  return result;
}

/** The values of `fields` (undefined where absent), as HMGET. @throws WrongTypeError. */
export function hashGetMany(cx: CommandContext, key: string | Uint8Array, fields: readonly Uint8Array[]): (Buffer | undefined)[] {
  const items = hashItems(cx, key) ?? [];
  return fields.map((f) => {
    const i = fieldAt(items, f);
    return i < 0 ? undefined : items[i + 1];
  });
}
