/**
 * The one place that defines where everything lives in the shared buffer.
 *
 * All offsets are byte offsets into one `SharedArrayBuffer`; every region starts on a
 * 64-byte boundary (one cache line) so that no two regions share a line. Nothing outside
 * this module hard-codes an offset: other modules use the constants and accessors here.
 *
 * ```
 *  byte 0                                                                                 buffer end
 *  ┌────────┬───────────────┬─────────────┬──────────────┬──────────────┬────────────────┬─────────────────┐
 *  │ header │ thread blocks │ ghost       │ segment table│ change feed  │ index          │ segments        │
 *  │ 4 KiB  │ 64 × 1 KiB    │ 64 B per    │ segments×32 B│ 64 B + 2048 ×│ buckets × 192 B│ segments × S    │
 *  │        │               │ 8 KiB of seg│              │ 128 B slots  │ (grows →)      │ (first ones → index)
 *  └────────┴───────────────┴─────────────┴──────────────┴──────────────┴────────────────┴─────────────────┘
 *  The index region ends where segment 0 starts; the index grows over segments 0, 1, … as
 *  they are taken for it (SEG_INDEX; docs/design.md §2 "Index growth").
 *
 *  bucket (192 B = 48 × i32): line 0: [0] seq  [1] freq  [2..15] tags of ways 0..13
 *                             lines 1-2: [16 + 2w] ref and [17 + 2w] version counter of way w
 *                             (ways 0..7 in line 1, 8..13 in line 2), [44..47] spare
 *  seq word:                  unlocked: an even version; locked: bit 0 set, the owner
 *                             (thread block + 1) in bits 1-7, the version's bits 8-31 kept
 *  version counter (line 2):  set when a write links the way (0 = none), kept when the entry
 *                             moves (copy-forward, compaction): an entry's version is
 *                             (H_VERSION_EPOCH, this word)
 *  freq   (bucket word 1):    an advisory 2-bit access counter (0..3) per way: way w at
 *                             bits 2w, 2w+1; bits 28..31 spare (frequency.ts)
 *  ghost line (64 B = 32 × u16): [0] insert cursor  [1..31] fingerprints of dropped entries:
 *                             bit 15 = dropped by the main queue, bits 0-14 the key's
 *                             fingerprint (0 = empty slot), replaced round-robin
 *  segment table row (32 B):  [0] state  [1] write offset  [2] live bytes  [3] generation
 *                             [4] seal sequence  [5] created-at (unix s)  [6] queue
 *                             [7] span head (SEG_SPAN rows: the segment the entry starts in)
 *  thread block (1 KiB):      [0] state  [1] held bucket+1  [2] active small segment+1
 *                             [3] worker threadId  [4] park word  [5] watching
 *                             [6] active main segment+1
 *                             … byte 64: counters (f64 × COUNTER_COUNT)
 *  feed header (64 B):        [0] head (next sequence)  [1] watching threads  [2] parked readers
 *                             [3] notify counter
 *  feed slot (128 B):         [0] sequence + 1 (0 = being written)  [1] kind | truncated << 8
 *                             | keyLength << 16  [2] hash lo  [3] hash hi  then key bytes (≤ 112)
 *  entry (8-byte aligned):    [0] keyLen u16 | flags u16 << 16 (type: bits 16-19,
 *                             unlinked: bit 20)  [1] value length
 *                             [2] expireAt (unix s, 0 = never)
 *                             then key bytes, value bytes, padding to 8
 * ```
 *
 * A `ref` (i32) names an entry: segment index in the high bits, offset/8 in the low
 * `offsetBits` bits. Offset 0 of every segment is never an entry, so `ref == 0` means
 * an empty way. With 1 MiB segments: 17 offset bits and 15 segment bits.
 *
 * Sizes are checked in `test/table/layout.test.ts` (alignment, region sizes, no overlap),
 * in the spirit of Pelikan's `hash_bucket.rs` and memcached's `sizes.c`.
 *
 * @module
 */

/** `SABC` read as a little-endian u32: identifies a sabcache buffer. */
export const MAGIC = 0x43424153;
/** Bumped whenever any offset or meaning in this file changes. */
export const LAYOUT_VERSION = 12;

