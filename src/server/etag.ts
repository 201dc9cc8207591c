/**
 * The HTTP ETag of an entry: its version (table/version.ts) in quotes, `"<generation
 * hex>.<ref hex>"`, as a string ({@link formatEtag}) or written straight into bytes for uWS
 * ({@link etagBytes}), which skips building two hex strings and a template, and uWS's UTF-8
 * conversion of the result, on every GET and PUT answer.
 *
 * @module
 */
import { formatVersion } from '../table/version.ts';

/** Formats an entry's version (segment generation, ref) as a strong ETag: `"1a.2f0"`. */
export function formatEtag(generation: number, ref: number): string {
  return `"${formatVersion(generation, ref)}"`;
}

// One buffer per ETag length: 2 quotes, a dot and 1 to 8 hex digits on each side, so 5 to
// 19 bytes. Each is rewritten in place by the next ETag of its length.
const BUFFERS: Uint8Array[] = Array.from({ length: 20 }, (_, n) => new Uint8Array(n));
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
const QUOTE = 0x22;
const DOT = 0x2e;

/** Hex digits of the 32-bit unsigned `x` without leading zeros (1 for 0). */
function hexLength(x: number): number {
  return Math.max(1, (35 - Math.clz32(x)) >> 2);
}

/** Writes `x` (32-bit unsigned) as `digits` lowercase hex digits ending before `end`. */
function writeHex(out: Uint8Array, end: number, x: number, digits: number): void {
  for (let i = end - 1; i >= end - digits; i--) {
    out[i] = HEX_DIGITS[x & 15];
    x >>>= 4;
  }
}

/**
 * The ETag of version (`generation`, `ref`) as bytes, the same text as {@link formatEtag}.
 * The ArrayBuffer is shared with every later call that gives an ETag of the same length:
 * hand it to uWS at once (uWS copies a header value into the socket's buffer during the
 * call) and do not keep it.
 */
export function etagBytes(generation: number, ref: number): ArrayBuffer {
  const g = generation >>> 0;
  const r = ref >>> 0;
  const gd = hexLength(g);
  const rd = hexLength(r);
  const out = BUFFERS[gd + rd + 3];
  out[0] = QUOTE;
  writeHex(out, 1 + gd, g, gd);
  out[1 + gd] = DOT;
  writeHex(out, 2 + gd + rd, r, rd);
  out[2 + gd + rd] = QUOTE;
  return out.buffer as ArrayBuffer;
}
