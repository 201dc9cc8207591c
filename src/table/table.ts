/**
 * One thread's handle on the shared table: seqlock reads, locked writes (DESIGN §3–4).
 *
 * Every thread that attaches builds its own `Table` over the same buffer, claiming one of
 * the 64 thread blocks (its counters, its heldBucket register, its active segment).
 * Nothing here allocates on a lookup except the value handed back to the caller.
 *
 * @module
 */
import { LITTLE_ENDIAN } from '../util/endian.ts';
import { BadTtlError, BadValueError, OutOfMemoryError, TooManyThreadsError, ValueTooLargeError } from '../errors.ts';
import { lockBucket, unlockBucket, validateSeq } from './bucket-lock.ts';
import { feedWatched, publishChange, publishEntryChange } from './change-feed.ts';
import { GHOST_FROM_MAIN, GHOST_MISS, ghostInsert, ghostTake } from './ghost.ts';
import { evictOldestDropping, evictSegment, smallTargetSegments } from '../memory/eviction.ts';
import { addInt64, checkDelta, INT64_MAX_DIGITS, parseInt64 } from './integer-value.ts';
import { KeyCodec } from './key-codec.ts';
import {
  B_REFS, REF_STRIDE, B_TAGS, BUCKET_WORDS, C_DELETES, CHANGE_DELETE, CHANGE_EVICT, CHANGE_EXPIRE, CHANGE_SET, C_EVICTED_ITEMS, C_EXPIRED_ITEMS, C_HITS, C_LINKED, C_MISSES, C_SETS, C_UNLINKED,
  E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, ENTRY_UNLINKED, FLAGS_SHIFT, freqWord,
  H_CLOCK_SECONDS, H_VERSION_EPOCH, B_VERSIONS, VERSION_BLOCK, S_LIVE_BYTES, S_SEAL_SEQ, S_STATE, S_WRITE_OFFSET, SEG_SEALED,
  SEGMENT_ROW_WORDS, T_ACTIVE_MAIN_SEGMENT, T_ACTIVE_SEGMENT, T_PARK, T_STATE, C_GHOST_HITS, C_GHOST_INSERTS, C_GHOST_MAIN_HITS, H_FULL, H_SMALL_SEGMENTS, QUEUE_MAIN, QUEUE_SMALL, S_QUEUE, T_WORKER_THREAD_ID, THREAD_ATTACHED, THREAD_BLOCK_COUNT, rangeOf,
  KEYLEN_MASK, REGION_ALIGN_BYTES, SEGMENT_FIRST_OFFSET, H_WAL_SEQ_I64, THREAD_FREE, TYPE_BYTES, TYPE_INTEGER, TYPE_MASK, TYPE_STRING, WAYS, bucketWord, entryBytes, makeRef, segmentRowWord,
  threadBlockWord, threadCountersF64,
} from './layout.ts';
import { acquireSegment, sealSegment, type ThreadContext, unlinkWayLocked } from './segments.ts';
import { R_BUCKET, R_HI, R_REF, RECORD_WORDS, RestoreBatch } from './restore-batch.ts';
import { SharedView } from './shared-view.ts';
import { takeVersionBlock } from './version.ts';
import { freqBump, freqClearLocked, freqOf, freqSetLocked, freqWayMask } from './frequency.ts';

/**
 * Values up to this size are copied out into a per-thread slab (a 64 KiB ArrayBuffer that
 * many results share, as Node's Buffer pool does): allocating one ArrayBuffer per read costs
 * far more than the read itself (measured: ~350 ns for `slice` vs ~50 ns from a slab).
 */
const SLAB_VALUE_MAX_BYTES = 4096;
const SLAB_BYTES = 64 * 1024;
/** Values up to this many bytes are copied word by word (see copyInto); longer ones by memcpy. */
const COPY_BY_VIEW_MAX_BYTES = 192;

/** WAL record: the key now holds this value, type and expiry (set, incr's result). */
export const WAL_OP_SET = 1;
/** WAL record: the key was deleted. */
export const WAL_OP_DELETE = 2;
/** WAL record: the key's expiry changed (to `expireAt`, 0 = never). */
export const WAL_OP_EXPIRE = 3;
/** WAL record: every key was removed. */
export const WAL_OP_FLUSH = 4;

/**
 * Receives this thread's mutations for the write-ahead log (persist/wal-writer.ts). Called
 * after the bucket lock is released, with the sequence number taken inside it.
 */
export interface WalSink {
  /**
   * One mutation: `op` (WAL_OP_*), the first `keyLength` bytes of `key`, the value
   * (WAL_OP_SET; a string is stored as UTF-8), its value type and expiry (unix seconds,
   * 0 = never). Copy what is needed now: `key` is reused.
   */
  record(seq: number, op: number, key: Uint8Array, keyLength: number, value: string | Uint8Array | null, type: number, expireAt: number): void;
}

/**
 * Free segments a writer leaves alone: an evictor needs one to copy read entries forward
 * into (S3-FIFO), else it would have to drop them whenever a writer has to evict itself.
 */
const WRITER_RESERVE_SEGMENTS = 1;

/** Optimistic seqlock attempts before a reader takes the bucket lock (DESIGN §3). */
const READ_RETRIES = 16;
/**
 * Entries restoreEntries links in one batch at most, in bucket order (restore-batch.ts);
 * its records then take 2 × 64 MiB. The segments a batch may hold bound it first in most
 * caches: in bench:persist's 512 MiB cache (382,584 buckets), a load's two threads hold
 * 114 segments each, about 900 Ki entries of 128 bytes: 2.4 per bucket.
 */
const RESTORE_BATCH_ENTRIES = 1 << 22;
/** Largest TTL accepted, in seconds (about 68 years: expireAt must stay within u32). */
export const MAX_TTL_SECONDS = 2 ** 31 - 1;

/**
 * Whole seconds left until `expireAt` (unix seconds; 0 = never → -1), as Redis TTL reports
 * them: right after a write with `ttl=N` this is N (a key lives from N to N + 1 seconds, the
 * clock having whole-second resolution, and the part second is not reported), then it
 * counts down to 0. Never above {@link MAX_TTL_SECONDS}, so it fits every wire format (an
 * i32 in the WebSocket protocol). `nowMs` gives the time, in milliseconds since the epoch.
 */
export function remainingTtlSeconds(expireAt: number, nowMs: () => number): number {
  // The clock is read only for a key that expires: Date.now() costs about 85 ns here, 7% of a
  // WebSocket GET at depth 16 (bench:ab).
  if (expireAt === 0) return -1;
  return Math.min(MAX_TTL_SECONDS, Math.max(0, Math.floor((expireAt >>> 0) - nowMs() / 1000)));
}

/** Write conditions, decided inside the bucket lock. */
export const COND_ALWAYS = 0;
/** Store only if the key is absent or expired (NX, `If-None-Match: *`). */
export const COND_IF_ABSENT = 1;
/** Store only if the key is present (XX). */
export const COND_IF_PRESENT = 2;
/** Store only if the key's current version is the given one (CAS, `If-Match`). */
export const COND_IF_VERSION = 3;

const MODE_HAS = 0;
const MODE_BYTES = 1;
const MODE_STRING = 2;
const MODE_INTO = 3;

/** Claims a free thread block; returns its index. */
function claimThreadBlock(v: SharedView, workerThreadId: number): number {
  for (let t = 0; t < THREAD_BLOCK_COUNT; t++) {
    const tw = threadBlockWord(t);
    // The CAS decides the claim; the thread id is stored after it. Repair looks a block up by
    // thread id only after that thread has exited, so it always sees the id.
    if (Atomics.compareExchange(v.i32, tw + T_STATE, THREAD_FREE, THREAD_ATTACHED) === THREAD_FREE) {
      Atomics.store(v.i32, tw + T_WORKER_THREAD_ID, workerThreadId);
      return t;
    }
  }
  throw new TooManyThreadsError(THREAD_BLOCK_COUNT);
}

/**
 * A thread's view of the shared table. Not thread-safe itself (one per thread); the
 * table it views is.
 */
