import { BadHandleError } from '../errors.ts';
import {
  computeGeometry, H_VERSION_EPOCH, H_VERSION_NEXT, HEADER_BYTES, E_KEYLEN_FLAGS, ENTRY_HEADER_BYTES, type Geometry, H_BUCKET_COUNT, H_INITIAL_BUCKETS, KEYLEN_MASK, H_HASH_SEED_A, H_HASH_SEED_B, H_LAYOUT_VERSION, H_MAGIC,
  H_MAX_KEY_BYTES, H_MAX_VALUE_BYTES, H_OFFSET_BITS, H_SEGMENT_BYTES, H_SEGMENT_COUNT, H_SEGMENTS_PAGE,
  LAYOUT_VERSION, MAGIC, SEGMENT_ALIGN_BYTES,
} from './layout.ts';
import { hashBytes } from './hash.ts';

/**
 * Typed-array views over one sabcache buffer, plus the geometry read from its header.
 * Every thread builds its own views over the same memory; none of this is copied.
 */
export class SharedView {
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** The buffer as u16 halfwords (frequency counters, ghost fingerprints). */
  readonly u16: Uint16Array;
  readonly f64: Float64Array;
  /** The header as i64 words (the WAL sequence, layout.H_WAL_SEQ_I64). */
  readonly i64: BigInt64Array;
  /** A Buffer over the same memory, for UTF-8 encode/decode without copies. */
  readonly buf: Buffer;
  readonly g: Geometry;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly seedA: number;
  readonly seedB: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.u8 = new Uint8Array(sab);
    this.u16 = new Uint16Array(sab, 0, Math.floor(sab.byteLength / 2));
    this.f64 = new Float64Array(sab, 0, Math.floor(sab.byteLength / 8));
    this.i64 = new BigInt64Array(sab, 0, HEADER_BYTES / 8);
    this.buf = Buffer.from(sab);
    const h = this.i32;
    if (h[H_MAGIC] !== MAGIC) throw new BadHandleError('buffer is not a sabcache table (bad magic)');
    if (h[H_LAYOUT_VERSION] !== LAYOUT_VERSION) {
      throw new BadHandleError(`table layout version ${h[H_LAYOUT_VERSION]} is not ${LAYOUT_VERSION}`);
    }
    this.g = computeGeometry(h[H_INITIAL_BUCKETS], h[H_SEGMENT_BYTES], h[H_SEGMENT_COUNT]);
    if (this.g.totalBytes !== sab.byteLength || this.g.offsetBits !== h[H_OFFSET_BITS]) {
      throw new BadHandleError('table header does not match the buffer size');
    }
    this.maxKeyBytes = h[H_MAX_KEY_BYTES];
    this.maxValueBytes = h[H_MAX_VALUE_BYTES];
    this.seedA = h[H_HASH_SEED_A];
    this.seedB = h[H_HASH_SEED_B];
  }

  /** `[lo, hi]` hash of the key last hashed by {@link hashEntryKey} (this thread's scratch). */
  readonly entryHash = new Int32Array(2);

  /**
   * Hashes the key of the entry at byte `e` with this table's seeds, giving the hash its
   * lookups compute (lo: bucket lane, hi: tag), into {@link entryHash}, which it returns.
   * Entries store no hash (layout.ts); eviction, compaction, repair and the change feed
   * call this. The caller makes sure the entry's key length lies inside its segment.
   */
  hashEntryKey(e: number): Int32Array {
    const keyLen = this.i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK;
    hashBytes(this.u8, e + ENTRY_HEADER_BYTES, keyLen, this.seedA, this.seedB, this.entryHash);
    return this.entryHash;
  }

  /**
   * Allocates and formats a new buffer for `g`. A fresh SharedArrayBuffer is zero-filled,
   * which is the empty state of every region (seq 0, no ways, free segments, free blocks).
   * `hashSeeds` are the hash lanes' seeds (random when omitted).
   */
  static format(g: Geometry, maxKeyBytes: number, maxValueBytes: number, hashSeeds?: readonly [number, number]): SharedView {
    const sab = new SharedArrayBuffer(g.totalBytes);
    const h = new Int32Array(sab, 0, 64);
    h[H_LAYOUT_VERSION] = LAYOUT_VERSION;
    h[H_BUCKET_COUNT] = g.bucketCount;
    h[H_INITIAL_BUCKETS] = g.bucketCount;
    h[H_SEGMENT_BYTES] = g.segmentBytes;
    h[H_SEGMENT_COUNT] = g.segmentCount;
    h[H_OFFSET_BITS] = g.offsetBits;
    h[H_HASH_SEED_A] = hashSeeds ? hashSeeds[0] : (Math.random() * 2 ** 32) | 0;
    h[H_HASH_SEED_B] = hashSeeds ? hashSeeds[1] : (Math.random() * 2 ** 32) | 0;
    h[H_MAX_KEY_BYTES] = maxKeyBytes;
    h[H_MAX_VALUE_BYTES] = maxValueBytes;
    h[H_SEGMENTS_PAGE] = g.segmentsOffset / SEGMENT_ALIGN_BYTES;
    h[H_VERSION_EPOCH] = ((Math.random() * (2 ** 32 - 1)) | 0) || 1;
    h[H_VERSION_NEXT] = 1;
    // Magic last: a buffer with the magic is fully formatted. (Other threads only see the
    // buffer after it is posted to them, which orders these writes anyway.)
    Atomics.store(h, H_MAGIC, MAGIC);
    return new SharedView(sab);
  }
}
