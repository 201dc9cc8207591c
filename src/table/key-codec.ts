import { BadKeyError, KeyTooLargeError } from '../errors.ts';
import { LITTLE_ENDIAN } from '../util/endian.ts';
import { finishHash, hashBytes, mixLane1, mixLane2 } from './hash.ts';

const encoder = new TextEncoder();

/**
 * Turns a key (string or bytes) into its UTF-8 bytes and 64-bit hash, reusing one scratch
 * buffer per thread: a lookup allocates nothing. A string key and the same key given as
 * its UTF-8 bytes are the same key (same bytes, same hash).
 *
 * Strings take an ASCII fast path (char code = byte, written while scanning); a string with
 * any non-ASCII character is re-encoded with `TextEncoder.encodeInto`. A string with a lone
 * surrogate has no UTF-8 form: it is refused (`TextEncoder` would write U+FFFD, so two
 * different strings would name one key).
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
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`) for an empty key, one of another type, or a
   *   string with a lone surrogate.
   * @throws KeyTooLargeError (`SABCACHE_ERR_KEY_TOO_LARGE`) above `maxKeyBytes`.
   */
  encode(key: string | Uint8Array): void {
    if (typeof key === 'string') {
      if (this.encodeAscii(key)) return;
      if (!key.isWellFormed()) throw new BadKeyError('the key has a lone surrogate (it is not valid Unicode, so it has no UTF-8 form)');
      // Non-ASCII (or too long to be ASCII within the limit): the real UTF-8 length decides.
      const r = encoder.encodeInto(key, this.encodeTarget);
      if (r.read < key.length || r.written > this.maxKeyBytes) throw new KeyTooLargeError(this.maxKeyBytes);
      this.bytes = this.scratch;
      this.length = r.written;
    } else if (key instanceof Uint8Array) {
      if (key.length > this.maxKeyBytes) throw new KeyTooLargeError(this.maxKeyBytes);
      this.bytes = key;
      this.length = key.length;
    } else throw new BadKeyError('a key must be a string or a Uint8Array');
    if (this.length === 0) throw new BadKeyError('a key must not be empty');
    hashBytes(this.bytes, 0, this.length, this.seedA, this.seedB, this.hash);
  }

  /**
   * Encodes the key given as `len` bytes of `src` from `start` (e.g. inside a received
   * message): copies them into scratch and hashes them there, allocating nothing.
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`) if empty, KeyTooLargeError above the limit.
   */
  encodeSlice(src: Uint8Array, start: number, len: number): void {
    if (len === 0) throw new BadKeyError('a key must not be empty');
    if (len > this.maxKeyBytes) throw new KeyTooLargeError(this.maxKeyBytes);
    if (!LITTLE_ENDIAN) {
      const scratch = this.scratch;
      for (let i = 0; i < len; i++) scratch[i] = src[start + i];
      this.bytes = scratch;
      this.length = len;
      hashBytes(scratch, 0, len, this.seedA, this.seedB, this.hash);
      return;
    }
    // One pass: each 4-byte block is stored as a scratch word and mixed into the hash (the
    // same result as hashBytes over the copied bytes; the codec test checks it).
    const words = this.scratchWords;
    let h1 = this.seedA | 0;
    let h2 = this.seedB | 0;
    const blocks = len >>> 2;
    let at = start;
    for (let w = 0; w < blocks; w++, at += 4) {
      const k = src[at] | (src[at + 1] << 8) | (src[at + 2] << 16) | (src[at + 3] << 24);
      words[w] = k;
      h1 = mixLane1(h1, k);
      h2 = mixLane2(h2, k);
    }
    const rest = len & 3;
    let t = 0;
    if (rest > 0) t = src[at];
    if (rest > 1) t ^= src[at + 1] << 8;
    if (rest > 2) t ^= src[at + 2] << 16;
    // The tail word: the last bytes, zeros after them (bytes past the key are never compared).
    if (rest > 0) words[blocks] = t;
    this.bytes = this.scratch;
    this.length = len;
    finishHash(h1, h2, t, rest, len, this.hash);
  }

  /**
   * Encodes the key given as `len` bytes from word `firstWord` of `src` (4-byte aligned,
   * e.g. a snapshot record's key: restoreEntries): as {@link encodeSlice}, reading the key
   * a word at a time. Little-endian only (the caller checks LITTLE_ENDIAN). Reads the whole
   * word holding the key's last byte: the caller guarantees it lies in `src`.
   * @throws BadKeyError (`SABCACHE_ERR_BAD_KEY`) if empty, KeyTooLargeError above the limit.
   */
  encodeWords(src: Int32Array, firstWord: number, len: number): void {
    if (len === 0) throw new BadKeyError('a key must not be empty');
    if (len > this.maxKeyBytes) throw new KeyTooLargeError(this.maxKeyBytes);
    const words = this.scratchWords;
    let h1 = this.seedA | 0;
    let h2 = this.seedB | 0;
    const blocks = len >>> 2;
    for (let w = 0; w < blocks; w++) {
      const k = src[firstWord + w];
      words[w] = k;
      h1 = mixLane1(h1, k);
      h2 = mixLane2(h2, k);
    }
    const rest = len & 3;
    // The tail word: the last bytes, zeros after them (as encodeSlice).
    const t = rest === 0 ? 0 : src[firstWord + blocks] & ((1 << (rest << 3)) - 1);
    if (rest > 0) words[blocks] = t;
    this.bytes = this.scratch;
    this.length = len;
    finishHash(h1, h2, t, rest, len, this.hash);
  }

  /**
   * ASCII fast path: writes each char code into scratch and hashes it in the same pass
   * (the same result as hashBytes over those bytes). Returns false, having hashed nothing,
   * at the first non-ASCII character or when the key is longer than the limit.
   */
  private encodeAscii(key: string): boolean {
    const n = key.length;
    if (n === 0) throw new BadKeyError('a key must not be empty');
    if (n > this.maxKeyBytes) return false;
    const scratch = this.scratch;
    let h1 = this.seedA | 0;
    let h2 = this.seedB | 0;
    const blocks = n & ~3;
    let i = 0;
    for (; i < blocks; i += 4) {
      const c0 = key.charCodeAt(i);
      const c1 = key.charCodeAt(i + 1);
      const c2 = key.charCodeAt(i + 2);
      const c3 = key.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) >= 0x80) return false;
      scratch[i] = c0;
      scratch[i + 1] = c1;
      scratch[i + 2] = c2;
      scratch[i + 3] = c3;
      const k = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      h1 = mixLane1(h1, k);
      h2 = mixLane2(h2, k);
    }
    let t = 0;
    for (let shift = 0; i < n; i++, shift += 8) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return false;
      scratch[i] = c;
      t |= c << shift;
    }
    this.bytes = scratch;
    this.length = n;
    finishHash(h1, h2, t, n & 3, n, this.hash);
    return true;
  }
}