/** Every region starts on a multiple of this (one cache line), in bytes. */
export const REGION_ALIGN_BYTES = 64;
/** Segments start on a page boundary, in bytes. */
export const SEGMENT_ALIGN_BYTES = 4096;

// ── header ────────────────────────────────────────────────────────────────────────────
/** Header size, in bytes. */
export const HEADER_BYTES = 4096;
/** Header fields, as i32 word indices from byte 0. */
export const H_MAGIC = 0;
/** Header word: LAYOUT_VERSION. */
export const H_LAYOUT_VERSION = 1;
/**
 * Header word: the number of buckets now. The index grows (docs/design.md §2 "Index
 * growth"): read it with Atomics.load and map a hash with {@link bucketFor}; the owner raises
 * it one bucket at a time, each inside the lock of the bucket that bucket splits from.
 */
export const H_BUCKET_COUNT = 2;
/** Header word: bytes per segment (a power of two). */
export const H_SEGMENT_BYTES = 3;
/** Header word: number of segments. */
export const H_SEGMENT_COUNT = 4;
/** Header word: bits of a ref that hold offset/8. */
export const H_OFFSET_BITS = 5;
/** Header word: seed of the hash lane that picks the bucket. */
export const H_HASH_SEED_A = 6;
/** Header word: seed of the hash lane that gives the tag. */
export const H_HASH_SEED_B = 7;
/** Coarse clock, unix seconds, advanced by the owner thread. */
export const H_CLOCK_SECONDS = 8;
/** Global counter of segment seals; gives sealed segments their FIFO order. */
export const H_SEAL_SEQ = 9;
/** Where the next free-segment scan starts (a hint only). */
export const H_FREE_HINT = 10;
/** Header word: largest key, in bytes. */
export const H_MAX_KEY_BYTES = 11;
/** Header word: largest value, in bytes. */
export const H_MAX_VALUE_BYTES = 12;
/** Byte offset of the segments region divided by SEGMENT_ALIGN_BYTES. */
export const H_SEGMENTS_PAGE = 13;
/** Header word: 1 once anything entered the ghost table (writers skip the lookup before). */
export const H_GHOST_USED = 14;
/** Header word: segments claimed for the small queue and not yet freed. */
export const H_SMALL_SEGMENTS = 15;
/** Header word: 1 once a segment was evicted to make room (the cache has been full). */
export const H_FULL = 16;
/** Header word: bumped to ask every WAL writer to start a new file (before a snapshot). */
export const H_WAL_EPOCH = 17;
/**
 * Header word: segments the small queue may hold before it is evicted first, set by the
 * owner's adaptation (queue-sizing.ts); 0 until its first tick (then the default share).
 */
export const H_SMALL_TARGET = 18;
/**
 * Index, in a BigInt64Array over the buffer, of the last WAL sequence number handed out
 * (i64 at bytes 80-87, i32 words 20 and 21). Writers take the next one inside the bucket
 * lock, so one key's records are numbered in the order they happened.
 */
export const H_WAL_SEQ_I64 = 10;
/**
 * Header word: this cache's version epoch, random and non-zero, set at format: the first
 * half of every entry version, so versions of another cache (an earlier process) never
 * match this one's.
 */
export const H_VERSION_EPOCH = 19;
/**
 * Header word: the next block of version counters to hand out (threads take
 * {@link VERSION_BLOCK} at a time with an atomic add; only uniqueness matters, not order).
 */
export const H_VERSION_NEXT = 22;
/** Header word: buckets of the index region at format (the geometry's bucketCount). */
export const H_INITIAL_BUCKETS = 23;
/**
 * Header word: the index growth gate. 0: open; n > 0: n holders (a snapshot walk, a bulk
 * restore's link) that need the bucket count to stay put; -1: the owner is growing the
 * index (index-growth.ts).
 */
export const H_INDEX_GATE = 24;
/**
 * Header word: the first segment writers may claim. The segments below it are the index's
 * (SEG_INDEX) or are being taken for it; growth raises it before it takes them.
 */
export const H_FIRST_SEGMENT = 25;
/** Version counters a thread takes from H_VERSION_NEXT at a time. */
export const VERSION_BLOCK = 256;

