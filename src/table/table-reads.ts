/**
 * Bucket reads (docs/design.md §3 "Buckets and the seqlock"): a thread's lookups and scans
 * under the seqlock, written once in {@link TableReader.seqlockRead}. Table (table.ts)
 * extends it with the writes.
 *
 * @module
 */
import { TooManyThreadsError } from '../errors.ts';
import { type LockedBody, validateSeq, withBucketLock } from './bucket-lock.ts';
import { EntryResult } from './entry-result.ts';
import { freqBump, freqOf } from './frequency.ts';
import { KeyCodec } from './key-codec.ts';
import {
  B_REFS, B_TAGS, B_VERSIONS, BUCKET_WORDS, C_HITS, C_MISSES, E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, EXPIRE_CODE_MASK, EXPIRE_CODE_SHIFT, FLAGS_SHIFT, H_CLOCK_SECONDS,
  H_VERSION_EPOCH, KEYLEN_MASK, REF_STRIDE, T_STATE, T_WORKER_THREAD_ID, THREAD_ATTACHED, THREAD_BLOCK_COUNT, THREAD_FREE, TYPE_MASK, WAYS,
  bucketFor, bucketWord, freqWord, H_BUCKET_COUNT, segmentRowWord, threadBlockWord, threadCountersF64,
} from './layout.ts';
import type { SharedView } from './shared-view.ts';
import { hasExpired, remainingTtlSeconds } from './ttl.ts';
import { ValueCopier } from './value-copy.ts';

/** Optimistic seqlock attempts before a reader takes the bucket lock (docs/design.md §3). */
const READ_RETRIES = 16;

const MODE_HAS = 0;
const MODE_BYTES = 1;
const MODE_STRING = 2;
const MODE_INTO = 3;
/** scan: collect the bucket's live keys (no key to look up). */
const MODE_COLLECT = 4;

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
 * The read half of a thread's view of the shared table (Table adds the writes). Not
 * thread-safe itself (one per thread); the table it views is.
 */
export class TableReader {
  readonly v: SharedView;
  /** Thread block index. */
  readonly thread: number;
  readonly owner: number;
  readonly threadWord: number;
  readonly counters: number;
  protected readonly i32: Int32Array;
  protected readonly u8: Uint8Array;
  protected readonly f64: Float64Array;
  protected readonly buf: Buffer;
  /** Buckets in the index now (it grows: layout.ts H_BUCKET_COUNT; keys map with layout.bucketFor). */
  get bucketCount(): number {
    return Atomics.load(this.i32, H_BUCKET_COUNT);
  }
  /** Int32Array index of bucket 0's first word. */
  readonly indexWord: number;
  /** Int32Array index of bucket 0's frequency counters (layout.freqWord); bucket b's are BUCKET_WORDS × b further. */
  readonly freqBase: number;
  /** Int32Array index of segment 0's row. */
  readonly segRowWord: number;
  protected readonly segBase: number;
  protected readonly segBytes: number;
  protected readonly offBits: number;
  protected readonly offMask: number;
  protected readonly segCount: number;
  /** The key of the operation under way: its UTF-8 bytes and hash lanes. */
  readonly codec: KeyCodec;
  protected readonly copier: ValueCopier;
  /** The caller's result object for the read or write under way (see EntryResult). */
  protected result: EntryResult;
  /** A read's copied value, from the probe to the method that returns it. */
  private outBytes: Uint8Array | undefined;
  private outString: string | undefined;
  private outDest: Uint8Array | null = null;
  private outAt = 0;
  /** scan's keys of one bucket (collectKeys). */
  private found: Uint8Array[] = [];
  private scanPrefix: Uint8Array | null = null;
  private scanClock = 0;
  /** The cache's version epoch (layout.ts H_VERSION_EPOCH): the first half of every version. */
  readonly versionEpoch: number;

