/**
 * How a list or a hash is stored in one value (docs/design.md §7 "Collections"): its items
 * one after the other, each a u32 little-endian length then that many bytes. A list's items
 * are its elements, head first; a hash's are field, value, field, value, … in insertion
 * order. The whole value is at most `maxValueBytes` (the entry limit), so a collection is
 * small by design: each change rewrites it whole, under its key's bucket lock
 * (rewrite.ts).
 *
 * @module
 */

/** Bytes of one item's length prefix. */
const PREFIX_BYTES = 4;

/** The stored size of `items`, in bytes. */
export function encodedBytes(items: readonly Uint8Array[]): number {
  let n = 0;
  for (const it of items) n += PREFIX_BYTES + it.length;
  return n;
}

/** `items` as one value (the format above). */
export function encodeItems(items: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.allocUnsafe(encodedBytes(items));
  let at = 0;
  for (const it of items) {
    out.writeUInt32LE(it.length, at);
    out.set(it, at + PREFIX_BYTES);
    at += PREFIX_BYTES + it.length;
  }
  return out;
}

/**
 * The items of a stored value, as views into `value` (valid while `value` is). A value
 * that does not parse (which only a bug could store) gives the items before the damage.
 */
export function decodeItems(value: Uint8Array): Buffer[] {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.length);
  const items: Buffer[] = [];
  let at = 0;
  while (at + PREFIX_BYTES <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (at + PREFIX_BYTES + len > buf.length) break;
    items.push(buf.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + len));
    at += PREFIX_BYTES + len;
  }
  return items;
}