// ── thread blocks ─────────────────────────────────────────────────────────────────────
/** How many threads may attach at once. */
export const THREAD_BLOCK_COUNT = 64;
/** One thread block, in bytes. */
export const THREAD_BLOCK_BYTES = 1024;
/** Byte offset of thread block 0. */
export const THREAD_BLOCKS_OFFSET = HEADER_BYTES;
/** Thread block fields, as i32 word indices from the block's start. */
export const T_STATE = 0;
/** Bucket index + 1 this thread is locking or about to lock; 0 = none. */
export const T_HELD_BUCKET = 1;
/** Index + 1 of this thread's active segment of the small queue (new writes); 0 = none. */
export const T_ACTIVE_SEGMENT = 2;
/** `worker_threads.threadId` of the attached thread. */
export const T_WORKER_THREAD_ID = 3;
/** A word nobody writes: a thread sleeps on it with `Atomics.wait` while it backs off. */
export const T_PARK = 4;
/** 1 while this thread counts in the feed's F_WATCHERS (so repair can take it back). */
export const T_WATCHING = 5;
/** Index + 1 of this thread's active segment of the main queue (promotions, ghost hits); 0 = none. */
export const T_ACTIVE_MAIN_SEGMENT = 6;
/** Byte offset of the counters inside a thread block. */
export const T_COUNTERS_BYTE = 64;
/** Thread block states. */
export const THREAD_FREE = 0;
/** Thread block state: claimed by a thread. */
export const THREAD_ATTACHED = 1;

/** Per-thread counters (f64 slots from T_COUNTERS_BYTE), each written only by its thread. */
export const C_HITS = 0;
/** Counter: reads that found none. */
export const C_MISSES = 1;
/** Counter: successful writes. */
export const C_SETS = 2;
/** Counter: deletes that removed a live entry. */
export const C_DELETES = 3;
/** Entries linked into the index (new keys). */
export const C_LINKED = 4;
/** Entries unlinked from the index (replaced keys are not counted: link and unlink balance). */
export const C_UNLINKED = 5;
/** Counter: entries removed to make room. */
export const C_EVICTED_ITEMS = 6;
/** Counter: expired entries removed. */
export const C_EXPIRED_ITEMS = 7;
/** Counter: whole segments evicted by this thread. */
export const C_EVICTED_SEGMENTS = 8;
/** Counter: requests served by this thread (server workers). */
export const C_REQUESTS = 9;
/** Counter: entries copied from a small-queue segment into the main queue (read since written). */
export const C_PROMOTED = 10;
/** Counter: entries of an evicted main-queue segment copied forward inside main (read again). */
export const C_REINSERTED = 11;
/** Counter: new keys found in the ghost table (written straight into the main queue). */
export const C_GHOST_HITS = 12;
/** Counter: segments freed by compaction (live entries copied forward). */
export const C_COMPACTED_SEGMENTS = 13;
/** Counter: entries copied forward by compaction. */
export const C_COMPACTED_ITEMS = 14;
/** Counter: fingerprints added to the ghost table (from either queue). */
export const C_GHOST_INSERTS = 15;
/** Counter: ghost hits on a fingerprint left by the main queue (a subset of C_GHOST_HITS). */
export const C_GHOST_MAIN_HITS = 16;
/** Counter: fingerprints the main queue added to the ghost table (a subset of C_GHOST_INSERTS). */
export const C_GHOST_MAIN_INSERTS = 17;
/** Counter: code cache data found and accepted by V8 (code-cache/, docs/design.md §9). */
export const C_CODE_CACHE_HITS = 18;
/** Counter: code cache lookups that found no data (compiled without). */
export const C_CODE_CACHE_MISSES = 19;
/** Counter: code cache data refused (V8's `cachedDataRejected`, or a failed checksum), then replaced. */
export const C_CODE_CACHE_REJECTED = 20;
/** Counter: bytes of code cache data stored (cumulative). */
export const C_CODE_CACHE_STORED_BYTES = 21;
/** Counter slots per thread block (room to grow). */
export const COUNTER_COUNT = 22;

