/**
 * An entry's version (DESIGN §2): its segment's generation and its ref. Every write publishes
 * a new entry at a new place, and a segment's generation moves each time it is reused, so the
 * pair names one write. Text form: `<generation base36>.<ref base36>`; the HTTP ETag is that
 * text in quotes.
 *
 * @module
 */

/** Formats a version as text. */
export function formatVersion(generation: number, ref: number): string {
  return `${(generation >>> 0).toString(36)}.${(ref >>> 0).toString(36)}`;
}

/** Parses a version's text into `out` ([generation, ref] as i32); false if it is not one. */
export function parseVersion(text: string, out: Int32Array): boolean {
  const m = /^([0-9a-z]{1,7})\.([0-9a-z]{1,7})$/.exec(text);
  if (!m) return false;
  const generation = parseInt(m[1], 36);
  const ref = parseInt(m[2], 36);
  if (generation > 0xffffffff || ref > 0xffffffff || ref === 0) return false;
  out[0] = generation | 0;
  out[1] = ref | 0;
  return true;
}
