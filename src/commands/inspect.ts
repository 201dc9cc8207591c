/**
 * One entry as a browser of the cache shows it (the dashboard's key view): its type,
 * version, TTL, and its value, or a collection's items.
 *
 * @module
 */
import type { CommandContext } from './context.ts';
import { EntryResult, entryTtlSeconds, entryTypeName, entryVersion, type ValueTypeName } from './entry.ts';
import { hashItems } from './hash.ts';
import { listItems } from './list.ts';

/** What {@link inspectEntry} finds. */
export interface EntryView {
  type: ValueTypeName;
  /** The version (an HTTP ETag's text, without quotes). */
  version: string;
  /** Whole seconds left, -1 when it never expires (Redis TTL). */
  ttlSeconds: number;
  /** Bytes of the stored value (a collection's encoded items). */
  bytes: number;
  /** The value of a `bytes`, `string` or `integer` entry. */
  value?: Uint8Array;
  /** A list's items, or a hash's fields and values alternating. */
  items?: Uint8Array[];
}

const scratch = new EntryResult();

/** The entry under `key`, or undefined when absent or expired. */
export function inspectEntry(cx: CommandContext, key: string | Uint8Array): EntryView | undefined {
  const value = cx.table.getBytes(key, scratch);
  if (value === undefined) return undefined;
  const type = entryTypeName(scratch);
  const view: EntryView = { type, version: entryVersion(cx, scratch), ttlSeconds: entryTtlSeconds(cx, scratch), bytes: value.length };
  // A collection is read again to decode it: a write in between shows its newer items.
  if (type === 'list') view.items = listItems(cx, key) ?? [];
  else if (type === 'hash') view.items = hashItems(cx, key) ?? [];
  else view.value = value;
  return view;
}