export class Table implements ThreadContext {
  readonly v: SharedView;
  /** Thread block index. */
  readonly thread: number;
  readonly owner: number;
  readonly threadWord: number;
  readonly counters: number;
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly f64: Float64Array;
  private readonly buf: Buffer;
  /** Buckets in the index (keys map to them with layout.rangeOf). */
  private readonly bucketCount: number;
  private readonly indexWord: number;
  /** Int32Array index of bucket 0's frequency counters (layout.freqWord). */
  private readonly freqBase: number;
  private readonly segRowWord: number;
  private readonly segBase: number;
  private readonly segBytes: number;
  private readonly offBits: number;
  private readonly offMask: number;
  private readonly segCount: number;
  readonly codec: KeyCodec;
  /** Index of this thread's active segment of the small queue (new writes), or -1. */
  private active = -1;
  /** Index of this thread's active segment of the main queue (copies forward, ghost hits), or -1. */
  private activeMain = -1;
  private closed = false;
  private slab = new ArrayBuffer(SLAB_BYTES);
  private slabUsed = 0;

  // Results of the last read (fields, so a read allocates nothing but the value itself).
  private outBytes: Uint8Array | undefined;
  private outString: string | undefined;
  private outDest: Uint8Array | null = null;
  /** A DataView over `outViewOf`'s memory, kept while callers pass the same array. */
  private outView: DataView | null = null;
  private outViewOf: Uint8Array | null = null;
  private outAt = 0;
  /** restoreEntries' entries not linked yet (made at the first restore). */
  private restoreBatch: RestoreBatch | null = null;
  /** Segments the restore holds ACTIVE (see linkBatch), in the order it claimed them. */
  private readonly batchSegs: number[] = [];
  /** The segment the restore fills, or -1, and its next free byte offset. */
  private batchSeg = -1;
  private batchOff = 0;
  /** Segments the current batch may hold (restoreHoldSegments, taken when it starts). */
  private batchHoldSegments = 2;
  /** linkBatch's live bytes per segment (made at the first link). */
  private restoreLive: Int32Array | null = null;
  /** Where this thread's mutations are logged (the server's WAL), or null. */
  walSink: WalSink | null = null;
  /** The WAL sequence the last logged mutation took inside its lock. */
  private walSeq = 0;
  /** Value length of the last hit. */
  lastValueLength = 0;
  /** Value type (TYPE_BYTES / TYPE_STRING / TYPE_INTEGER) of the last hit. */
  lastValueType = 0;
  /** expireAt (unix seconds, 0 = never) of the last hit. */
  lastExpireAt = 0;
  /** The cache's version epoch (layout.ts H_VERSION_EPOCH): the first half of every version. */
  readonly versionEpoch: number;
  /** The way's version counter of the last hit or write: the second half of its version. */
  lastVersion = 0;
  /** The next version counter this thread hands out, and the end of its block. */
  private versionNext = 0;
  private versionEnd = 0;

  constructor(v: SharedView, workerThreadId: number) {
    this.v = v;
    this.thread = claimThreadBlock(v, workerThreadId);
    this.owner = this.thread + 1;
    this.threadWord = threadBlockWord(this.thread);
    this.counters = threadCountersF64(this.thread);
    this.i32 = v.i32;
    this.u8 = v.u8;
    this.f64 = v.f64;
    this.buf = v.buf;
    const g = v.g;
    this.bucketCount = g.bucketCount;
    this.indexWord = bucketWord(g, 0);
    this.freqBase = freqWord(g, 0);
    this.versionEpoch = this.i32[H_VERSION_EPOCH];
    this.segRowWord = segmentRowWord(g, 0);
    this.segBase = g.segmentsOffset;
    this.segBytes = g.segmentBytes;
    this.offBits = g.offsetBits;
    this.offMask = (1 << g.offsetBits) - 1;
    this.segCount = g.segmentCount;
    this.codec = new KeyCodec(v.maxKeyBytes, v.seedA, v.seedB);
    this.smallTargetSegments = smallTargetSegments(g.segmentCount);
  }

  /** Time source for TTL deadlines, milliseconds since the epoch (the `now` option). */
  now: () => number = Date.now;

  /** Current coarse clock, unix seconds (advanced by the owner thread). */
  clockSeconds(): number {
    return this.i32[H_CLOCK_SECONDS] >>> 0;
  }

  // ── reads ───────────────────────────────────────────────────────────────────────────

  /** The value of `key` as a fresh (unshared) Uint8Array, or undefined. */
  getBytes(key: string | Uint8Array): Uint8Array | undefined {
    this.codec.encode(key);
    if (this.read(MODE_BYTES) < 0) return undefined;
    const out = this.outBytes;
    this.outBytes = undefined;
    return out;
  }

  /** The value of `key` decoded as UTF-8, or undefined. */
  getString(key: string | Uint8Array): string | undefined {
    this.codec.encode(key);
    if (this.read(MODE_STRING) < 0) return undefined;
    const out = this.outString;
    this.outString = undefined;
    return out;
  }

  /** Whether `key` is present and not expired. */
  has(key: string | Uint8Array): boolean {
    this.codec.encode(key);
    return this.read(MODE_HAS) >= 0;
  }

  /**
   * Whole seconds until `key` expires ({@link remainingTtlSeconds}), -1 if it never does, -2
   * if it is absent (Redis TTL).
   */
  ttl(key: string | Uint8Array): number {
    this.codec.encode(key);
    if (this.read(MODE_HAS) < 0) return -2;
    return remainingTtlSeconds(this.lastExpireAt, this.now);
  }

  /**
   * Appends to `out` (UTF-8 bytes, copies) the keys of live entries in buckets from
   * `cursor` on that start with `prefix`, until `out` holds `count` keys or a bounded number
   * of buckets was visited. Returns the next cursor, 0 when the walk is complete.
   *
   * Each bucket is read under its seqlock (writers are never blocked). A key's bucket is
   * fixed by its hash and the index never resizes, so a key present for the whole walk is
   * returned exactly once; a key added or removed during the walk may or may not be.
   */
  scan(cursor: number, count: number, prefix: Uint8Array | null, out: Uint8Array[]): number {
    const n = this.v.g.bucketCount;
    const i32 = this.i32;
    const clock = this.clockSeconds();
    const maxBuckets = count * 16 + 1024;
    const found: Uint8Array[] = [];
    let b = cursor;
    for (let visited = 0; b < n && out.length < count && visited < maxBuckets; b++, visited++) {
      const bw = this.indexWord + b * BUCKET_WORDS;
      let done = false;
      for (let attempt = 0; attempt < READ_RETRIES && !done; attempt++) {
        const s1 = Atomics.load(i32, bw);
        if (s1 & 1) continue;
        this.collectKeys(bw, prefix, clock, found);
        // Ordering: validate after every plain load of collectKeys (see bucket-lock.ts).
        done = validateSeq(i32, bw, s1) === s1;
      }
      if (!done) {
        // A bucket that kept changing: read it under its lock, as read() does.
        const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
        try {
          this.collectKeys(bw, prefix, clock, found);
        } finally {
          unlockBucket(i32, bw, s, this.threadWord);
        }
      }
      for (const k of found) out.push(k);
    }
    return b >= n ? 0 : b;
  }

  /**
   * Copies into `found` (emptied first) the keys of bucket `bw`'s live entries that start
   * with `prefix`. Bounds-checked: it may run on a torn bucket, whose result is discarded.
   */
  private collectKeys(bw: number, prefix: Uint8Array | null, clock: number, found: Uint8Array[]): void {
    const i32 = this.i32;
    const u8 = this.u8;
    found.length = 0;
    for (let w = 0; w < WAYS; w++) {
      const e = this.checkedEntry(i32[bw + B_REFS + w * REF_STRIDE]);
      if (e < 0) continue;
      const ew = e >>> 2;
      const keyLen = i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK;
      const exp = i32[ew + E_EXPIRE_AT] >>> 0;
      if (exp !== 0 && exp <= clock) continue;
      const ks = e + ENTRY_HEADER_BYTES;
      if (prefix) {
        if (keyLen < prefix.length) continue;
        let match = true;
        for (let i = 0; i < prefix.length; i++) if (u8[ks + i] !== prefix[i]) { match = false; break; }
        if (!match) continue;
      }
      found.push(u8.slice(ks, ks + keyLen));
    }
  }

