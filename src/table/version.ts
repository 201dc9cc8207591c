/**
 * An entry's version (DESIGN §2): its segment's generation and its ref. Every write publishes
 * a new entry at a new place, and a segment's generation moves each time it is reused, so the
 * pair names one write. Text form: `<generation hex>.<ref hex>` (lowercase, no leading zeros;
 * hex so that servers can write it with shifts); the HTTP ETag is that text in quotes.
 * Clients treat it as opaque.
 *
 * @module
 */

/** Formats a version as text. */
export function formatVersion(generation: number, ref: number): string {
  return `${(generation >>> 0).toString(16)}.${(ref >>> 0).toString(16)}`;
}

/** Parses a version's text into `out` ([generation, ref] as i32); false if it is not one. */
export function parseVersion(text: string, out: Int32Array): boolean {
  const m = /^([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/.exec(text);
  if (!m) return false;
  const generation = parseInt(m[1], 16);
  const ref = parseInt(m[2], 16);
  if (generation > 0xffffffff || ref > 0xffffffff || ref === 0) return false;
  out[0] = generation | 0;
  out[1] = ref | 0;
  return true;
}
