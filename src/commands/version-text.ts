/**
 * An entry's version as text (docs/design.md §3 "Versions"): `<epoch hex>.<counter hex>`,
 * lowercase, no leading zeros (hex, so that servers can write it with shifts); the HTTP ETag
 * is that text in quotes. Clients treat it as opaque. table/version.ts says what a version is.
 *
 * @module
 */

/** Formats a version (epoch, counter; i32 or u32) as text. */
export function formatVersion(epoch: number, counter: number): string {
  return `${(epoch >>> 0).toString(16)}.${(counter >>> 0).toString(16)}`;
}

/** Parses a version's text into `out` ([epoch, counter] as i32); false if it is not one. */
export function parseVersion(text: string, out: Int32Array): boolean {
  const m = /^([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/.exec(text);
  if (!m) return false;
  const epoch = parseInt(m[1], 16);
  const counter = parseInt(m[2], 16);
  if (epoch > 0xffffffff || counter > 0xffffffff || counter === 0) return false;
  out[0] = epoch | 0;
  out[1] = counter | 0;
  return true;
}