  /**
   * Stores `value` (of value type `type`) under `key` with an absolute expiry `expireAt`
   * (unix seconds, 0 = never), as loading a snapshot or replaying a log does. An entry
   * already expired is not stored (returns false).
   * @throws the key and value errors of {@link set}.
   */
  restore(key: Uint8Array, value: Uint8Array, type: number, expireAt: number): boolean {
    if (expireAt !== 0 && expireAt <= this.clockSeconds()) return false;
    if (type !== TYPE_STRING && type !== TYPE_BYTES && type !== TYPE_INTEGER) throw new BadValueError(`unknown value type ${type}`);
    this.codec.encode(key);
    if (value.length > this.v.maxValueBytes) throw new ValueTooLargeError(this.v.maxValueBytes);
    const size = entryBytes(this.codec.length, value.length);
    const e = this.reserveEntry(size, value.length, type, expireAt >>> 0, this.queueForWrite());
    this.u8.set(value, e + ENTRY_HEADER_BYTES + this.codec.length);
    return this.commitReserved(e, size, COND_ALWAYS, 0, 0);
  }

  /**
   * Bulk restore, as loading a snapshot does: stores the `count` entries of `src` that start
   * at the byte offsets `starts[0..count)`. Each is laid out as an entry is in the buffer
   * (layout.ts: u32 key bytes | value type << 16, u32 value bytes, u32 expireAt, then the
   * key, then the value), only not padded to 8 bytes; the snapshot's entry record is that
   * layout by design (docs/snapshot-format.md); with `padded` each is followed by zeros to a
   * multiple of 8 bytes, and runs of them are copied whole. Each is stored as
   * {@link restore} stores one (already expired: skipped; no WAL record; no ghost lookup, so
   * a restored key never counts as a returning one), its bytes copied verbatim.
   *
   * Entries are copied into segments at once and linked into the index in batches, in
   * bucket order (restore-batch.ts says why). With `linkLater` the last batch stays
   * unlinked (invisible) until the next call, or {@link linkRestored}: a load that calls this
   * block after block links fuller batches. Two records of one key: the later one wins.
   * Returns how many were stored and how many were skipped as over this table's
   * `maxKeyBytes` / `maxValueBytes`, empty, or of an unknown value type.
   * @throws OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`) when no segment is free and none
   *   can be evicted.
   */
  restoreEntries(src: Uint8Array, starts: Int32Array, count: number, padded = false, linkLater = false): { stored: number; skipped: number } {
    let stored = 0;
    let skipped = 0;
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const batch = (this.restoreBatch ??= new RestoreBatch(Math.min(RESTORE_BATCH_ENTRIES, this.bucketCount * WAYS), this.bucketCount));
    const live = (this.restoreLive ??= new Int32Array(this.segCount));
    const clock = this.clockSeconds();
    const maxValue = this.v.maxValueBytes;
    const maxKey = this.v.maxKeyBytes;
    const runs = padded && LITTLE_ENDIAN;
    // Padded records start on 8 bytes of a payload that starts on 8 (SnapshotBlockReader),
    // so each key starts on 4: hashed a word at a time (KeyCodec.encodeWords).
    const src32 = runs && (src.byteOffset & 3) === 0 ? new Int32Array(src.buffer, src.byteOffset, src.byteLength >>> 2) : null;
    // A run of padded records that lie back to back both in `src` and in the segment: copied
    // with one memcpy when it ends.
    let runFrom = 0;
    let runEnd = -1;
    let runTo = 0;
    for (let i = 0; i < count; i++) {
      const at = starts[i];
      const kf = dv.getUint32(at, true);
      const keyLen = kf & KEYLEN_MASK;
      const type = kf >>> FLAGS_SHIFT;
      const exp = dv.getUint32(at + 8, true);
      const valueLen = dv.getUint32(at + 4, true);
      if (keyLen === 0 || keyLen > maxKey || valueLen > maxValue || (type !== TYPE_BYTES && type !== TYPE_STRING && type !== TYPE_INTEGER)) {
        skipped++;
        continue;
      }
      if (exp !== 0 && exp <= clock) continue; // expired: neither stored nor refused
      const size = entryBytes(keyLen, valueLen);
      if (src32 !== null && (at & 3) === 0) this.codec.encodeWords(src32, (at + ENTRY_HEADER_BYTES) >>> 2, keyLen);
      else this.codec.encodeSlice(src, at + ENTRY_HEADER_BYTES, keyLen);
      const lo = this.codec.hash[0];
      const hi = this.codec.hash[1];
      if (this.batchSeg < 0 || this.batchOff + size > this.segBytes || batch.full) {
        // The run's bytes go in before anything is linked (the link reads the key there).
        if (runEnd >= 0) this.u8.set(src.subarray(runFrom, runEnd), runTo);
        runEnd = -1;
        if (batch.full) this.linkBatch(true);
        if (this.batchSeg < 0 || this.batchOff + size > this.segBytes) this.nextBatchSegment();
      }
      const e = this.segBase + this.batchSeg * this.segBytes + this.batchOff;
      if (!runs) this.copyRecord(src, dv, at, e);
      else if (at === runEnd && runTo + (runEnd - runFrom) === e) runEnd += size;
      else {
        if (runEnd >= 0) this.u8.set(src.subarray(runFrom, runEnd), runTo);
        runFrom = at;
        runEnd = at + size;
        runTo = e;
      }
      batch.push(rangeOf(lo, this.bucketCount), hi, makeRef(this.v.g, this.batchSeg, this.batchOff));
      live[this.batchSeg] += size;
      this.batchOff += size;
      stored++;
    }
    if (runEnd >= 0) this.u8.set(src.subarray(runFrom, runEnd), runTo);
    if (!linkLater) this.linkRestored();
    return { stored, skipped };
  }

  /**
   * Links what {@link restoreEntries} left unlinked (`linkLater`), and gives back the
   * segments it holds: the one it was filling becomes this thread's active segment of its
   * queue, when that has none, else it is sealed, as the others are.
   */
  linkRestored(): void {
    if (this.restoreBatch === null) return;
    this.linkBatch(false);
  }

  /**
   * Publishes the write offset of the segment the restore fills, then claims a free one to
   * fill next (held ACTIVE, not this thread's active segment: see {@link linkBatch}),
   * evicting when none is free; when nothing can be evicted either, links the batch first
   * so that its segments can be sealed (and evicted).
   */
  private nextBatchSegment(): void {
    const i32 = this.i32;
    this.publishBatchOffset();
    this.batchSeg = -1;
    if (this.batchSegs.length === 0) this.batchHoldSegments = this.restoreHoldSegments();
    else if (this.batchSegs.length >= this.batchHoldSegments) this.linkBatch(false);
    for (let attempt = 0; attempt < 256; attempt++) {
      const s = acquireSegment(this, this.queueForNewKey(), WRITER_RESERVE_SEGMENTS);
      if (s >= 0) {
        this.batchSegs.push(s);
        this.batchSeg = s;
        this.batchOff = SEGMENT_FIRST_OFFSET;
        return;
      }
      if (evictSegment(this)) continue;
      if (this.batchSegs.length > 0) this.linkBatch(false);
      // Holding none, with none free or sealed: other restoring threads hold the rest, and
      // seal theirs when they link (at the latest when they too find none free).
      else Atomics.wait(i32, this.threadWord + T_PARK, 0, 1);
    }
    throw new OutOfMemoryError('no free segment and none can be evicted (every segment is active in some thread)');
  }

  /** Publishes the write offset of the segment the restore fills (if any) up to its last copy. */
  private publishBatchOffset(): void {
    if (this.batchSeg < 0) return;
    // Ordering: the write offset moves past every copy before any way points at one (as in
    // installLocked; linkBatch links only after this): whoever walks the segment up to its
    // write offset (repair after this thread dies, eviction once it is sealed) sees whole
    // entries; the ones not linked yet read as dead.
    Atomics.store(this.i32, this.segRowWord + this.batchSeg * SEGMENT_ROW_WORDS + S_WRITE_OFFSET, this.batchOff);
  }

  /**
   * Segments a restore's batch may hold before it is linked: half of all segments, shared
   * by the threads attached now (a load's main thread and helpers): together they leave
   * the other half to evict into and from. At least 2.
   */
  private restoreHoldSegments(): number {
    let attached = 0;
    for (let t = 0; t < THREAD_BLOCK_COUNT; t++) if (Atomics.load(this.i32, threadBlockWord(t) + T_STATE) === THREAD_ATTACHED) attached++;
    return Math.max(2, Math.floor(this.segCount / (2 * Math.max(1, attached))));
  }

