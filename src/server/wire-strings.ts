/**
 * Header names, status lines and header values that the hot routes hand to uWebSockets.js,
 * encoded once at load, as ArrayBuffers. uWS reads an ArrayBuffer's bytes as they are,
 * while each JavaScript string argument costs a UTF-8 length scan and a copy into a
 * temporary buffer (`v8::String::Utf8Value`): on the PUT path those conversions were about
 * a tenth of the server's user-space instructions (perf, 2026-11-22). A Uint8Array costs a
 * little more than an ArrayBuffer (uWS asks it for its buffer first): a bare uWS handler
 * with 6 such arguments took 14.0k user-space instructions per request with strings, 11.5k
 * with Uint8Arrays and 10.9k with ArrayBuffers (perf stat, wrk, one thread).
 *
 * Only ASCII text belongs here.
 *
 * @module
 */

/** `text` as bytes, for uWS calls that take a `RecognizedString`. */
function ascii(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, 'latin1');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

/** Request header names, lower-case as uWS wants them: `content-length`, and so on. */
export const HEADER_CONTENT_LENGTH = ascii('content-length');
export const HEADER_TRANSFER_ENCODING = ascii('transfer-encoding');
export const HEADER_IF_MATCH = ascii('if-match');
export const HEADER_IF_NONE_MATCH = ascii('if-none-match');
export const HEADER_ORIGIN = ascii('origin');

/** Status lines: `200 OK`, `204 No Content`, `304 Not Modified`, `404 Not Found`. */
export const STATUS_200 = ascii('200 OK');
export const STATUS_204 = ascii('204 No Content');
export const STATUS_304 = ascii('304 Not Modified');
export const STATUS_404 = ascii('404 Not Found');

/** Response header names (`ETag`, `Content-Type`, `Sabcache-TTL`) and values of Content-Type. */
export const ETAG = ascii('ETag');
export const SABCACHE_TTL = ascii('Sabcache-TTL');
export const CONTENT_TYPE = ascii('Content-Type');
export const TEXT_PLAIN_UTF8 = ascii('text/plain; charset=utf-8');
export const APPLICATION_JSON = ascii('application/json');
