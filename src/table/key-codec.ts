import { BadKeyError, KeyTooLargeError } from '../errors.ts';
import { hashBytes } from './hash.ts';

const encoder = new TextEncoder();

/**
 * Turns a key (string or bytes) into its UTF-8 bytes and 64-bit hash, reusing one scratch
 * buffer per thread: a lookup allocates nothing. A string key and the same key given as
 * its UTF-8 bytes are the same key (same bytes, same hash).
 *
 * Strings take an ASCII fast path (char code = byte, written while scanning); a string with
 * any non-ASCII character is re-encoded with `TextEncoder.encodeInto`. Lone surrogates are
 * replaced with U+FFFD by the encoder, as `TextEncoder` does everywhere.
 */
export class KeyCodec {
  /** UTF-8 bytes of the last key encoded (valid up to `length`). */
  readonly scratch: Uint8Array;
  /** The same memory as i32 words, for word-wise comparison. */
  readonly scratchWords: Int32Array;
  /** `[lo, hi]` hash of the last key encoded. */
  readonly hash = new Int32Array(2);
  /** `scratch` with room for encodeInto to overflow the limit by one character. */
  private readonly encodeTarget: Uint8Array;
  /** The bytes of the last key: `scratch`, or the caller's own Uint8Array. */
  bytes: Uint8Array;
  /** Byte length of the last key. */
  length = 0;

  constructor(
    private readonly maxKeyBytes: number,
    private readonly seedA: number,
    private readonly seedB: number,
  ) {
    // +8: room for encodeInto to report overflow, and whole trailing words for comparison.
    const buf = new ArrayBuffer(((maxKeyBytes + 8 + 3) & ~3));
    this.scratch = new Uint8Array(buf);
    this.scratchWords = new Int32Array(buf);
    this.bytes = this.scratch;
    this.encodeTarget = this.scratch.subarray(0, maxKeyBytes + 4);
  }

  /**
   * Encodes and hashes `key`; afterwards `bytes`, `length` and `hash` describe it.
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`) for an empty key or one of another type.
   * @throws KeyTooLargeError (`SABCACHE_ERR_KEY_TOO_LARGE`) above `maxKeyBytes`.
   */
  encode(key: string | Uint8Array): void {
    if (typeof key === 'string') this.encodeString(key);
    else if (key instanceof Uint8Array) {
      if (key.length > this.maxKeyBytes) throw new KeyTooLargeError(this.maxKeyBytes);
      this.bytes = key;
      this.length = key.length;
    } else throw new BadKeyError('a key must be a string or a Uint8Array');
    if (this.length === 0) throw new BadKeyError('a key must not be empty');
    hashBytes(this.bytes, this.length, this.seedA, this.seedB, this.hash);
  }

  private encodeString(key: string): void {
    const n = key.length;
    const scratch = this.scratch;
    this.bytes = scratch;
    if (n <= this.maxKeyBytes) {
      let i = 0;
      for (; i < n; i++) {
        const c = key.charCodeAt(i);
        if (c >= 0x80) break;
        scratch[i] = c;
      }
      if (i === n) {
        this.length = n;
        return;
      }
    }
    // Non-ASCII (or too long to be ASCII within the limit): the real UTF-8 length decides.
    const r = encoder.encodeInto(key, this.encodeTarget);
    if (r.read < n || r.written > this.maxKeyBytes) throw new KeyTooLargeError(this.maxKeyBytes);
    this.length = r.written;
  }
}