// ── index ─────────────────────────────────────────────────────────────────────────────
/**
 * One bucket, in bytes: three cache lines. Line 0 holds the seqlock (which is also the lock)
 * and the 14 tags, so a read of a key that is not cached touches one line; lines 1 and 2 hold
 * each way's ref with its version counter beside it, read only for a way whose tag matched,
 * so a hit reads one more line, as with refs alone. (Versions in a line or a region of their
 * own would cost every hit another line.) 14 ways rather than 7 (one line) because a full
 * bucket must evict one of its own entries whatever its worth, leaving its bytes dead in
 * a segment: at 70% of ways used, about 4.7% of items land past a 7-way bucket's capacity
 * against 1.7% past a 14-way one (Poisson); bench:eviction and bench:memory show segments
 * fuller with 14 ways.
 */
export const BUCKET_BYTES = 192;
/** i32 words per bucket. */
export const BUCKET_WORDS = 48;
/** Ways (tag, ref pairs) per bucket. */
export const WAYS = 14;
/**
 * Word index (within a bucket) of the seqlock sequence, which is also the bucket's write
 * lock (bucket-lock.ts): even = unlocked (the version), odd = locked, with the owner in
 * {@link SEQ_OWNER_MASK} and the version's bits above it kept.
 */
export const B_SEQ = 0;
/**
 * Word index (within a bucket) of its frequency counters: a 2-bit access counter per way
 * (way w at bits 2w, 2w+1), advisory (frequency.ts). In the bucket since layout 10, so that
 * it grows with the index.
 */
export const B_FREQ = 1;
/** Word index (within a bucket) of way 0's tag; way w's tag is at B_TAGS + w (line 0). */
export const B_TAGS = 2;
/** Word index (within a bucket) of way 0's ref; way w's ref is at B_REFS + w × REF_STRIDE (lines 1-2). */
export const B_REFS = 16;
/** Words from one way's ref to the next way's: each ref has its version counter beside it. */
export const REF_STRIDE = 2;
/**
 * Word index (within a bucket) of way 0's version counter; way w's is at
 * B_VERSIONS + w × REF_STRIDE, beside its ref. Set when a write links the way, kept when its
 * entry moves (table/version.ts).
 */
export const B_VERSIONS = B_REFS + 1;
/** Word index (within a bucket) of the first of four spare words, after the ways. */
export const B_SPARE = B_REFS + WAYS * REF_STRIDE;
/** Bytes the version counters add to a bucket (128 B before them), for accounting (bench:memory). */
export const BUCKET_VERSION_BYTES = 64;
/** Bit of a bucket's seq word set while the bucket is locked. */
export const SEQ_LOCKED = 1;
/** Bits of a locked seq word that hold the owner (thread block index + 1, 1..64). */
export const SEQ_OWNER_MASK = 0xfe;
/** Shift of the owner within a locked seq word. */
export const SEQ_OWNER_SHIFT = 1;
/** Low bits of the seq word that a lock replaces (locked bit and owner). */
export const SEQ_LOCK_BITS = SEQ_OWNER_MASK | SEQ_LOCKED;
/** The locked seq word of owner `owner` for a bucket whose version was `s` (even). */
export function seqLockedBy(s: number, owner: number): number {
  return (s & ~SEQ_LOCK_BITS) | (owner << SEQ_OWNER_SHIFT) | SEQ_LOCKED;
}
/** Owner (thread block index + 1) of a locked seq word, 0 if `seq` is unlocked (even). */
export function seqOwner(seq: number): number {
  return seq & SEQ_LOCKED ? (seq & SEQ_OWNER_MASK) >>> SEQ_OWNER_SHIFT : 0;
}
/** Frequency bytes per bucket: one u32 (word B_FREQ of the bucket) holding a 2-bit counter per way (28 bits used). */
export const FREQ_BYTES_PER_BUCKET = 4;
/** Bits per way's frequency counter in the bucket's u32. */
export const FREQ_BITS = 2;
/** Largest value of a way's frequency counter. */
export const FREQ_MAX = 3;