  /**
   * Links the batch's entries into the index, in bucket order, each under its bucket's
   * lock, and adds their bytes to their segments' live bytes. Then gives back the segments
   * whose entries are all linked: every one but the one being filled (`keepFilling`), or all.
   *
   * Why the batch's segments stay ACTIVE (owned by this thread) until their entries are
   * linked: eviction walks a sealed segment without locks, trusting that a ref is never
   * linked once its segment is sealed (eviction.ts forEachLinked); linking into a sealed one
   * could leave a way pointing into a segment freed meanwhile. An ACTIVE segment is never a
   * victim, and repair seals every segment a dead thread owned (repair.ts).
   */
  private linkBatch(keepFilling: boolean): void {
    const batch = this.restoreBatch!;
    const i32 = this.i32;
    this.publishBatchOffset();
    batch.sort();
    const live = this.restoreLive!;
    const r = batch.records;
    const n = batch.count;
    for (let k = 0; k < n;) {
      // One lock for each run of records of one bucket.
      const b = r[k * RECORD_WORDS + R_BUCKET];
      const bw = this.indexWord + b * BUCKET_WORDS;
      const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
      try {
        k = this.linkRunLocked(bw, b, r, k, n);
      } finally {
        unlockBucket(i32, bw, s, this.threadWord);
      }
    }
    this.f64[this.counters + C_SETS] += batch.count;
    batch.count = 0;
    const keep = keepFilling ? this.batchSeg : -1;
    for (const seg of this.batchSegs) {
      const row = this.segRowWord + seg * SEGMENT_ROW_WORDS;
      // One add per segment, not one per entry (Atomics builtins are calls in this V8).
      // Atomic: another thread may already subtract an entry it overwrote or deleted, so the
      // count can dip below the truth for this moment. Safe: only sealed segments' live
      // bytes decide anything (compaction), and this add comes before the seal below. A
      // thread dying before it leaves the count short: a compaction picks that segment a
      // little early, and the count starts again from zero when the segment is freed.
      if (live[seg] !== 0) Atomics.add(i32, row + S_LIVE_BYTES, live[seg]);
      live[seg] = 0;
      if (seg === keep) continue;
      if (seg !== this.batchSeg) sealSegment(this.v, seg);
      else this.adoptOrSeal(seg, row);
    }
    this.batchSegs.length = 0;
    if (keep >= 0) this.batchSegs.push(keep);
    else this.batchSeg = -1;
  }

  /**
   * Links the batch's records from `k` on that are of bucket `b` (a run: the batch is
   * sorted), as {@link linkLocked} links each, and returns the index after the run. The
   * caller holds the bucket's lock. Per run, not per record: the search for an empty way
   * goes on from where the last one ended (this run fills the ways it finds empty, and a
   * way it frees it fills at once), and the new entries' frequency counters are reset with
   * one compare-and-swap at the end, or before an eviction, which reads them.
   */
  private linkRunLocked(bw: number, b: number, r: Int32Array, k: number, n: number): number {
    const i32 = this.i32;
    // Once per bucket, inside its lock (as installLocked's linkLocked reads it): the feed
    // then wants the key's other hash lane too, and gets this run's changes.
    const watched = feedWatched(this.v);
    const freqAt = this.freqBase + b;
    let empty = 0; // every way below it holds an entry
    let reset = 0; // the counters of the ways this run linked into, not reset yet
    let linked = 0;
    do {
      const at = k * RECORD_WORDS;
      const ref = r[at + R_REF];
      const hi = r[at + R_HI];
      const e = this.entryByte(ref);
      let target = this.findLocked(bw, hi, this.u8, e + ENTRY_HEADER_BYTES, -1);
      if (target >= 0) unlinkWayLocked(this.v, bw, target, i32[bw + B_REFS + target * REF_STRIDE]);
      else {
        while (empty < WAYS && i32[bw + B_REFS + empty * REF_STRIDE] !== 0) empty++;
        if (empty < WAYS) target = empty;
        else {
          if (reset !== 0) freqClearLocked(i32, freqAt, reset);
          reset = 0;
          target = this.evictWayLocked(bw, b);
        }
        linked++;
      }
      i32[bw + B_TAGS + target] = hi;
      i32[bw + B_REFS + target * REF_STRIDE] = ref;
      // A new version for the restored key, published with the ref by this lock's seq bump.
      i32[bw + B_VERSIONS + target * REF_STRIDE] = this.nextVersion();
      reset |= freqWayMask(target);
      if (watched) publishChange(this.v, CHANGE_SET, this.u8, e + ENTRY_HEADER_BYTES, i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK, this.v.hashEntryKey(e)[0], hi);
      k++;
    } while (k < n && r[k * RECORD_WORDS + R_BUCKET] === b);
    if (reset !== 0) freqClearLocked(i32, freqAt, reset);
    this.f64[this.counters + C_LINKED] += linked;
    return k;
  }

  /** The restore's last segment `seg` becomes this thread's active one of its queue if that has none; else it is sealed. */
  private adoptOrSeal(seg: number, row: number): void {
    const main = this.i32[row + S_QUEUE] === QUEUE_MAIN;
    if ((main ? this.activeMain : this.active) >= 0) return sealSegment(this.v, seg);
    if (main) this.activeMain = seg;
    else this.active = seg;
    // Published for observers, as activeWithRoom does; ownership is the state word's.
    Atomics.store(this.i32, this.threadWord + (main ? T_ACTIVE_MAIN_SEGMENT : T_ACTIVE_SEGMENT), seg + 1);
  }

  /** Copies the unpadded entry record at byte `at` of `src` (see restoreEntries) to byte `e`. */
  private copyRecord(src: Uint8Array, dv: DataView, at: number, e: number): void {
    const i32 = this.i32;
    const keyLen = dv.getUint32(at, true) & KEYLEN_MASK;
    const valueLen = dv.getUint32(at + 4, true);
    const bytes = ENTRY_HEADER_BYTES + keyLen + valueLen;
    if (LITTLE_ENDIAN) {
      // Aligned words out, unaligned reads in: the record's header is the entry's.
      let w = e >>> 2;
      let k = at;
      const end = at + (bytes & ~3);
      for (; k < end; k += 4, w++) i32[w] = dv.getInt32(k, true);
      for (let t = e + (bytes & ~3); k < at + bytes; k++, t++) this.u8[t] = src[k];
    } else {
      const ew = e >>> 2;
      i32[ew + E_KEYLEN_FLAGS] = dv.getUint32(at, true);
      i32[ew + E_VALUE_LEN] = valueLen;
      i32[ew + E_EXPIRE_AT] = dv.getUint32(at + 8, true);
      this.u8.set(src.subarray(at + ENTRY_HEADER_BYTES, at + bytes), e + ENTRY_HEADER_BYTES);
    }
  }

  /**
   * Removes every entry: unlinks all ways (bucket by bucket, each under its lock), then
   * frees every sealed segment. Active segments of other threads stay until they are
   * sealed. Returns the number of entries removed.
   */
  flush(): number {
    const i32 = this.i32;
    let removed = 0;
    // Logged first, numbered before the walk: a change another thread makes during the walk
    // may survive the flush or not, and a replay may keep it where the walk removed it.
    // Ordering: the atomic add numbers the flush after every change numbered before it.
    if (this.walSink !== null) this.walSink.record(Number(Atomics.add(this.v.i64, H_WAL_SEQ_I64, 1n)) + 1, WAL_OP_FLUSH, this.codec.bytes, 0, null, 0, 0);
    for (let b = 0; b < this.v.g.bucketCount; b++) {
      const bw = this.indexWord + b * BUCKET_WORDS;
      let any = false;
      for (let w = 0; w < WAYS; w++) if (i32[bw + B_REFS + w * REF_STRIDE] !== 0) any = true;
      if (!any) continue;
      const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
      try {
        for (let w = 0; w < WAYS; w++) {
          const ref = i32[bw + B_REFS + w * REF_STRIDE];
          if (ref === 0) continue;
          if (feedWatched(this.v)) publishEntryChange(this.v, CHANGE_DELETE, this.entryByte(ref));
          unlinkWayLocked(this.v, bw, w, ref);
          this.f64[this.counters + C_UNLINKED]++;
          removed++;
        }
      } finally {
        unlockBucket(i32, bw, s, this.threadWord);
      }
    }
    while (evictOldestDropping(this));
    // Empty again: the queues refill as on a fresh cache.
    Atomics.store(i32, H_FULL, 0);
    return removed;
  }

  /**
   * Copies the value of the key last passed to `codec.encode` into `dest`.
   * Returns its length (≥ 0) on a hit — if larger than `dest`, nothing was copied and the
   * caller retries with a larger buffer — or -1 on a miss. Sets `lastVersion` (with `versionEpoch`, the version).
   */
  readEncodedInto(dest: Uint8Array): number {
    return this.readEncodedIntoAt(dest, 0);
  }

