/**
 * The HTTP ETag of an entry: its version (commands/version-text.ts) in quotes, `"<epoch
 * hex>.<counter hex>"`, as a string ({@link formatEtag}) or written straight into bytes for uWS
 * ({@link etagBytes}), which skips building two hex strings and a template, and uWS's UTF-8
 * conversion of the result, on every GET and PUT answer.
 *
 * @module
 */
import { formatVersion } from '../commands/version-text.ts';

/** Formats an entry's version (epoch, counter) as a strong ETag: `"5f3a9c01.2f0"`. */
export function formatEtag(epoch: number, counter: number): string {
  return `"${formatVersion(epoch, counter)}"`;
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
 * The ETag of version (`epoch`, `counter`) as bytes, the same text as {@link formatEtag}.
 * The ArrayBuffer is shared with every later call that gives an ETag of the same length:
 * hand it to uWS at once (uWS copies a header value into the socket's buffer during the
 * call) and do not keep it.
 */
export function etagBytes(epoch: number, counter: number): ArrayBuffer {
  const g = epoch >>> 0;
  const r = counter >>> 0;
  const ed = hexLength(g);
  const cd = hexLength(r);
  const out = BUFFERS[ed + cd + 3];
  out[0] = QUOTE;
  writeHex(out, 1 + ed, g, ed);
  out[1 + ed] = DOT;
  writeHex(out, 2 + ed + cd, r, cd);
  out[2 + ed + cd] = QUOTE;
  return out.buffer as ArrayBuffer;
}