// ── ghost table ───────────────────────────────────────────────────────────────────────
/** One ghost line, in bytes (one cache line). */
export const GHOST_LINE_BYTES = 64;
/** u16 halfwords per ghost line: halfword 0 is the insert cursor, the rest hold fingerprints. */
export const GHOST_LINE_HALFWORDS = 32;
/** Fingerprint slots (16 bits each: an origin bit and a 15-bit fingerprint) per ghost line. */
export const GHOST_SLOTS_PER_LINE = 31;
/** Ghost line halfword: the insert cursor (next slot, modulo GHOST_SLOTS_PER_LINE). */
export const GL_CURSOR = 0;
/** Ghost line halfword of the first fingerprint slot; slot i is at GL_FIRST_SLOT + i. */
export const GL_FIRST_SLOT = 1;
/**
 * Segment bytes per ghost line: the ghost holds a fingerprint per 264 bytes of segments
 * (31 per line), about one per item of 264 B, whatever the index's size.
 */
export const SEGMENT_BYTES_PER_GHOST_LINE = 8192;
/** Index bytes per bucket (its frequency counters are inside it). */
export const INDEX_BYTES_PER_BUCKET = BUCKET_BYTES;
/** Bytes of an index of `buckets` buckets (the initial region and the segments it grew over). */
export function indexBytesFor(buckets: number): number {
  return buckets * INDEX_BYTES_PER_BUCKET;
}
/** At most this share of the segments' bytes may become index as it grows. */
export const INDEX_GROWTH_MAX_FRACTION = 1 / 4;

// ── segment table ─────────────────────────────────────────────────────────────────────
/** One segment table row, in bytes. */
export const SEGMENT_ROW_BYTES = 32;
/** i32 words per segment table row. */
export const SEGMENT_ROW_WORDS = 8;
/** Segment row word: state (low 8 bits) and owner thread + 1 (above). */
export const S_STATE = 0;
/** Segment row word: bytes written so far (entries below it are whole). */
export const S_WRITE_OFFSET = 1;
/** Segment row word: bytes of entries the index still points at. */
export const S_LIVE_BYTES = 2;
/** Segment row word: bumped each time the segment is freed (half of an entry version). */
export const S_GENERATION = 3;
/** Segment row word: FIFO position, from H_SEAL_SEQ when sealed. */
export const S_SEAL_SEQ = 4;
/** Segment row word: unix seconds when it became active. */
export const S_CREATED_AT = 5;
/** Segment row word: the queue it belongs to (QUEUE_SMALL or QUEUE_MAIN), set when claimed. */
export const S_QUEUE = 6;
/** Segment row word of a SEG_SPAN segment: the index of the segment its entry starts in (the span's head). */
export const S_SPAN_HEAD = 7;
/** Queues of the S3-FIFO policy (Yang et al., SOSP 2023): new writes enter the small queue. */
export const QUEUE_SMALL = 0;
/** The main queue: entries read while in the small queue, and keys that return from the ghost. */
export const QUEUE_MAIN = 1;
/** Segment states live in the low 8 bits of S_STATE; the owner thread (block + 1) above. */
export const SEG_FREE = 0;
/** Segment state: one thread appends to it. */
export const SEG_ACTIVE = 1;
/** Segment state: full, read-only, waiting in FIFO order. */
export const SEG_SEALED = 2;
/** Segment state: a thread is unlinking its entries. */
export const SEG_EVICTING = 3;
/** Segment state: taken by the index as it grew over it (index-growth.ts); never given back. */
export const SEG_INDEX = 5;
/**
 * Segment state: holds the rest of one entry larger than a segment, which starts in the
 * segment before it (a span: a head segment in any other state, then SEG_SPAN segments, one
 * run of adjacent segments, so the entry's bytes are contiguous). Never claimed, sealed or
 * evicted itself: freed with its head (segments.ts freeSegmentClaimed).
 */
export const SEG_SPAN = 4;
/** Mask of the state in S_STATE. */
export const SEG_STATE_MASK = 0xff;
/** Shift of the owner in S_STATE. */
export const SEG_OWNER_SHIFT = 8;
/** First byte offset in a segment where an entry may start (0 stays unused so ref 0 is empty). */
export const SEGMENT_FIRST_OFFSET = 8;