  /** As {@link readEncodedInto}, copying to `dest` from offset `at` (if it fits there). */
  readEncodedIntoAt(dest: Uint8Array, at: number): number {
    this.outDest = dest;
    this.outAt = at;
    const r = this.read(MODE_INTO);
    this.outDest = null;
    return r;
  }

  /** Looks the encoded key up under the seqlock. Returns the value length, or -1. */
  private read(mode: number): number {
    const i32 = this.i32;
    const lo = this.codec.hash[0];
    const hi = this.codec.hash[1];
    const b = rangeOf(lo, this.bucketCount);
    const bw = this.indexWord + b * BUCKET_WORDS;
    for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
      const s1 = Atomics.load(i32, bw);
      if (s1 & 1) continue; // a writer is inside: retry (the writer holds it for ~100s of ns)
      const w = this.probe(bw, hi, mode);
      // Ordering: validate after every plain load of the probe (see bucket-lock.ts).
      if (validateSeq(i32, bw, s1) !== s1) continue;
      return this.finishRead(b, w);
    }
    // Too many writers in a row: read under the lock so the read finishes (DESIGN §3).
    const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
    try {
      return this.finishRead(b, this.probe(bw, hi, mode));
    } finally {
      unlockBucket(i32, bw, s, this.threadWord);
    }
  }

  private finishRead(b: number, w: number): number {
    if (w < 0) {
      this.f64[this.counters + C_MISSES]++;
      return -1;
    }
    this.f64[this.counters + C_HITS]++;
    // Advisory frequency: written only when it changes (DESIGN §3: readers do not write
    // shared lines on the hot path otherwise); a CAS, see frequency.ts.
    freqBump(this.i32, this.freqBase + b, w);
    return this.lastValueLength;
  }

  /**
   * Scans bucket `bw` for the encoded key and, on a live hit, copies the value out per
   * `mode`. Returns the way, or -1. May run on a torn bucket (no lock): every offset and
   * length is bounds-checked so garbage yields a miss or a value the seq check discards,
   * never an exception or a loop.
   */
  private probe(bw: number, hi: number, mode: number): number {
    const i32 = this.i32;
    for (let w = 0; w < WAYS; w++) {
      if (i32[bw + B_TAGS + w] !== hi) continue;
      const ref = i32[bw + B_REFS + w * REF_STRIDE];
      const e = this.checkedEntry(ref);
      if (e < 0) continue;
      const ew = e >>> 2;
      const kf = i32[ew + E_KEYLEN_FLAGS];
      const keyLen = kf & KEYLEN_MASK;
      const valueLen = i32[ew + E_VALUE_LEN];
      if (keyLen !== this.codec.length || !this.keyEquals(e + ENTRY_HEADER_BYTES, this.codec.bytes, 0, keyLen)) continue;
      const exp = i32[ew + E_EXPIRE_AT] >>> 0;
      if (exp !== 0 && exp <= (i32[H_CLOCK_SECONDS] >>> 0)) return -1;
      const vs = e + ENTRY_HEADER_BYTES + keyLen;
      this.lastExpireAt = exp;
      this.lastValueLength = valueLen;
      this.lastValueType = (kf >>> FLAGS_SHIFT) & TYPE_MASK;
      // Read before the seq check like every load of the probe (a torn read is retried).
      this.lastVersion = i32[bw + B_VERSIONS + w * REF_STRIDE];
      if (mode === MODE_BYTES) this.outBytes = this.copyOut(vs, valueLen);
      else if (mode === MODE_STRING) this.outString = this.buf.toString('utf8', vs, vs + valueLen);
      else if (mode === MODE_INTO) {
        if (valueLen <= this.outDest!.length - this.outAt) this.copyInto(vs, valueLen);
      }
      return w;
    }
    return -1;
  }

  /**
   * Copies `len` bytes at `from` out of shared memory into memory this thread owns. Small
   * values are views into the current slab; a full slab is replaced (the old one lives as
   * long as views of it do).
   */
  private copyOut(from: number, len: number): Uint8Array {
    let out: Uint8Array;
    if (len > SLAB_VALUE_MAX_BYTES) out = new Uint8Array(len);
    else {
      if (this.slabUsed + len > SLAB_BYTES) {
        this.slab = new ArrayBuffer(SLAB_BYTES);
        this.slabUsed = 0;
      }
      out = new Uint8Array(this.slab, this.slabUsed, len);
      this.slabUsed = (this.slabUsed + len + 7) & ~7;
    }
    out.set(this.u8.subarray(from, from + len));
    return out;
  }

  /**
   * Copies `len` value bytes at `from` to `outDest` at `outAt` without allocating: whole
   * words read from the (aligned) shared view and stored through a DataView at any offset,
   * bytes at either end. `set(subarray)` allocates a view per call: measured on Node 20,
   * about 30 ns against 10 ns (64 B) and 30 ns (256 B) for this loop, so longer values take
   * `set` (a memcpy), as does a big-endian machine.
   */
  private copyInto(from: number, len: number): void {
    const dest = this.outDest!;
    let to = this.outAt;
    if (len > COPY_BY_VIEW_MAX_BYTES || !LITTLE_ENDIAN) {
      dest.set(this.u8.subarray(from, from + len), to);
      return;
    }
    // The view is rebuilt only for another destination array (callers reuse theirs); an
    // identity check, since the typed-array getters (.buffer, .byteOffset) are not free.
    if (this.outViewOf !== dest) {
      this.outView = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
      this.outViewOf = dest;
    }
    const dv = this.outView!;
    const u8 = this.u8;
    const end = from + len;
    while (from < end && (from & 3) !== 0) dest[to++] = u8[from++];
    const i32 = this.i32;
    for (; from + 4 <= end; from += 4, to += 4) dv.setInt32(to, i32[from >>> 2], true);
    while (from < end) dest[to++] = u8[from++];
  }

  /**
   * The byte offset of the entry `ref` names, or -1 when `ref` is empty or it, or the key
   * and value lengths its header gives, point outside its segment. Readers take refs and
   * headers from buckets they have not locked (a torn read may hand them garbage): this is
   * the one bounds check they all make before touching an entry's bytes.
   */
  private checkedEntry(ref: number): number {
    if (ref === 0) return -1;
    const seg = ref >>> this.offBits;
    const off = (ref & this.offMask) << 3;
    if (seg >= this.segCount || off + ENTRY_HEADER_BYTES > this.segBytes) return -1;
    const e = this.segBase + seg * this.segBytes + off;
    const ew = e >>> 2;
    const keyLen = this.i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK;
    const valueLen = this.i32[ew + E_VALUE_LEN];
    if (keyLen === 0 || valueLen < 0 || off + ENTRY_HEADER_BYTES + keyLen + valueLen > this.segBytes) return -1;
    return e;
  }

  /**
   * Compares `len` bytes of `key` from `start` with the key bytes stored at byte `at`
   * (4-byte aligned): the encoded key (`codec.bytes`, from 0), or a record's key inside
   * another array (restoreEntries, whose codec holds the last key its group hashed).
   */
  private keyEquals(at: number, key: Uint8Array, start: number, len: number): boolean {
    const u8 = this.u8;
    let i = 0;
    if (key === this.codec.scratch && start === 0) {
      // Both sides 4-byte aligned: compare whole words first.
      const kw = this.codec.scratchWords;
      const i32 = this.i32;
      const aw = at >>> 2;
      const words = len >>> 2;
      for (; i < words; i++) if (i32[aw + i] !== kw[i]) return false;
      i <<= 2;
    }
    for (; i < len; i++) if (u8[at + i] !== key[start + i]) return false;
    return true;
  }

  // ── writes ──────────────────────────────────────────────────────────────────────────

  /**
   * Stores `value` under `key` if `cond` holds, decided inside the bucket lock:
   * COND_ALWAYS, COND_IF_ABSENT (NX), COND_IF_PRESENT (XX) or COND_IF_VERSION (CAS against
   * `ifEpoch`/`ifCounter`). Expired entries count as absent. Returns whether it stored;
   * on success `lastVersion` (with `versionEpoch`) is the new version.
   * @throws see {@link SharedCache.set}.
   */
  set(key: string | Uint8Array, value: string | Uint8Array, ttlSeconds = 0, cond = COND_ALWAYS, ifEpoch = 0, ifCounter = 0): boolean {
    this.codec.encode(key);
    return this.setEncoded(value, ttlSeconds, cond, ifEpoch, ifCounter);
  }

  /** As {@link set}, for the key already in `codec` (encoded by the caller). */
  setEncoded(value: string | Uint8Array, ttlSeconds = 0, cond = COND_ALWAYS, ifEpoch = 0, ifCounter = 0): boolean {
    let valueLen: number;
    let type: number;
    if (typeof value === 'string') {
      valueLen = value.length < 64 && isAscii(value) ? value.length : Buffer.byteLength(value, 'utf8');
      type = TYPE_STRING;
    } else if (value instanceof Uint8Array) {
      valueLen = value.length;
      type = TYPE_BYTES;
    } else throw new BadValueError('a value must be a string or a Uint8Array');
    if (valueLen > this.v.maxValueBytes) throw new ValueTooLargeError(this.v.maxValueBytes);
    const expireAt = this.expireAtFor(ttlSeconds);

    const size = entryBytes(this.codec.length, valueLen);
    const e = this.reserveEntry(size, valueLen, type, expireAt, this.queueForWrite());
    const vs = e + ENTRY_HEADER_BYTES + this.codec.length;
    if (type === TYPE_STRING) this.buf.write(value as string, vs, valueLen, 'utf8');
    else this.u8.set(value as Uint8Array, vs);

    if (!this.commitReserved(e, size, cond, ifEpoch, ifCounter)) return false;
    if (this.walSink !== null) this.walSink.record(this.walSeq, WAL_OP_SET, this.codec.bytes, this.codec.length, value, type, expireAt);
    return true;
  }

  /**
   * Links the entry just reserved at byte `e` (`size` bytes, fully written) under the
   * encoded key if `cond` holds, decided inside the bucket lock. Returns whether it did.
   */
  private commitReserved(e: number, size: number, cond: number, ifEpoch: number, ifCounter: number): boolean {
    const b = rangeOf(this.codec.hash[0], this.bucketCount);
    const bw = this.indexWord + b * BUCKET_WORDS;
    const s = lockBucket(this.i32, bw, b, this.owner, this.threadWord);
    try {
      if (cond !== COND_ALWAYS) {
        const w = this.findLiveLocked(bw);
        if (cond === COND_IF_ABSENT ? w >= 0 : w < 0) return false;
        if (cond === COND_IF_VERSION && !this.versionIsLocked(bw, w, ifEpoch, ifCounter)) return false;
      }
      this.installLocked(bw, b, e, size);
      if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    } finally {
      unlockBucket(this.i32, bw, s, this.threadWord);
    }
    this.f64[this.counters + C_SETS]++;
    return true;
  }

  /**
   * The next WAL sequence number. Taken inside the bucket lock, after the change: two
   * changes of one key are numbered in the order they happened, and a snapshot that reads
   * the sequence before its walk sees every change numbered up to it (persist/wal-writer.ts).
   */
  private nextWalSeqLocked(): number {
    // Ordering: the atomic add orders this number after the change just made in this
    // lock; a snapshot's atomic load of it then happens before its walk reads the bucket.
    return Number(Atomics.add(this.v.i64, H_WAL_SEQ_I64, 1n)) + 1;
  }

  /**
   * Adds `by` to the integer under `key` (absent = 0), keeping its TTL, decided inside the
   * bucket lock (Redis INCRBY). Returns the new value.
   * @throws NotIntegerError (`SABCACHE_ERR_NOT_INTEGER`), OverflowError (`SABCACHE_ERR_OVERFLOW`),
   *   and the key errors of {@link SharedCache.get}.
   */
  incr(key: string | Uint8Array, by: number | bigint): number | bigint {
    this.codec.encode(key);
    const delta = checkDelta(by);
    const keyLen = this.codec.length;
    const maxSize = entryBytes(keyLen, INT64_MAX_DIGITS);
    // Space is reserved before the lock: making room may evict, which takes other bucket
    // locks, and a thread never waits for a lock while holding one.
    const e = this.reserveEntry(maxSize, 0, TYPE_INTEGER, 0, this.queueForWrite());
    const i32 = this.i32;
    const b = rangeOf(this.codec.hash[0], this.bucketCount);
    const bw = this.indexWord + b * BUCKET_WORDS;
    const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
    let result: number | bigint;
    let text = '';
    let expireAt = 0;
    try {
      const w = this.findLiveLocked(bw);
      let current: number | bigint = 0;
      if (w >= 0) {
        const old = this.entryByte(i32[bw + B_REFS + w * REF_STRIDE]);
        const ow = old >>> 2;
        expireAt = i32[ow + E_EXPIRE_AT];
        current = parseInt64(this.u8, old + ENTRY_HEADER_BYTES + keyLen, i32[ow + E_VALUE_LEN]);
      }
      result = addInt64(current, delta);
      text = String(result);
      const vs = e + ENTRY_HEADER_BYTES + keyLen;
      for (let i = 0; i < text.length; i++) this.u8[vs + i] = text.charCodeAt(i);
      i32[(e >>> 2) + E_VALUE_LEN] = text.length;
      i32[(e >>> 2) + E_EXPIRE_AT] = expireAt;
      this.installLocked(bw, b, e, entryBytes(keyLen, text.length));
      if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    } finally {
      unlockBucket(i32, bw, s, this.threadWord);
    }
    this.f64[this.counters + C_SETS]++;
    // Logged as the value it left (a replay sets it, whatever it held before).
    if (this.walSink !== null) this.walSink.record(this.walSeq, WAL_OP_SET, this.codec.bytes, keyLen, text, TYPE_INTEGER, expireAt >>> 0);
    return result;
  }

  /**
   * Sets the TTL of a live `key` in place, under the bucket lock (the value and its version
   * stay): `ttlSeconds` > 0 expires it then, 0 makes it persistent. Returns whether the key
   * was there.
   */
  setTtl(key: string | Uint8Array, ttlSeconds: number): boolean {
    this.codec.encode(key);
    const expireAt = this.expireAtFor(ttlSeconds);
    const i32 = this.i32;
    const b = rangeOf(this.codec.hash[0], this.bucketCount);
    const bw = this.indexWord + b * BUCKET_WORDS;
    const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
    try {
      const w = this.findLiveLocked(bw);
      if (w < 0) return false;
      // The one field of a published entry that changes. It is a single word, so a racing
      // reader sees the old or the new TTL, and the seq bump of this lock makes it retry.
      i32[(this.entryByte(i32[bw + B_REFS + w * REF_STRIDE]) >>> 2) + E_EXPIRE_AT] = expireAt;
      if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    } finally {
      unlockBucket(i32, bw, s, this.threadWord);
    }
    if (this.walSink !== null) this.walSink.record(this.walSeq, WAL_OP_EXPIRE, this.codec.bytes, this.codec.length, null, 0, expireAt >>> 0);
    return true;
  }

  /** Way `w`'s frequency counter (0..FREQ_MAX) in bucket `b`. */
  freqOf(b: number, w: number): number {
    return freqOf(this.i32, this.freqBase + b, w);
  }

  /** Byte offset of the entry `ref` names (layout.refByte, with the geometry cached). */
  entryByte(ref: number): number {
    return this.segBase + (ref >>> this.offBits) * this.segBytes + ((ref & this.offMask) << 3);
  }

  /**
   * Makes room for an entry of `size` bytes in this thread's active segment and writes its
   * header and the encoded key there (the value is the caller's). Returns its byte offset.
   * Nothing is visible until {@link installLocked} commits it.
   */
  private reserveEntry(size: number, valueLen: number, type: number, expireAt: number, queue: number): number {
    const seg = this.reserve(size, queue);
    const off = this.i32[this.segRowWord + seg * SEGMENT_ROW_WORDS + S_WRITE_OFFSET];
    const e = this.segBase + seg * this.segBytes + off;
    const ew = e >>> 2;
    const i32 = this.i32;
    const keyLen = this.codec.length;
    i32[ew + E_KEYLEN_FLAGS] = keyLen | (type << FLAGS_SHIFT);
    i32[ew + E_VALUE_LEN] = valueLen;
    i32[ew + E_EXPIRE_AT] = expireAt;
    const kb = this.codec.bytes;
    const u8 = this.u8;
    const ks = e + ENTRY_HEADER_BYTES;
    if (keyLen <= 64) for (let i = 0; i < keyLen; i++) u8[ks + i] = kb[i];
    else u8.set(kb.subarray(0, keyLen), ks);
    return e;
  }

  /**
   * Commits the entry just reserved at byte `e` (`size` bytes, at the write offset of one
   * of this thread's active segments) and points the encoded key's way of the locked bucket
   * `b` at it, replacing the old entry, or taking an empty way, or evicting one.
   */
  private installLocked(bw: number, b: number, e: number, size: number): void {
    const i32 = this.i32;
    const seg = Math.floor((e - this.segBase) / this.segBytes);
    const row = this.segRowWord + seg * SEGMENT_ROW_WORDS;
    const off = e - this.segBase - seg * this.segBytes;
    // Ordering: the write offset moves past the entry once it is fully written and before
    // any way points at it, so whoever walks the segment up to the write offset (eviction,
    // also after this thread dies; snapshots) sees whole entries, and finds every linked one.
    Atomics.store(i32, row + S_WRITE_OFFSET, off + size);
    this.linkLocked(bw, b, makeRef(this.v.g, seg, off), row);
    // Atomic: evictors and other writers subtract from the same segment's live bytes.
    Atomics.add(i32, row + S_LIVE_BYTES, size);
  }

  /**
   * Points the way of the locked bucket `b` for the encoded key (the codec's bytes and hash
   * lanes) at the entry `ref` (in the segment whose row starts at word `row`, already below
   * its write offset), replacing the old entry, or taking an empty way, or evicting one, and
   * publishes the change when the change feed has a watcher (read under this lock). The
   * caller adds the entry's size to the segment's live bytes. A bulk restore links its
   * entries with linkRunLocked instead (their keys are in the buffer, not the codec).
   */
  private linkLocked(bw: number, b: number, ref: number, row: number): void {
    const i32 = this.i32;
    const { bytes, length } = this.codec;
    const lo = this.codec.hash[0];
    const hi = this.codec.hash[1];
    let target = this.findLocked(bw, hi, bytes, 0, length);
    if (target >= 0) {
      unlinkWayLocked(this.v, bw, target, i32[bw + B_REFS + target * REF_STRIDE]);
    } else {
      target = this.emptyWayLocked(bw);
      if (target < 0) target = this.evictWayLocked(bw, b);
      this.f64[this.counters + C_LINKED]++;
    }
    i32[bw + B_TAGS + target] = hi;
    i32[bw + B_REFS + target * REF_STRIDE] = ref;
    // A write: a new version, published with the ref by this lock's seq bump.
    this.lastVersion = i32[bw + B_VERSIONS + target * REF_STRIDE] = this.nextVersion();
    freqSetLocked(this.i32, this.freqBase + b, target, 0);
    // Inside the bucket lock: a key's changes enter the feed in the order they happened.
    if (feedWatched(this.v)) publishChange(this.v, CHANGE_SET, bytes, 0, length, lo, hi);
  }

  /** The way holding the encoded key and a live (unexpired) entry, or -1. Lock held. */
  private findLiveLocked(bw: number): number {
    const w = this.findLocked(bw, this.codec.hash[1], this.codec.bytes, 0, this.codec.length);
    if (w < 0) return -1;
    const exp = this.i32[(this.entryByte(this.i32[bw + B_REFS + w * REF_STRIDE]) >>> 2) + E_EXPIRE_AT] >>> 0;
    return exp !== 0 && exp <= this.clockSeconds() ? -1 : w;
  }

  /** Whether way `w` (-1 = absent) of the locked bucket holds version (epoch, counter). */
  private versionIsLocked(bw: number, w: number, epoch: number, counter: number): boolean {
    return w >= 0 && epoch === this.versionEpoch && this.i32[bw + B_VERSIONS + w * REF_STRIDE] === counter;
  }

  /**
   * A version counter no entry of this cache has had since the counter last wrapped (2^32
   * writes): taken from this thread's block, a new block from H_VERSION_NEXT when it is
   * used up. Never 0 (which marks no version).
   */
  private nextVersion(): number {
    if (this.versionNext === this.versionEnd) {
      this.versionNext = takeVersionBlock(this.i32);
      this.versionEnd = (this.versionNext + VERSION_BLOCK) | 0;
    }
    const v = this.versionNext;
    this.versionNext = (v + 1) | 0;
    return v === 0 ? this.nextVersion() : v;
  }

  /** Computes expireAt (unix seconds, 0 = never) from a TTL in seconds. */
  private expireAtFor(ttlSeconds: number): number {
    if (ttlSeconds === 0) return 0;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new BadTtlError(`ttlSeconds must be a whole number from 0 to ${MAX_TTL_SECONDS}, got ${ttlSeconds}`);
    }
    // Expire at the first whole second at or after now + ttl: a key lives at least
    // ttlSeconds and less than one second more (the clock has whole-second resolution).
    return Math.min(Math.ceil(this.now() / 1000 + ttlSeconds), 0xffffffff) | 0;
  }

  /**
   * The queue a write of the encoded key goes to (S3-FIFO): main if the key was recently
   * dropped (its fingerprint is in the ghost table), else small. Ghost hits are counted by
   * the queue that dropped the key: the owner sizes the small queue from them.
   */
  private queueForWrite(): number {
    const ghost = ghostTake(this.v, this.codec.hash[0], this.codec.hash[1]);
    if (ghost !== GHOST_MISS) {
      this.f64[this.counters + C_GHOST_HITS]++;
      if (ghost === GHOST_FROM_MAIN) this.f64[this.counters + C_GHOST_MAIN_HITS]++;
      return QUEUE_MAIN;
    }
    return this.queueForNewKey();
  }

  /** The queue of a key not seen recently: small, but main while the cache first fills. */
  private queueForNewKey(): number {
    // Before the cache first fills, the small queue only takes its share (eviction.ts).
    if (this.i32[H_FULL] === 0 && this.i32[H_SMALL_SEGMENTS] >= this.smallTargetSegments) return QUEUE_MAIN;
    return QUEUE_SMALL;
  }

  /** Segments the small queue may hold (SMALL_QUEUE_FRACTION of all); set in the constructor. */
  private readonly smallTargetSegments: number;

  /**
   * Makes room for `size` bytes in this thread's active segment of `queue` and returns the
   * segment. Seals a full segment and claims a free one; when none is free, helps by
   * running one eviction step itself (DESIGN §5).
   * @throws OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`) when nothing can be evicted.
   */
  private reserve(size: number, queue: number): number {
    for (let attempt = 0; attempt < 64; attempt++) {
      const s = this.activeWithRoom(size, queue, WRITER_RESERVE_SEGMENTS);
      if (s >= 0) return s;
      if (!evictSegment(this)) break;
    }
    throw new OutOfMemoryError('no free segment and none can be evicted (every segment is active in some thread)');
  }

  /**
   * This thread's active segment of `queue` if `size` more bytes fit in it; else seals it
   * and claims a free one, leaving `reserve` free. Returns -1 when it cannot (never evicts).
   */
  private activeWithRoom(size: number, queue: number, reserve = 0): number {
    const i32 = this.i32;
    const slot = queue === QUEUE_MAIN ? T_ACTIVE_MAIN_SEGMENT : T_ACTIVE_SEGMENT;
    let s = queue === QUEUE_MAIN ? this.activeMain : this.active;
    if (s >= 0) {
      if (i32[this.segRowWord + s * SEGMENT_ROW_WORDS + S_WRITE_OFFSET] + size <= this.segBytes) return s;
      sealSegment(this.v, s);
      s = -1;
      // The T_ACTIVE_… words are published for observers (tools, tests); ownership itself is
      // the owner field of the segment's state word, which repair reads.
      Atomics.store(i32, this.threadWord + slot, 0);
    }
    s = acquireSegment(this, queue, reserve);
    if (s >= 0) Atomics.store(i32, this.threadWord + slot, s + 1);
    if (queue === QUEUE_MAIN) this.activeMain = s;
    else this.active = s;
    return s;
  }

  /**
   * Copy-forward, step 1 (eviction and compaction): makes room for an entry of `size` bytes
   * in this thread's active segment of `queue` and copies the entry at byte `from` there.
   * Returns the copy's byte offset, or -1 when no segment is free (this never evicts: the
   * caller is evicting already). Nothing is visible until {@link commitCopyLocked}.
   */
  reserveCopy(from: number, size: number, queue: number): number {
    const s = this.activeWithRoom(size, queue);
    if (s < 0) return -1;
    const e = this.segBase + s * this.segBytes + this.i32[this.segRowWord + s * SEGMENT_ROW_WORDS + S_WRITE_OFFSET];
    this.u8.copyWithin(e, from, from + size);
    return e;
  }

  /**
   * Copy-forward, step 2, under the lock of the entry's bucket `bw`: takes the copy made by
   * the last {@link reserveCopy} (`size` bytes, into `queue`) and points way `w`, which
   * holds `oldRef`, at it, with frequency `freq`. Returns the copy's ref.
   */
  commitCopyLocked(bw: number, b: number, w: number, oldRef: number, size: number, queue: number, freq: number): number {
    const i32 = this.i32;
    const seg = queue === QUEUE_MAIN ? this.activeMain : this.active;
    const row = this.segRowWord + seg * SEGMENT_ROW_WORDS;
    const off = i32[row + S_WRITE_OFFSET];
    const e = this.segBase + seg * this.segBytes + off;
    // The one mutable field: setTtl may have changed it since the copy was taken, and this
    // lock excludes setTtl now.
    i32[(e >>> 2) + E_EXPIRE_AT] = i32[(this.entryByte(oldRef) >>> 2) + E_EXPIRE_AT];
    // The copy is of a linked entry (the caller found `oldRef` in way `w` under this lock),
    // so it must not carry the unlinked flag; cleared in case the entry was flagged while
    // linked when the copy was taken (a thread that died mid-unlink, before repair.ts).
    i32[(e >>> 2) + E_KEYLEN_FLAGS] &= ~ENTRY_UNLINKED;
    // Ordering: as in installLocked, the write offset moves past the whole copy before a
    // way points at it.
    Atomics.store(i32, row + S_WRITE_OFFSET, off + size);
    Atomics.add(i32, row + S_LIVE_BYTES, size);
    const ref = makeRef(this.v.g, seg, off);
    const tag = i32[bw + B_TAGS + w]; // the same key: the same tag
    // Ordering: the old entry's bytes stay valid for readers still inside (its segment is
    // freed only after this walk, and the seq bump on unlock makes them retry).
    unlinkWayLocked(this.v, bw, w, oldRef);
    i32[bw + B_TAGS + w] = tag;
    i32[bw + B_REFS + w * REF_STRIDE] = ref;
    freqSetLocked(this.i32, this.freqBase + b, w, freq);
    return ref;
  }

  /**
   * The way of the locked bucket `bw` holding the key with tag `hi` whose bytes are `len`
   * bytes of `key` from `start` (the encoded key: `codec.bytes`, 0, `codec.length`), or -1.
   * `len` -1: `key` is the buffer and `start` an entry's key, whose length is read from the
   * entry's header once a way's tag matches (so a miss reads nothing of the entry).
   */
  private findLocked(bw: number, hi: number, key: Uint8Array, start: number, len: number): number {
    const i32 = this.i32;
    for (let w = 0; w < WAYS; w++) {
      if (i32[bw + B_TAGS + w] !== hi) continue;
      const ref = i32[bw + B_REFS + w * REF_STRIDE];
      if (ref === 0) continue;
      const e = this.entryByte(ref);
      if (len < 0) len = i32[(start - ENTRY_HEADER_BYTES) >>> 2] & KEYLEN_MASK;
      if ((i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK) !== len) continue;
      if (this.keyEquals(e + ENTRY_HEADER_BYTES, key, start, len)) return w;
    }
    return -1;
  }

  private emptyWayLocked(bw: number): number {
    for (let w = 0; w < WAYS; w++) if (this.i32[bw + B_REFS + w * REF_STRIDE] === 0) return w;
    return -1;
  }

  /**
   * Frees one way of the full, locked bucket `b` for a new key and returns it: an expired
   * entry first, else the lowest frequency, ties going to the entry in the oldest segment
   * (DESIGN §4 step 3). (Preferring small-queue entries at equal counts lowered the miss
   * ratio slightly in bench:eviction but evicted just-written keys before old unread ones.)
   */
  private evictWayLocked(bw: number, b: number): number {
    const i32 = this.i32;
    const clock = this.clockSeconds();
    let victim = 0;
    let best = Infinity;
    for (let w = 0; w < WAYS; w++) {
      const ref = i32[bw + B_REFS + w * REF_STRIDE];
      const seg = ref >>> this.offBits;
      const ew = this.entryByte(ref) >>> 2;
      const exp = i32[ew + E_EXPIRE_AT] >>> 0;
      if (exp !== 0 && exp <= clock) {
        victim = w;
        best = -1;
        break;
      }
      const row = this.segRowWord + seg * SEGMENT_ROW_WORDS;
      // Sealed segments are older than active ones; among sealed, the seal order is age.
      const age = Atomics.load(i32, row + S_STATE) === SEG_SEALED ? i32[row + S_SEAL_SEQ] >>> 0 : 2 ** 32;
      const score = this.freqOf(b, w) * 2 ** 33 + age;
      if (score < best) {
        best = score;
        victim = w;
      }
    }
    const victimRef = i32[bw + B_REFS + victim * REF_STRIDE];
    const victimRow = this.segRowWord + (victimRef >>> this.offBits) * SEGMENT_ROW_WORDS;
    if (best !== -1 && i32[victimRow + S_QUEUE] === QUEUE_SMALL && this.freqOf(b, victim) === 0) {
      // Dropped from the small queue unread: remember it, as the segment-level policy does.
      const h = this.v.hashEntryKey(this.entryByte(victimRef));
      ghostInsert(this.v, h[0], h[1]);
      this.f64[this.counters + C_GHOST_INSERTS]++;
    }
    if (feedWatched(this.v)) publishEntryChange(this.v, best === -1 ? CHANGE_EXPIRE : CHANGE_EVICT, this.entryByte(victimRef));
    unlinkWayLocked(this.v, bw, victim, victimRef);
    this.f64[this.counters + C_UNLINKED]++;
    this.f64[this.counters + (best === -1 ? C_EXPIRED_ITEMS : C_EVICTED_ITEMS)]++;
    return victim;
  }

  /** Removes `key`. Returns whether a live entry was removed. */
  delete(key: string | Uint8Array): boolean {
    this.codec.encode(key);
    const i32 = this.i32;
    const lo = this.codec.hash[0];
    const hi = this.codec.hash[1];
    const b = rangeOf(lo, this.bucketCount);
    const bw = this.indexWord + b * BUCKET_WORDS;
    const s = lockBucket(i32, bw, b, this.owner, this.threadWord);
    let removed = false;
    try {
      const w = this.findLocked(bw, hi, this.codec.bytes, 0, this.codec.length);
      if (w >= 0) {
        const ref = i32[bw + B_REFS + w * REF_STRIDE];
        const ew = this.entryByte(ref) >>> 2;
        const exp = i32[ew + E_EXPIRE_AT] >>> 0;
        removed = exp === 0 || exp > this.clockSeconds();
        if (feedWatched(this.v)) publishEntryChange(this.v, removed ? CHANGE_DELETE : CHANGE_EXPIRE, this.entryByte(ref));
        unlinkWayLocked(this.v, bw, w, ref);
        this.f64[this.counters + C_UNLINKED]++;
        if (!removed) this.f64[this.counters + C_EXPIRED_ITEMS]++;
        else if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
      }
    } finally {
      unlockBucket(i32, bw, s, this.threadWord);
    }
    if (removed) {
      this.f64[this.counters + C_DELETES]++;
      if (this.walSink !== null) this.walSink.record(this.walSeq, WAL_OP_DELETE, this.codec.bytes, this.codec.length, null, 0, 0);
    }
    return removed;
  }

  /**
   * Seals this thread's active segment and gives its thread block back. The table must
   * not be used afterwards. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A restore's unlinked entries are linked and its segments given back first (the
    // segments it holds are owned by this block, as an active one is).
    this.linkRestored();
    // Ordering: seal before giving the block back. A segment's owner is named by block, so
    // a thread that claimed the block next would otherwise look like the owner of this
    // thread's still-active segment.
    if (this.active >= 0) sealSegment(this.v, this.active);
    if (this.activeMain >= 0) sealSegment(this.v, this.activeMain);
    this.active = -1;
    this.activeMain = -1;
    Atomics.store(this.i32, this.threadWord + T_ACTIVE_SEGMENT, 0);
    Atomics.store(this.i32, this.threadWord + T_ACTIVE_MAIN_SEGMENT, 0);
    Atomics.store(this.i32, this.threadWord + T_STATE, THREAD_FREE);
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
