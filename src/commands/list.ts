/**
 * Lists (Redis LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN, LINDEX): small lists stored in one
 * value (collection-value.ts), each change a {@link rewrite} of the whole list under its
 * key's bucket lock, bounded by `maxValueBytes` (docs/design.md §7 "Collections"). Popping
 * the last element deletes the key, as in Redis. Every command refuses a key that holds a
 * string or hash: WrongTypeError (`SABCACHE_ERR_WRONG_TYPE`).
 *
 * @module
 */
import { WrongTypeError } from '../errors.ts';
import { decodeItems, encodeItems } from './collection-value.ts';
import type { CommandContext } from './context.ts';
import { EntryResult, entryTypeName, VALUE_LIST } from './entry.ts';
import { DELETE, rewrite, UNCHANGED } from './rewrite.ts';

/** The elements of the list stored under `key` (views of a copy), or undefined when absent. @throws WrongTypeError. */
export function listItems(cx: CommandContext, key: string | Uint8Array): Buffer[] | undefined {
  const value = cx.table.getBytes(key, cx.found);
  if (value === undefined) return undefined;
  if (cx.found.type !== VALUE_LIST) throw new WrongTypeError(entryTypeName(cx.found));
  return decodeItems(value);
}

/** Items of `old` (a hit of type `entry`), checked to be a list. */
function itemsOf(old: Uint8Array | undefined, entry: EntryResult): Buffer[] {
  if (old === undefined) return [];
  if (entry.type !== VALUE_LIST) throw new WrongTypeError(entryTypeName(entry));
  return decodeItems(old);
}

/**
 * Adds `elements` at the head (`left`, each in turn: LPUSH a b leaves b first) or the tail,
 * creating the list if absent unless `onlyIfPresent` (LPUSHX / RPUSHX). Returns the new
 * length (0 when `onlyIfPresent` and absent). The key's TTL stays.
 * @throws WrongTypeError; ValueTooLargeError (`SABCACHE_ERR_VALUE_TOO_LARGE`) when the list
 *   would pass `maxValueBytes`.
 */
export function push(cx: CommandContext, key: string | Uint8Array, elements: readonly Uint8Array[], left: boolean, onlyIfPresent = false): number {
  let length = 0;
  rewrite(cx, key, (old, entry) => {
    if (old === undefined && onlyIfPresent) {
      length = 0;
      return UNCHANGED;
    }
    const items: Uint8Array[] = itemsOf(old, entry);
    const next = left ? [...elements].reverse().concat(items) : [...items, ...elements];
    length = next.length;
    return { value: encodeItems(next), type: VALUE_LIST };
  });
  return length;
}

/**
 * Removes and returns up to `count` elements from the head (`left`) or the tail, in the
 * order popped; undefined when the key is absent. The last element's removal deletes the key.
 * @throws WrongTypeError.
 */
export function pop(cx: CommandContext, key: string | Uint8Array, left: boolean, count: number): Buffer[] | undefined {
  let out: Buffer[] | undefined;
  rewrite(cx, key, (old, entry) => {
    if (old === undefined) {
      out = undefined;
      return UNCHANGED;
    }
    const items = itemsOf(old, entry);
    const n = Math.min(count, items.length);
    // Copies: the items are views of this thread's read buffer, which the next read reuses.
    out = (left ? items.slice(0, n) : items.slice(items.length - n).reverse()).map((b) => Buffer.from(b));
    if (n === 0) return UNCHANGED;
    const rest = left ? items.slice(n) : items.slice(0, items.length - n);
    return rest.length === 0 ? DELETE : { value: encodeItems(rest), type: VALUE_LIST };
  });
  return out;
}

/** Redis's index: negative counts from the end. */
function fromEnd(i: number, length: number): number {
  return i < 0 ? length + i : i;
}

/** The elements from `start` to `stop` inclusive (negative: from the end), as LRANGE; [] when absent. @throws WrongTypeError. */
export function range(cx: CommandContext, key: string | Uint8Array, start: number, stop: number): Buffer[] {
  const items = listItems(cx, key) ?? [];
  const from = Math.max(0, fromEnd(start, items.length));
  const to = Math.min(items.length - 1, fromEnd(stop, items.length));
  return from > to ? [] : items.slice(from, to + 1);
}

/** The list's length (0 when absent), as LLEN. @throws WrongTypeError. */
export function listLength(cx: CommandContext, key: string | Uint8Array): number {
  return listItems(cx, key)?.length ?? 0;
}

/** The element at `index` (negative: from the end), or undefined, as LINDEX. @throws WrongTypeError. */
export function listIndex(cx: CommandContext, key: string | Uint8Array, index: number): Buffer | undefined {
  const items = listItems(cx, key) ?? [];
  return items[fromEnd(index, items.length)];
}