// ── change feed ───────────────────────────────────────────────────────────────────────
/** Change feed header, in bytes. */
export const FEED_HEADER_BYTES = 64;
/** Feed header words: next sequence to reserve. */
export const F_HEAD = 0;
/** Feed header word: threads with at least one watch (writers publish only while > 0). */
export const F_WATCHERS = 1;
/** Feed header word: readers parked in Atomics.waitAsync (writers notify only while > 0). */
export const F_PARKED = 2;
/** Feed header word: bumped and notified by writers when a reader is parked. */
export const F_NOTIFY = 3;
/** Slots in the feed ring (a power of two). */
export const FEED_SLOTS = 2048;
/** One feed slot, in bytes. */
export const FEED_SLOT_BYTES = 128;
/** Feed slot words. */
export const FS_SEQ = 0;
export const FS_KIND_LEN = 1;
export const FS_HASH_LO = 2;
export const FS_HASH_HI = 3;
/** Byte offset of the key bytes in a slot, and how many fit. */
export const FS_KEY_BYTE = 16;
export const FEED_KEY_BYTES = FEED_SLOT_BYTES - FS_KEY_BYTE;
/** Change kinds. */
export const CHANGE_SET = 1;
export const CHANGE_DELETE = 2;
export const CHANGE_EXPIRE = 3;
export const CHANGE_EVICT = 4;

// ── entry ─────────────────────────────────────────────────────────────────────────────
/**
 * Entry header, in bytes. It holds no hash: whoever needs an entry's bucket or tag away from
 * its key's lookup (eviction, compaction, repair, the change feed) hashes the key bytes
 * again (`SharedView.hashEntryKey`), which costs about as much as reading 8 more bytes and saves
 * them on every item.
 */
export const ENTRY_HEADER_BYTES = 12;
/** Entry fields, as i32 word indices from the entry's start. Entry word: key length (low 16 bits), flags (high 16). */
export const E_KEYLEN_FLAGS = 0;
/** Mask of the key length in E_KEYLEN_FLAGS. */
export const KEYLEN_MASK = 0xffff;
/** Shift of the flags in E_KEYLEN_FLAGS. */
export const FLAGS_SHIFT = 16;
/** Entry word: value length, in bytes. */
export const E_VALUE_LEN = 1;
/** Entry word: expiry, unix seconds (0 = never). */
export const E_EXPIRE_AT = 2;
/** Entries are aligned to this many bytes. */
export const ENTRY_ALIGN_BYTES = 8;
/** The largest key a u16 length field can describe, in bytes. */
export const KEY_BYTES_LIMIT = 0xffff;
/** Value types, in the low 4 bits of the entry's flags. */
export const TYPE_BYTES = 0;
/** Value type: a UTF-8 string. */
export const TYPE_STRING = 1;
/** Value type: a 64-bit signed integer in decimal ASCII (written by incr/decr). */
export const TYPE_INTEGER = 2;
/** Value type: a list, as commands/collection-value.ts encodes it. */
export const TYPE_LIST = 3;
/** Value type: a hash (field → value), as commands/collection-value.ts encodes it. */
export const TYPE_HASH = 4;
/** Mask of the value type in flags. */
export const TYPE_MASK = 0xf;
/**
 * Flag bit (in E_KEYLEN_FLAGS, above the type) set once the entry is unlinked from the
 * index (segments.ts unlinkWayLocked), under its bucket's lock; never cleared while the
 * entry's segment lives. A snapshot copies a segment's entries in memory order and skips the
 * ones that carry it (table/snapshot-walk.ts), instead of first reading the whole index to
 * learn which entries are linked.
 */
export const ENTRY_UNLINKED = 1 << 20;
/**
 * The millisecond part of an entry's expiry, in E_KEYLEN_FLAGS bits 21-30 (ttl.ts
 * `expiryCode`): 0 = the entry expires at E_EXPIRE_AT's whole second, judged by the shared
 * clock (entries restored from a snapshot or the WAL, which keep whole seconds); 1..1000 =
 * it expires `code - 1` ms before that second, judged by the real clock in its last second.
 * Written with the entry, and changed in place only under the bucket lock (setTtl).
 */
export const EXPIRE_CODE_SHIFT = 21;
/** Mask of the expiry code after {@link EXPIRE_CODE_SHIFT}. */
export const EXPIRE_CODE_MASK = 0x3ff;

/** Bytes an entry with these key and value sizes occupies, padding included. */
export function entryBytes(keyBytes: number, valueBytes: number): number {
  return (ENTRY_HEADER_BYTES + keyBytes + valueBytes + 7) & ~7;
}