  /**
   * Claims a thread block of the table in `v` for this thread (`workerThreadId`, as repair
   * finds it).
   * @throws TooManyThreadsError (`SABCACHE_ERR_TOO_MANY_THREADS`) when all 64 blocks are taken.
   */
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
    this.copier = new ValueCopier(v.u8, v.i32);
    this.result = new EntryResult();
  }

  /** Time source for TTL deadlines, milliseconds since the epoch (the `now` option). */
  now: () => number = Date.now;

  /** Current coarse clock, unix seconds (advanced by the owner thread). */
  clockSeconds(): number {
    return this.i32[H_CLOCK_SECONDS] >>> 0;
  }

  // ── reads ───────────────────────────────────────────────────────────────────────────

  /** The value of `key` as a fresh (unshared) Uint8Array, or undefined; fills `result` on a hit. */
  getBytes(key: string | Uint8Array, result: EntryResult = this.result): Uint8Array | undefined {
    this.codec.encode(key);
    this.result = result;
    if (this.read(MODE_BYTES) < 0) return undefined;
    const out = this.outBytes;
    this.outBytes = undefined;
    return out;
  }

  /** The value of `key` decoded as UTF-8, or undefined; fills `result` on a hit. */
  getString(key: string | Uint8Array, result: EntryResult = this.result): string | undefined {
    this.codec.encode(key);
    this.result = result;
    if (this.read(MODE_STRING) < 0) return undefined;
    const out = this.outString;
    this.outString = undefined;
    return out;
  }

  /** Whether `key` is present and not expired; fills `result` when it is. */
  has(key: string | Uint8Array, result: EntryResult = this.result): boolean {
    this.codec.encode(key);
    this.result = result;
    return this.read(MODE_HAS) >= 0;
  }

  /**
   * As {@link has}, for looking without reading: counts no hit or miss and leaves the key's
   * frequency alone (INFO's expiry sample must not look like traffic, nor keep keys cached).
   */
  peek(key: string | Uint8Array, result: EntryResult = this.result): boolean {
    this.codec.encode(key);
    this.result = result;
    return this.lookup(this.codec.hash[0], this.codec.hash[1], MODE_HAS) >= 0;
  }

  /**
   * Whole seconds until `key` expires ({@link remainingTtlSeconds}), -1 if it never does, -2
   * if it is absent (Redis TTL).
   */
  ttl(key: string | Uint8Array): number {
    const r = this.result;
    if (!this.has(key, r)) return -2;
    return remainingTtlSeconds(r.expireAt, r.expireCode, this.now);
  }

  /**
   * Copies the value of the key last passed to `codec.encode` into `dest` from offset `at`,
   * if it fits there, and fills `result`. Returns its length (≥ 0) on a hit (if larger than
   * `dest.length - at`, nothing was copied: the caller retries with more room), or -1 on a
   * miss.
   */
  readEncodedInto(dest: Uint8Array, at: number, result: EntryResult, counted = true): number {
    this.outDest = dest;
    this.outAt = at;
    this.result = result;
    const r = counted ? this.read(MODE_INTO) : this.lookup(this.codec.hash[0], this.codec.hash[1], MODE_INTO) < 0 ? -1 : this.result.length;
    this.outDest = null;
    return r;
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
    const n = this.bucketCount;
    const maxBuckets = count * 16 + 1024;
    this.scanPrefix = prefix;
    this.scanClock = this.clockSeconds();
    let b = cursor;
    for (let visited = 0; b < n && out.length < count && visited < maxBuckets; b++, visited++) {
      this.seqlockRead(b, 0, MODE_COLLECT);
      for (const k of this.found) out.push(k);
    }
    this.scanPrefix = null;
    return b >= n ? 0 : b;
  }

  /** Looks the encoded key up under the seqlock. Returns the value length, or -1. */
  private read(mode: number): number {
    const w = this.lookup(this.codec.hash[0], this.codec.hash[1], mode);
    const b = this.lookupBucket;
    if (w < 0) {
      this.f64[this.counters + C_MISSES]++;
      return -1;
    }
    this.f64[this.counters + C_HITS]++;
    // Advisory frequency: written only when it changes (docs/design.md §3: readers do not
    // write shared lines on the hot path otherwise); a CAS, see frequency.ts.
    freqBump(this.i32, this.freqBase + b * BUCKET_WORDS, w);
    return this.result.length;
  }

  /** The bucket {@link lookup} read last. */
  private lookupBucket = 0;

  /**
   * Looks a key (bucket lane `lo`, tag `hi`) up in its bucket at the bucket count of the
   * moment (the index grows: layout.ts bucketFor), then reads the count again: if it moved,
   * a split may have taken the key out of the bucket read, and the look is made again.
   * Returns what {@link seqlockRead} returned; the bucket is in `lookupBucket`.
   */
  private lookup(lo: number, hi: number, mode: number): number {
    const i32 = this.i32;
    for (;;) {
      const n = Atomics.load(i32, H_BUCKET_COUNT);
      const b = bucketFor(lo, n);
      const w = this.seqlockRead(b, hi, mode);
      // Ordering: after the bucket's seq validated. A split raises the count before it
      // unlocks the bucket it empties (index-growth.ts), so a read that saw that bucket
      // after the split (its seq after the unlock) sees the new count here.
      if (Atomics.load(i32, H_BUCKET_COUNT) === n) {
        this.lookupBucket = b;
        return w;
      }
    }
  }

  /**
   * The seqlock read, written once: runs {@link visit} on bucket `b` until it ran between two
   * equal even sequence numbers, or, after READ_RETRIES attempts that met writers, under the
   * bucket's lock so that the read finishes. Returns what the visit returned.
   */
  private seqlockRead(b: number, hi: number, mode: number): number {
    const i32 = this.i32;
    const bw = this.indexWord + b * BUCKET_WORDS;
    for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
      const s1 = Atomics.load(i32, bw);
      if (s1 & 1) continue; // a writer is inside: retry (the writer holds it for ~100s of ns)
      const w = this.visit(bw, hi, mode);
      // Ordering: validate after every plain load of the visit (see bucket-lock.ts).
      if (validateSeq(i32, bw, s1) === s1) return w;
    }
    return withBucketLock(this, bw, b, visitLocked, this, hi, mode);
  }

  /**
   * One look at bucket `bw`: collects its keys (MODE_COLLECT), or finds the encoded key
   * (tag `hi`) and on a live hit fills the result and copies the value out per `mode`.
   * Returns the way, or -1. May run on a torn bucket (no lock): every offset and length is
   * bounds-checked, so garbage yields a miss or a value the seq check discards, never an
   * exception or a loop.
   * @internal
   */
  visit(bw: number, hi: number, mode: number): number {
    if (mode === MODE_COLLECT) return this.collectKeys(bw);
    const i32 = this.i32;
    for (let w = 0; w < WAYS; w++) {
      if (i32[bw + B_TAGS + w] !== hi) continue;
      const e = this.checkedEntry(i32[bw + B_REFS + w * REF_STRIDE]);
      if (e < 0) continue;
      const ew = e >>> 2;
      const kf = i32[ew + E_KEYLEN_FLAGS];
      const keyLen = kf & KEYLEN_MASK;
      const valueLen = i32[ew + E_VALUE_LEN];
      if (keyLen !== this.codec.length || !this.keyEquals(e + ENTRY_HEADER_BYTES, this.codec.bytes, 0, keyLen)) continue;
      const exp = i32[ew + E_EXPIRE_AT] >>> 0;
      const code = (kf >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK;
      if (exp !== 0 && hasExpired(exp, code, i32[H_CLOCK_SECONDS] >>> 0, this.now)) return -1;
      const vs = e + ENTRY_HEADER_BYTES + keyLen;
      const r = this.result;
      r.expireAt = exp;
      r.expireCode = code;
      r.length = valueLen;
      r.type = (kf >>> FLAGS_SHIFT) & TYPE_MASK;
      // Read before the seq check like every load of the visit (a torn read is retried).
      r.version = i32[bw + B_VERSIONS + w * REF_STRIDE];
      if (mode === MODE_BYTES) this.outBytes = this.copier.copyOut(vs, valueLen);
      else if (mode === MODE_STRING) this.outString = this.buf.toString('utf8', vs, vs + valueLen);
      else if (mode === MODE_INTO) {
        if (valueLen <= this.outDest!.length - this.outAt) this.copier.copyInto(vs, valueLen, this.outDest!, this.outAt);
      }
      return w;
    }
    return -1;
  }

  /**
   * Copies into `found` (emptied first) the keys of bucket `bw`'s live entries that start
   * with `scanPrefix`. Bounds-checked: it may run on a torn bucket, whose result is
   * discarded. Returns 0.
   */
  private collectKeys(bw: number): number {
    const i32 = this.i32;
    const u8 = this.u8;
    const found = this.found;
    const prefix = this.scanPrefix;
    const clock = this.scanClock;
    found.length = 0;
    for (let w = 0; w < WAYS; w++) {
      const e = this.checkedEntry(i32[bw + B_REFS + w * REF_STRIDE]);
      if (e < 0) continue;
      const ew = e >>> 2;
      const kf = i32[ew + E_KEYLEN_FLAGS];
      const keyLen = kf & KEYLEN_MASK;
      const exp = i32[ew + E_EXPIRE_AT] >>> 0;
      if (exp !== 0 && hasExpired(exp, (kf >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, clock, this.now)) continue;
      const ks = e + ENTRY_HEADER_BYTES;
      if (prefix) {
        if (keyLen < prefix.length) continue;
        let match = true;
        for (let i = 0; i < prefix.length; i++) if (u8[ks + i] !== prefix[i]) { match = false; break; }
        if (!match) continue;
      }
      found.push(u8.slice(ks, ks + keyLen));
    }
    return 0;
  }

  /**
   * The byte offset of the entry `ref` names, or -1 when `ref` is empty or it, or the key
   * and value lengths its header gives, point outside its segment. Readers take refs and
   * headers from buckets they have not locked (a torn read may hand them garbage): this is
   * the one bounds check they all make before touching an entry's bytes.
   */
  protected checkedEntry(ref: number): number {
    if (ref === 0) return -1;
    const seg = ref >>> this.offBits;
    const off = (ref & this.offMask) << 3;
    if (seg >= this.segCount || off + ENTRY_HEADER_BYTES > this.segBytes) return -1;
    const e = this.segBase + seg * this.segBytes + off;
    const ew = e >>> 2;
    const keyLen = this.i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK;
    const valueLen = this.i32[ew + E_VALUE_LEN];
    // An entry larger than a segment runs on into the next ones (a span, segment-writer.ts):
    // the bound is the end of the segments region.
    if (keyLen === 0 || valueLen < 0 || off + ENTRY_HEADER_BYTES + keyLen + valueLen > (this.segCount - seg) * this.segBytes) return -1;
    return e;
  }

  /**
   * Compares `len` bytes of `key` from `start` with the key bytes stored at byte `at`
   * (4-byte aligned): the encoded key (`codec.bytes`, from 0), or a record's key inside
   * another array (restoreEntries, whose codec holds the last key its group hashed).
   */
  protected keyEquals(at: number, key: Uint8Array, start: number, len: number): boolean {
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

  /** Way `w`'s frequency counter (0..FREQ_MAX) in bucket `b`. */
  freqOf(b: number, w: number): number {
    return freqOf(this.i32, this.freqBase + b * BUCKET_WORDS, w);
  }

  /** Byte offset of the entry `ref` names (layout.refByte, with the geometry cached). */
  entryByte(ref: number): number {
    return this.segBase + (ref >>> this.offBits) * this.segBytes + ((ref & this.offMask) << 3);
  }
}

const visitLocked: LockedBody<TableReader> = (t, bw, _b, hi, mode) => t.visit(bw, hi, mode);
