/**
 * 64-bit key hash as two independent 32-bit lanes, computed in one pass over the key's
 * bytes: `lo` picks the bucket, `hi` is the tag stored in the way. Each lane is a
 * MurmurHash3_x86_32-style block mix (Austin Appleby, public domain) with its own
 * constants and seed, finished with Murmur3's `fmix32`. Seeds are random per cache, so
 * a client cannot aim keys at one bucket without knowing them.
 *
 * The result is written to `out[0]` (lo) and `out[1]` (hi) so a lookup allocates nothing.
 *
 * @module
 */

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Lane 1 after mixing the 4-byte little-endian block `k` into `h1`. */
export function mixLane1(h1: number, k: number): number {
  let k1 = Math.imul(k, 0xcc9e2d51);
  k1 = (k1 << 15) | (k1 >>> 17);
  h1 ^= Math.imul(k1, 0x1b873593);
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

/** Lane 2 after mixing the 4-byte little-endian block `k` into `h2`. */
export function mixLane2(h2: number, k: number): number {
  let k2 = Math.imul(k, 0x9e3779b1);
  k2 = (k2 << 13) | (k2 >>> 19);
  h2 ^= Math.imul(k2, 0x85ebca77);
  h2 = (h2 << 17) | (h2 >>> 15);
  return (Math.imul(h2, 0x27d4eb2f) + 0x165667b1) | 0;
}

/**
 * Finishes both lanes: mixes in the 1–3 tail bytes `t` (when `rest` > 0) and the length,
 * and writes `[lo, hi]` into `out`.
 */
export function finishHash(h1: number, h2: number, t: number, rest: number, len: number, out: Int32Array): void {
  if (rest !== 0) {
    let k1 = Math.imul(t, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, 0x1b873593);
    let k2 = Math.imul(t, 0x9e3779b1);
    k2 = (k2 << 13) | (k2 >>> 19);
    h2 ^= Math.imul(k2, 0x85ebca77);
  }
  out[0] = fmix32(h1 ^ len);
  out[1] = fmix32(h2 ^ Math.imul(len, 0x9e3779b1));
}

/**
 * Hashes `len` bytes of `bytes` from index `start` with seeds `seedA`, `seedB` into `out`
 * (i32 lo, i32 hi).
 */
export function hashBytes(bytes: Uint8Array, start: number, len: number, seedA: number, seedB: number, out: Int32Array): void {
  let h1 = seedA | 0;
  let h2 = seedB | 0;
  const blocks = start + (len & ~3);
  let i = start;
  for (; i < blocks; i += 4) {
    const k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    h1 = mixLane1(h1, k);
    h2 = mixLane2(h2, k);
  }
  const rest = len & 3;
  let t = 0;
  if (rest > 0) t = bytes[i];
  if (rest > 1) t ^= bytes[i + 1] << 8;
  if (rest > 2) t ^= bytes[i + 2] << 16;
  finishHash(h1, h2, t, rest, len, out);
}