/** Rounds `n` up to a multiple of `align` (a power of two). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * The size of every region, derived from the bucket count, segment size and segment
 * count. Pure data: it is what the header records, so any thread can rebuild it.
 */
export interface Geometry {
  /**
   * Buckets of the index region at format. The count now is the header's H_BUCKET_COUNT
   * (the index grows over the first segments, up to {@link maxBucketCount}).
   */
  bucketCount: number;
  /** Buckets the index may grow to: its region plus INDEX_GROWTH_MAX_FRACTION of the segments. */
  maxBucketCount: number;
  /** Bytes per segment; a power of two. */
  segmentBytes: number;
  /** Number of segments. */
  segmentCount: number;
  /** Bits of a ref that hold offset/8 inside a segment. */
  offsetBits: number;
  /** Byte offsets of each region. */
  indexOffset: number;
  ghostOffset: number;
  /** Lines in the ghost table: one per SEGMENT_BYTES_PER_GHOST_LINE of segments, rounded up. */
  ghostLines: number;
  segmentTableOffset: number;
  feedOffset: number;
  segmentsOffset: number;
  /** Total buffer size, in bytes. */
  totalBytes: number;
}

/**
 * Computes every region's offset from the three numbers that define a table. The index
 * region ends where segment 0 starts, so that the index grows over segments 0, 1, … with
 * no gap (bucket b is at indexOffset + b × BUCKET_BYTES whatever the count).
 */
export function computeGeometry(bucketCount: number, segmentBytes: number, segmentCount: number): Geometry {
  const offsetBits = Math.log2(segmentBytes / ENTRY_ALIGN_BYTES);
  const ghostOffset = THREAD_BLOCKS_OFFSET + THREAD_BLOCK_COUNT * THREAD_BLOCK_BYTES;
  const ghostLines = Math.max(1, Math.ceil((segmentCount * segmentBytes) / SEGMENT_BYTES_PER_GHOST_LINE));
  const segmentTableOffset = alignUp(ghostOffset + ghostLines * GHOST_LINE_BYTES, REGION_ALIGN_BYTES);
  const feedOffset = alignUp(segmentTableOffset + segmentCount * SEGMENT_ROW_BYTES, REGION_ALIGN_BYTES);
  const feedEnd = feedOffset + FEED_HEADER_BYTES + FEED_SLOTS * FEED_SLOT_BYTES;
  const segmentsOffset = alignUp(feedEnd + bucketCount * BUCKET_BYTES, SEGMENT_ALIGN_BYTES);
  // BUCKET_BYTES is a multiple of REGION_ALIGN_BYTES and segmentsOffset of a page: aligned.
  const indexOffset = segmentsOffset - bucketCount * BUCKET_BYTES;
  const totalBytes = segmentsOffset + segmentCount * segmentBytes;
  const maxBucketCount = bucketCount + Math.floor((segmentCount * segmentBytes * INDEX_GROWTH_MAX_FRACTION) / BUCKET_BYTES);
  return { bucketCount, maxBucketCount, segmentBytes, segmentCount, offsetBits, indexOffset, ghostOffset, ghostLines, segmentTableOffset, feedOffset, segmentsOffset, totalBytes };
}

/**
 * The segments an index of `buckets` buckets covers, wholly or in part: segments
 * 0 .. (this − 1) are the index's; writers claim from here on.
 */
export function firstSegmentFor(g: Geometry, buckets: number): number {
  return Math.max(0, Math.ceil((g.indexOffset + buckets * BUCKET_BYTES - g.segmentsOffset) / g.segmentBytes));
}

/**
 * Bytes from segment `s`'s first byte to the end of the segments region: the furthest an
 * entry starting in `s` may reach (an entry larger than a segment spans the next ones).
 */
export function bytesToSegmentsEnd(g: Geometry, s: number): number {
  return (g.segmentCount - s) * g.segmentBytes;
}

/** Bytes used by everything but the segments (header, thread blocks, ghost, segment table, feed, the index region). */
export function metadataBytes(g: Geometry): number {
  return g.segmentsOffset;
}

/** The largest segment count a ref can address with this many offset bits. */
export function maxSegmentsForOffsetBits(offsetBits: number): number {
  // 31 usable bits keep refs positive i32; segment index 0 is allowed (its offset 0 is never used).
  return 2 ** (31 - offsetBits);
}

// ── accessors: word indices into an Int32Array over the whole buffer ─────────────────
/**
 * The bucket of a key whose bucket hash lane is `lo`: multiply-shift range reduction
 * (D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019), so the
 * bucket count need not be a power of two and the index can be sized to its target load
 * exactly. The product is a double: below 2^53 it is exact, above it is rounded, which is
 * still a fixed function of `lo`, and never reaches `count` (the rounding error, at most
 * count × 2^-21, stays below the gap of at least `count`). Uses the high bits of `lo`.
 */
export function rangeOf(lo: number, count: number): number {
  return ((lo >>> 0) * count * 2 ** -32) | 0;
}
/**
 * The bucket of a key whose bucket hash lane is `lo` when the index has `n` buckets: linear
 * hashing (W. Litwin, "Linear hashing: a new tool for file and table addressing", VLDB
 * 1980). With 2^k ≤ n < 2^(k+1): the low k+1 bits of `lo`, or its low k bits when those name
 * a bucket not made yet. Going from n to n + 1 buckets moves keys out of one bucket only
 * (n − 2^k), into the new bucket n: the owner splits it under its lock (index-growth.ts).
 */
export function bucketFor(lo: number, n: number): number {
  const high = 1 << (31 - Math.clz32(n)); // 2^k
  const b = lo & (2 * high - 1);
  return b < n ? b : b & (high - 1);
}
/** Word index of bucket `b`'s first word. */
export function bucketWord(g: Geometry, b: number): number {
  return (g.indexOffset >>> 2) + b * BUCKET_WORDS;
}
/** Index, in an Int32Array over the whole buffer, of bucket `b`'s frequency counters (one u32). */
export function freqWord(g: Geometry, b: number): number {
  return bucketWord(g, b) + B_FREQ;
}
/** Index, in a Uint16Array over the whole buffer, of ghost line `l`'s insert cursor. */
export function ghostLineHalfword(g: Geometry, l: number): number {
  return (g.ghostOffset >>> 1) + l * GHOST_LINE_HALFWORDS;
}
/** Word index of segment `s`'s table row. */
export function segmentRowWord(g: Geometry, s: number): number {
  return (g.segmentTableOffset >>> 2) + s * SEGMENT_ROW_WORDS;
}
/** Word index of change feed header word `w` (F_…). */
export function feedWord(g: Geometry, w: number): number {
  return (g.feedOffset >>> 2) + w;
}
/** Byte offset of feed slot `i` (0..FEED_SLOTS-1). */
export function feedSlotByte(g: Geometry, i: number): number {
  return g.feedOffset + FEED_HEADER_BYTES + i * FEED_SLOT_BYTES;
}
/** Byte offset of segment `s`'s first byte. */
export function segmentByte(g: Geometry, s: number): number {
  return g.segmentsOffset + s * g.segmentBytes;
}
/** Word index of thread block `t`'s first word. */
export function threadBlockWord(t: number): number {
  return (THREAD_BLOCKS_OFFSET + t * THREAD_BLOCK_BYTES) >>> 2;
}
/** f64 index of thread block `t`'s first counter. */
export function threadCountersF64(t: number): number {
  return (THREAD_BLOCKS_OFFSET + t * THREAD_BLOCK_BYTES + T_COUNTERS_BYTE) >>> 3;
}
/** Makes a ref from a segment index and a byte offset inside it (a multiple of 8). */
export function makeRef(g: Geometry, segment: number, offsetInSegment: number): number {
  return (segment << g.offsetBits) | (offsetInSegment >>> 3);
}
/** The segment index a ref names. */
export function refSegment(g: Geometry, ref: number): number {
  return ref >>> g.offsetBits;
}
/** The byte offset inside its segment that a ref names. */
export function refOffset(g: Geometry, ref: number): number {
  return (ref & ((1 << g.offsetBits) - 1)) << 3;
}
/** Byte offset in the whole buffer of the entry a ref names. */
export function refByte(g: Geometry, ref: number): number {
  return g.segmentsOffset + (ref >>> g.offsetBits) * g.segmentBytes + ((ref & ((1 << g.offsetBits) - 1)) << 3);
}
