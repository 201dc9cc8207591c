/**
 * One thread's handle on the shared table: bucket writes under the bucket lock, over the
 * reads of table-reads.ts (docs/design.md §3 "Buckets and the seqlock"). Appends go through
 * the thread's segment writer (segment-writer.ts), bulk restore through bulk-restore.ts,
 * removals through removal.ts, and eviction through the policy the table is given.
 *
 * Every thread that attaches builds its own `Table` over the same buffer, claiming one of
 * the 64 thread blocks (its counters, its heldBucket register, its active segments).
 * Results are explicit: a read returns its value and fills an {@link EntryResult} its
 * caller owns; nothing is left in fields for the caller to pick up.
 *
 * @module
 */
import { BadTtlError, BadValueError, ValueTooLargeError, WrongTypeError } from '../errors.ts';
import { type LockedBody, withBucketLock, withKeyBucketLock } from './bucket-lock.ts';
import { growIndex, indexGrowthTarget, INDEX_SPLITS_PER_STEP, linkedEntries } from './index-growth.ts';
import { BulkRestore } from './bulk-restore.ts';
import { feedWatched, publishChange } from './change-feed.ts';
import { EntryResult } from './entry-result.ts';
import { freqSetLocked } from './frequency.ts';
import { GHOST_FROM_MAIN, GHOST_MISS, ghostInsert, ghostTake } from './ghost.ts';
import { addInt64, checkDelta, INT64_MAX_DIGITS, parseInt64 } from './integer-value.ts';
import {
  B_REFS, B_TAGS, B_VERSIONS, BUCKET_WORDS, C_DELETES, C_EVICTED_ITEMS, C_EXPIRED_ITEMS, C_GHOST_HITS, C_GHOST_INSERTS, C_GHOST_MAIN_HITS, C_LINKED,
  C_SETS, CHANGE_DELETE, CHANGE_EVICT, CHANGE_EXPIRE, CHANGE_SET, E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, EXPIRE_CODE_MASK, EXPIRE_CODE_SHIFT, H_FULL,
  H_SMALL_SEGMENTS, H_WAL_SEQ_I64, KEYLEN_MASK, QUEUE_MAIN, QUEUE_SMALL, REF_STRIDE, S_QUEUE, S_SEAL_SEQ, S_STATE, SEG_SEALED, SEGMENT_ROW_WORDS,
  FLAGS_SHIFT, T_STATE, THREAD_FREE, TYPE_BYTES, TYPE_HASH, TYPE_INTEGER, TYPE_LIST, TYPE_MASK, TYPE_STRING, VERSION_BLOCK, WAYS, entryBytes, rangeOf,
} from './layout.ts';
import { NO_COUNTER, removeWayLocked } from './removal.ts';
import { evictOldestDropping, type EvictingThread, type EvictionPolicy } from './segment-eviction.ts';
import { type Reservation, SegmentWriter } from './segment-writer.ts';
import { unlinkWayLocked } from './segments.ts';
import type { SharedView } from './shared-view.ts';
import { TableReader } from './table-reads.ts';
import { expireAtSecondsOf, expiryCodeOf, hasExpired, MAX_TTL_SECONDS } from './ttl.ts';
import { takeVersionBlock } from './version.ts';

export { EntryResult };

/**
 * Receives this thread's mutations for the write-ahead log (persist/wal-writer.ts; the
 * record format is persist/wal-format.ts). Called after the bucket lock is released, with
 * the sequence number taken inside it. `key` holds the key's first `keyLength` bytes and is
 * reused: copy what is needed now.
 */
export interface WalSink {
  /** The key now holds `value` (a string is stored as UTF-8) of value type `type`, expiring at `expireAt` (unix seconds, 0 = never). */
  logSet(seq: number, key: Uint8Array, keyLength: number, value: string | Uint8Array, type: number, expireAt: number): void;
  /** The key was deleted. */
  logDelete(seq: number, key: Uint8Array, keyLength: number): void;
  /** The key's expiry changed to `expireAt` (unix seconds, 0 = never). */
  logExpire(seq: number, key: Uint8Array, keyLength: number, expireAt: number): void;
  /** Every key was removed. */
  logFlush(seq: number): void;
}

/** Write conditions, decided inside the bucket lock. */
export const COND_ALWAYS = 0;
/** Store only if the key is absent or expired (NX, `If-None-Match: *`). */
export const COND_IF_ABSENT = 1;
/** Store only if the key is present (XX). */
export const COND_IF_PRESENT = 2;
/** Store only if the key's current version is the given one (CAS, `If-Match`). */
export const COND_IF_VERSION = 3;
/** Flag OR'ed into a condition: keep the replaced entry's expiry (Redis KEEPTTL). */
export const COND_KEEP_TTL = 8;

/**
 * A thread's view of the shared table. Not thread-safe itself (one per thread); the
 * table it views is. Reads are TableReader's (table-reads.ts); the writes are here.
 */
export class Table extends TableReader implements EvictingThread {
  /** This thread's appends (its active segments). */
  readonly writer: SegmentWriter;
  private restorer: BulkRestore | null = null;
  private closed = false;
  /** Where this thread's mutations are logged (the server's WAL), or null. */
  walSink: WalSink | null = null;
  /** The WAL sequence the last logged mutation took inside its lock. */
  private walSeq = 0;
  /** incr's new value and its text, from the locked body to incr. */
  private incrValue: number | bigint = 0;
  private incrText = '';
  /** The next version counter this thread hands out, and the end of its block. */
  private versionNext = 0;
  private versionEnd = 0;
  /** Segments the small queue takes before the cache first fills (the policy's). */
  private readonly smallTargetSegments: number;

  /**
   * Claims a thread block of the table in `v` for this thread (`workerThreadId`, as repair
   * finds it) and evicts by `policy` when a write finds no free segment.
   * @throws TooManyThreadsError (`SABCACHE_ERR_TOO_MANY_THREADS`) when all 64 blocks are taken.
   */
  constructor(v: SharedView, workerThreadId: number, readonly policy: EvictionPolicy) {
    super(v, workerThreadId);
    this.writer = new SegmentWriter(this, (attempt) => this.makeRoom(attempt));
    this.smallTargetSegments = policy.smallTargetSegments(v.g.segmentCount);
  }

  /**
   * Frees one segment by this table's policy (compacts or evicts one); false when none can be
   * freed. `attempt`: the calls made before for the same need (EvictionPolicy.makeRoom).
   */
  makeRoom(attempt: number): boolean {
    return this.policy.makeRoom(this, attempt);
  }

  // ── writes ──────────────────────────────────────────────────────────────────────────

  /**
   * Stores `value` under `key` if `cond` holds, decided inside the bucket lock:
   * COND_ALWAYS, COND_IF_ABSENT (NX), COND_IF_PRESENT (XX) or COND_IF_VERSION (CAS against
   * `ifEpoch`/`ifCounter`). Expired entries count as absent. Returns whether it stored;
   * on success `result.version` (with {@link versionEpoch}) is the new version.
   * @throws BadValueError (`SABCACHE_ERR_BAD_VALUE`), ValueTooLargeError
   *   (`SABCACHE_ERR_VALUE_TOO_LARGE`), BadTtlError (`SABCACHE_ERR_BAD_TTL`), the key errors
   *   of KeyCodec.encode, OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`).
   */
  set(key: string | Uint8Array, value: string | Uint8Array, ttlSeconds = 0, cond = COND_ALWAYS, ifEpoch = 0, ifCounter = 0, result: EntryResult = this.result): boolean {
    this.codec.encode(key);
    return this.setEncoded(value, ttlSeconds, cond, ifEpoch, ifCounter, result);
  }

  /** As {@link set}, for the key already in `codec` (encoded by the caller). */
  setEncoded(value: string | Uint8Array, ttlSeconds = 0, cond = COND_ALWAYS, ifEpoch = 0, ifCounter = 0, result: EntryResult = this.result): boolean {
    let valueLen: number;
    let type: number;
    if (typeof value === 'string') {
      valueLen = value.length < 64 && isAscii(value) ? value.length : Buffer.byteLength(value, 'utf8');
      type = TYPE_STRING;
    } else if (value instanceof Uint8Array) {
      valueLen = value.length;
      type = TYPE_BYTES;
    } else throw new BadValueError('a value must be a string or a Uint8Array');
    return this.storeEncoded(value, valueLen, type, this.expiryMsFor(ttlSeconds), cond, ifEpoch, ifCounter, result);
  }

  /**
   * Stores the bytes `value` as value type `type` (layout.ts TYPE_*) under the key already
   * in `codec`, expiring at `expireAtMs` (unix ms, 0 = never), if `cond` holds (as
   * {@link set}). `cond | COND_KEEP_TTL` keeps the expiry of the entry it replaces instead
   * (none when there is none), read inside the lock. The collections' rewrites and Redis's
   * KEEPTTL use it.
   * @throws BadValueError (`SABCACHE_ERR_BAD_VALUE`) for an unknown type, ValueTooLargeError
   *   (`SABCACHE_ERR_VALUE_TOO_LARGE`), OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`).
   */
  writeEncoded(value: Uint8Array, type: number, expireAtMs: number, cond: number, ifEpoch: number, ifCounter: number, result: EntryResult = this.result): boolean {
    if (!(type >= TYPE_BYTES && type <= TYPE_HASH)) throw new BadValueError(`unknown value type ${type}`);
    return this.storeEncoded(value, value.length, type, expireAtMs, cond, ifEpoch, ifCounter, result);
  }

  /**
   * setEncoded's and writeEncoded's shared part: reserve, copy, link under the lock, log.
   * `expireAtMs`: unix ms, 0 = never; the entry keeps its second and millisecond code (ttl.ts).
   */
  private storeEncoded(value: string | Uint8Array, valueLen: number, type: number, expireAtMs: number, cond: number, ifEpoch: number, ifCounter: number, result: EntryResult): boolean {
    if (valueLen > this.v.maxValueBytes) throw new ValueTooLargeError(this.v.maxValueBytes);
    const size = entryBytes(this.codec.length, valueLen);
    const expireAt = expireAtMs === 0 ? 0 : expireAtSecondsOf(expireAtMs) | 0;
    const code = expireAtMs === 0 ? 0 : expiryCodeOf(expireAtMs);
    const r = this.writer.reserve(size, valueLen, type, expireAt, code, this.queueForWrite(), this.codec.bytes, this.codec.length);
    const vs = r + ENTRY_HEADER_BYTES + this.codec.length;
    if (typeof value === 'string') this.buf.write(value, vs, valueLen, 'utf8');
    else this.u8.set(value, vs);

    this.result = result;
    this.condEpoch = ifEpoch;
    this.condCounter = ifCounter;
    this.reserved = r;
    this.keptExpireAt = expireAt;
    if (withKeyBucketLock(this, this.indexWord, this.codec.hash[0], commitLocked, this, size, cond) === 0) return false;
    if (this.growsIndex && (this.bucketWasFull || (++this.writesSinceGrowthCheck & 255) === 0)) this.growIfLoaded();
    this.f64[this.counters + C_SETS]++;
    if (this.walSink !== null) this.walSink.logSet(this.walSeq, this.codec.bytes, this.codec.length, value, type, this.keptExpireAt);
    return true;
  }

  /**
   * Whether this thread grows the index itself, every 256 writes and after a write that
   * found its bucket full, when it is loaded past index-growth.ts INDEX_GROW_AT: the owner
   * (SharedCache.create), so that a burst of writes from its own thread, between
   * maintenance ticks, grows it too.
   */
  growsIndex = false;
  /** Set under the lock when a write evicted a way of a full bucket. */
  private bucketWasFull = false;
  private writesSinceGrowthCheck = 0;

  /** Grows the index if it is loaded past its threshold (owner only: {@link growsIndex}). */
  private growIfLoaded(): void {
    this.bucketWasFull = false;
    const n = this.bucketCount;
    const target = indexGrowthTarget(n, linkedEntries(this.v));
    if (target > n) growIndex(this, target, INDEX_SPLITS_PER_STEP);
  }

  /** The CAS version a conditional write compares against, and the reservation it links. */
  private condEpoch = 0;
  private condCounter = 0;
  private reserved = 0 as Reservation;
  /** The expiry the last committed write stored (COND_KEEP_TTL reads it in the lock). */
  private keptExpireAt = 0;
  /** The expiry code setTtl's locked body writes (ttl.ts expiryCodeOf). */
  private ttlCode = 0;

  /**
   * Links the reservation (`size` bytes, fully written) under the encoded key, replacing the
   * old entry, or taking an empty way, or evicting one, if `cond` holds. Lock held. Returns
   * 1 if it did, 0 if not.
   * @internal
   */
  commitLocked(bw: number, b: number, size: number, cond: number): number {
    if (cond !== COND_ALWAYS) {
      const w = this.findLiveLocked(bw);
      const c = cond & ~COND_KEEP_TTL;
      if (c === COND_IF_ABSENT ? w >= 0 : c !== COND_ALWAYS && w < 0) return 0;
      if (c === COND_IF_VERSION && !this.versionIsLocked(bw, w, this.condEpoch, this.condCounter)) return 0;
      if (cond & COND_KEEP_TTL) {
        // The reservation is not linked yet: no reader sees it until linkLocked below.
        const old = w >= 0 ? this.entryByte(this.i32[bw + B_REFS + w * REF_STRIDE]) >>> 2 : -1;
        const exp = old >= 0 ? this.i32[old + E_EXPIRE_AT] : 0;
        this.i32[(this.reserved >>> 2) + E_EXPIRE_AT] = exp;
        copyExpiryCode(this.i32, old, this.reserved >>> 2);
        this.keptExpireAt = exp >>> 0;
      }
    }
    const ref = this.writer.commit(this.reserved, size);
    this.linkLocked(bw, b, ref);
    this.writer.addLive(ref, size);
    if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    return 1;
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

  /** The WAL sequence number now: the number of the last logged change (0: none). */
  walSequence(): number {
    // Ordering: an atomic load, ordered after every change numbered up to it (nextWalSeqLocked).
    return Number(Atomics.load(this.v.i64, H_WAL_SEQ_I64));
  }

  /** Sets the WAL sequence number (recovery, before any thread writes). */
  setWalSequence(seq: number): void {
    // Ordering: a seq_cst store before the server's workers start (their start is the
    // happens-before edge); atomic so that the 64-bit word is never seen half written.
    Atomics.store(this.v.i64, H_WAL_SEQ_I64, BigInt(seq));
  }

  /**
   * Adds `by` to the integer under `key` (absent = 0), keeping its TTL, decided inside the
   * bucket lock (Redis INCRBY). Returns the new value; fills `result` with the new version.
   * @throws NotIntegerError (`SABCACHE_ERR_NOT_INTEGER`), OverflowError (`SABCACHE_ERR_OVERFLOW`),
   *   and the key errors of KeyCodec.encode.
   */
  incr(key: string | Uint8Array, by: number | bigint, result: EntryResult = this.result): number | bigint {
    this.codec.encode(key);
    return this.incrEncoded(by, result);
  }

  /** As {@link incr}, for the key already in `codec` (encoded by the caller). */
  incrEncoded(by: number | bigint, result: EntryResult = this.result): number | bigint {
    const delta = checkDelta(by);
    const keyLen = this.codec.length;
    // Space is reserved before the lock: making room may evict, which takes other bucket
    // locks, and a thread never waits for a lock while holding one.
    this.reserved = this.writer.reserve(entryBytes(keyLen, INT64_MAX_DIGITS), 0, TYPE_INTEGER, 0, 0, this.queueForWrite(), this.codec.bytes, keyLen);
    this.result = result;
    this.incrValue = delta;
    const expireAt = withKeyBucketLock(this, this.indexWord, this.codec.hash[0], incrLocked, this, 0, 0);
    this.f64[this.counters + C_SETS]++;
    // Logged as the value it left (a replay sets it, whatever it held before).
    if (this.walSink !== null) this.walSink.logSet(this.walSeq, this.codec.bytes, keyLen, this.incrText, TYPE_INTEGER, expireAt >>> 0);
    return this.incrValue;
  }

  /**
   * incr's body, lock held: adds `incrValue` (the delta) to the current integer, writes the
   * result into the reservation, links it; leaves the new value in `incrValue` and its text
   * in `incrText`. Returns the (kept) expireAt.
   * @internal
   */
  incrLocked(bw: number, b: number): number {
    const i32 = this.i32;
    const keyLen = this.codec.length;
    const w = this.findLiveLocked(bw);
    let current: number | bigint = 0;
    let expireAt = 0;
    if (w >= 0) {
      const old = this.entryByte(i32[bw + B_REFS + w * REF_STRIDE]);
      copyExpiryCode(i32, old >>> 2, this.reserved >>> 2);
      const type = (i32[(old >>> 2) + E_KEYLEN_FLAGS] >>> FLAGS_SHIFT) & TYPE_MASK;
      if (type === TYPE_LIST || type === TYPE_HASH) throw new WrongTypeError(type === TYPE_LIST ? 'list' : 'hash');
      expireAt = i32[(old >>> 2) + E_EXPIRE_AT];
      current = parseInt64(this.u8, old + ENTRY_HEADER_BYTES + keyLen, i32[(old >>> 2) + E_VALUE_LEN]);
    }
    const value = addInt64(current, this.incrValue);
    const text = String(value);
    const e = this.reserved;
    const vs = e + ENTRY_HEADER_BYTES + keyLen;
    for (let i = 0; i < text.length; i++) this.u8[vs + i] = text.charCodeAt(i);
    i32[(e >>> 2) + E_VALUE_LEN] = text.length;
    i32[(e >>> 2) + E_EXPIRE_AT] = expireAt;
    const size = entryBytes(keyLen, text.length);
    const ref = this.writer.commit(e, size);
    this.linkLocked(bw, b, ref);
    this.writer.addLive(ref, size);
    if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    this.incrValue = value;
    this.incrText = text;
    return expireAt;
  }

  /**
   * Sets the TTL of a live `key` in place, under the bucket lock (the value and its version
   * stay): `ttlSeconds` > 0 expires it then, 0 makes it persistent. With `ifCounter` (not
   * 0), only while the key's version counter is that one. Returns whether it did.
   * @throws BadTtlError (`SABCACHE_ERR_BAD_TTL`), the key errors of KeyCodec.encode.
   */
  setTtl(key: string | Uint8Array, ttlSeconds: number, ifCounter = 0): boolean {
    const ms = this.expiryMsFor(ttlSeconds);
    return this.setExpiry(key, ms, ifCounter);
  }

  /**
   * As {@link setTtl}, with the absolute expiry `expireAtMs` (unix ms, a whole number; 0
   * makes the key persistent): Redis PEXPIREAT. The caller checks its range (ttl.ts).
   */
  setExpiry(key: string | Uint8Array, expireAtMs: number, ifCounter = 0): boolean {
    this.codec.encode(key);
    const ms = expireAtMs;
    const expireAt = ms === 0 ? 0 : expireAtSecondsOf(ms) | 0;
    this.ttlCode = ms === 0 ? 0 : expiryCodeOf(ms);
    if (withKeyBucketLock(this, this.indexWord, this.codec.hash[0], setTtlLocked, this, expireAt, ifCounter) === 0) return false;
    if (this.walSink !== null) this.walSink.logExpire(this.walSeq, this.codec.bytes, this.codec.length, expireAt >>> 0);
    return true;
  }

  /** setTtl's body, lock held: returns 1 if the key was live (at version `ifCounter`, unless 0) and now expires at `expireAt`. @internal */
  setTtlLocked(bw: number, expireAt: number, ifCounter: number): number {
    const w = this.findLiveLocked(bw);
    if (w < 0) return 0;
    if (ifCounter !== 0 && this.i32[bw + B_VERSIONS + w * REF_STRIDE] !== ifCounter) return 0;
    // The fields of a published entry that change: the expiry's second and its code (in
    // the flags word). A racing reader may see one without the other: this lock's seq bump
    // makes it retry. Other threads change the flags word only under this lock too.
    const ew = this.entryByte(this.i32[bw + B_REFS + w * REF_STRIDE]) >>> 2;
    this.i32[ew + E_EXPIRE_AT] = expireAt;
    this.i32[ew + E_KEYLEN_FLAGS] = (this.i32[ew + E_KEYLEN_FLAGS] & ~(EXPIRE_CODE_MASK << EXPIRE_CODE_SHIFT)) | (this.ttlCode << EXPIRE_CODE_SHIFT);
    if (this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    return 1;
  }

  /** Removes `key`. Returns whether a live entry was removed. */
  delete(key: string | Uint8Array): boolean {
    this.codec.encode(key);
    return this.deleteEncoded(false, 0, 0);
  }

  /**
   * Removes the key already in `codec`; with `ifVersion`, only while its version is still
   * (`ifEpoch`, `ifCounter`), decided in the lock. Returns whether a live entry was removed.
   */
  deleteEncoded(ifVersion: boolean, ifEpoch: number, ifCounter: number): boolean {
    if (ifVersion && ifEpoch !== this.versionEpoch) return false;
    if (withKeyBucketLock(this, this.indexWord, this.codec.hash[0], deleteLocked, this, ifVersion ? 1 : 0, ifCounter) === 0) return false;
    this.f64[this.counters + C_DELETES]++;
    if (this.walSink !== null) this.walSink.logDelete(this.walSeq, this.codec.bytes, this.codec.length);
    return true;
  }

  /**
   * delete's body, lock held: 1 if a live entry was removed (an expired one is removed too,
   * as expired). With `ifVersion` 1, only an entry whose version counter is `counter`.
   * @internal
   */
  deleteLocked(bw: number, ifVersion: number, counter: number): number {
    const i32 = this.i32;
    const w = this.findLocked(bw, this.codec.hash[1], this.codec.bytes, 0, this.codec.length);
    if (w < 0) return 0;
    if (ifVersion === 1 && i32[bw + B_VERSIONS + w * REF_STRIDE] !== counter) return 0;
    const ref = i32[bw + B_REFS + w * REF_STRIDE];
    const ew = this.entryByte(ref) >>> 2;
    const live = !hasExpired(i32[ew + E_EXPIRE_AT], (i32[ew + E_KEYLEN_FLAGS] >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, this.clockSeconds(), this.now);
    removeWayLocked(this, bw, w, ref, live ? CHANGE_DELETE : CHANGE_EXPIRE, live ? NO_COUNTER : C_EXPIRED_ITEMS);
    if (live && this.walSink !== null) this.walSeq = this.nextWalSeqLocked();
    return live ? 1 : 0;
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
    if (this.walSink !== null) this.walSink.logFlush(Number(Atomics.add(this.v.i64, H_WAL_SEQ_I64, 1n)) + 1);
    for (let b = 0; b < this.bucketCount; b++) {
      const bw = this.indexWord + b * BUCKET_WORDS;
      let any = false;
      for (let w = 0; w < WAYS; w++) if (i32[bw + B_REFS + w * REF_STRIDE] !== 0) any = true;
      if (any) removed += withBucketLock(this, bw, b, flushLocked, this, 0, 0);
    }
    while (evictOldestDropping(this));
    // Empty again: the queues refill as on a fresh cache.
    Atomics.store(i32, H_FULL, 0);
    return removed;
  }

  /**
   * Stores `value` (of value type `type`) under `key` with an absolute expiry `expireAt`
   * (unix seconds, 0 = never), as replaying a log does. An entry already expired is not
   * stored (returns false). No WAL record.
   * @throws the key and value errors of {@link set}.
   */
  restore(key: Uint8Array, value: Uint8Array, type: number, expireAt: number): boolean {
    if (expireAt !== 0 && expireAt <= this.clockSeconds()) return false;
    if (!(type >= TYPE_BYTES && type <= TYPE_HASH)) throw new BadValueError(`unknown value type ${type}`);
    this.codec.encode(key);
    if (value.length > this.v.maxValueBytes) throw new ValueTooLargeError(this.v.maxValueBytes);
    const size = entryBytes(this.codec.length, value.length);
    this.reserved = this.writer.reserve(size, value.length, type, expireAt >>> 0, 0, this.queueForWrite(), this.codec.bytes, this.codec.length);
    this.u8.set(value, this.reserved + ENTRY_HEADER_BYTES + this.codec.length);
    withKeyBucketLock(this, this.indexWord, this.codec.hash[0], commitLocked, this, size, COND_ALWAYS);
    if (this.growsIndex && (this.bucketWasFull || (++this.writesSinceGrowthCheck & 255) === 0)) this.growIfLoaded();
    this.f64[this.counters + C_SETS]++;
    return true;
  }

  /**
   * Bulk restore, as loading a snapshot does: stores the `count` entries of `src` that start
   * at the byte offsets `starts[0..count)`, laid out as entry records (bulk-restore.ts says
   * how, and when they become visible). Returns how many were stored and how many skipped.
   * @throws OutOfMemoryError (`SABCACHE_ERR_OUT_OF_MEMORY`) when no segment is free and none
   *   can be evicted.
   */
  restoreEntries(src: Uint8Array, starts: Int32Array, count: number, padded = false, linkLater = false): { stored: number; skipped: number } {
    return (this.restorer ??= new BulkRestore(this)).restoreEntries(src, starts, count, padded, linkLater);
  }

  /** Links what {@link restoreEntries} left unlinked (`linkLater`) and gives its segments back. */
  linkRestored(): void {
    this.restorer?.linkRestored();
  }

  /**
   * Points the way of the locked bucket `b` for the encoded key (the codec's bytes and hash
   * lanes) at the committed entry `ref`, replacing the old entry, or taking an empty way, or evicting one, and
   * publishes the change when the change feed has a watcher (read under this lock). The
   * caller adds the entry's size to the segment's live bytes. A bulk restore links its
   * entries with linkRunLocked instead (their keys are in the buffer, not the codec).
   */
  private linkLocked(bw: number, b: number, ref: number): void {
    const i32 = this.i32;
    const { bytes, length } = this.codec;
    const lo = this.codec.hash[0];
    const hi = this.codec.hash[1];
    let target = this.findLocked(bw, hi, bytes, 0, length);
    if (target >= 0) {
      const old = i32[bw + B_REFS + target * REF_STRIDE];
      // An expired entry written over has expired first, as Redis's write lookup expires it
      // (counted, and its event before the set's); its header is in cache from the key compare.
      const ew = this.entryByte(old) >>> 2;
      if (hasExpired(i32[ew + E_EXPIRE_AT], (i32[ew + E_KEYLEN_FLAGS] >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, this.clockSeconds(), this.now)) {
        this.f64[this.counters + C_EXPIRED_ITEMS]++;
        if (feedWatched(this.v)) publishChange(this.v, CHANGE_EXPIRE, bytes, 0, length, lo, hi);
      }
      unlinkWayLocked(this.v, bw, target, old);
    } else {
      target = this.emptyWayLocked(bw);
      if (target < 0) {
        target = this.evictWayLocked(bw, b);
        this.bucketWasFull = true;
      }
      this.f64[this.counters + C_LINKED]++;
    }
    i32[bw + B_TAGS + target] = hi;
    i32[bw + B_REFS + target * REF_STRIDE] = ref;
    // A write: a new version, published with the ref by this lock's seq bump.
    this.result.version = i32[bw + B_VERSIONS + target * REF_STRIDE] = this.nextVersion();
    freqSetLocked(this.i32, this.freqBase + b * BUCKET_WORDS, target, 0);
    // Inside the bucket lock: a key's changes enter the feed in the order they happened.
    if (feedWatched(this.v)) publishChange(this.v, CHANGE_SET, bytes, 0, length, lo, hi);
  }

  /** The way holding the encoded key and a live (unexpired) entry, or -1. Lock held. */
  private findLiveLocked(bw: number): number {
    const w = this.findLocked(bw, this.codec.hash[1], this.codec.bytes, 0, this.codec.length);
    if (w < 0) return -1;
    const ew = this.entryByte(this.i32[bw + B_REFS + w * REF_STRIDE]) >>> 2;
    return hasExpired(this.i32[ew + E_EXPIRE_AT], (this.i32[ew + E_KEYLEN_FLAGS] >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, this.clockSeconds(), this.now) ? -1 : w;
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
  /** @internal */
  nextVersion(): number {
    if (this.versionNext === this.versionEnd) {
      this.versionNext = takeVersionBlock(this.i32);
      this.versionEnd = (this.versionNext + VERSION_BLOCK) | 0;
    }
    const v = this.versionNext;
    this.versionNext = (v + 1) | 0;
    return v === 0 ? this.nextVersion() : v;
  }

  /**
   * The expiry instant (unix ms, 0 = never) of a TTL of `ttlSeconds` from now: a whole
   * number of milliseconds, a part millisecond rounded up (so a key lives at least its TTL).
   * @throws BadTtlError (`SABCACHE_ERR_BAD_TTL`) unless 0 ≤ ttlSeconds ≤ MAX_TTL_SECONDS.
   */
  private expiryMsFor(ttlSeconds: number): number {
    if (ttlSeconds === 0) return 0;
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new BadTtlError(`ttlSeconds must be a number from 0 to ${MAX_TTL_SECONDS}, got ${ttlSeconds}`);
    }
    return Math.min(Math.ceil(this.now() + ttlSeconds * 1000), 0xffffffff * 1000);
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
  /** @internal */
  queueForNewKey(): number {
    // Before the cache first fills, the small queue only takes its share (eviction.ts).
    if (this.i32[H_FULL] === 0 && this.i32[H_SMALL_SEGMENTS] >= this.smallTargetSegments) return QUEUE_MAIN;
    return QUEUE_SMALL;
  }


  /**
   * The way of the locked bucket `bw` holding the key with tag `hi` whose bytes are `len`
   * bytes of `key` from `start` (the encoded key: `codec.bytes`, 0, `codec.length`), or -1.
   * `len` -1: `key` is the buffer and `start` an entry's key, whose length is read from the
   * entry's header once a way's tag matches (so a miss reads nothing of the entry).
   */
  /** @internal */
  findLocked(bw: number, hi: number, key: Uint8Array, start: number, len: number): number {
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
   * (docs/design.md §5). (Preferring small-queue entries at equal counts lowered the miss
   * ratio slightly in bench:eviction but evicted just-written keys before old unread ones.)
   */
  /** @internal */
  evictWayLocked(bw: number, b: number): number {
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
    removeWayLocked(this, bw, victim, victimRef, best === -1 ? CHANGE_EXPIRE : CHANGE_EVICT, best === -1 ? C_EXPIRED_ITEMS : C_EVICTED_ITEMS);
    return victim;
  }

  /**
   * Seals this thread's active segments and gives its thread block back. The table must
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
    this.writer.sealAll();
    Atomics.store(this.i32, this.threadWord + T_STATE, THREAD_FREE);
  }
}

// The bodies withBucketLock runs under a bucket's lock (module-level: no closure per call).
const commitLocked: LockedBody<Table> = (t, bw, b, size, cond) => t.commitLocked(bw, b, size, cond);
const incrLocked: LockedBody<Table> = (t, bw, b) => t.incrLocked(bw, b);
const setTtlLocked: LockedBody<Table> = (t, bw, _b, expireAt, ifCounter) => t.setTtlLocked(bw, expireAt, ifCounter);
const deleteLocked: LockedBody<Table> = (t, bw, _b, ifVersion, counter) => t.deleteLocked(bw, ifVersion, counter);
/** Removes every entry of the bucket; returns how many. */
const flushLocked: LockedBody<Table> = (t, bw) => {
  const i32 = t.v.i32;
  let removed = 0;
  for (let w = 0; w < WAYS; w++) {
    const ref = i32[bw + B_REFS + w * REF_STRIDE];
    if (ref === 0) continue;
    removeWayLocked(t, bw, w, ref, CHANGE_DELETE, NO_COUNTER);
    removed++;
  }
  return removed;
};

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * Copies the expiry code (layout.ts EXPIRE_CODE_SHIFT) of the entry at word `from` (-1: none,
 * so 0) into the flags word of the entry at word `to`, an unlinked reservation.
 */
function copyExpiryCode(i32: Int32Array, from: number, to: number): void {
  const mask = EXPIRE_CODE_MASK << EXPIRE_CODE_SHIFT;
  i32[to + E_KEYLEN_FLAGS] = (i32[to + E_KEYLEN_FLAGS] & ~mask) | (from >= 0 ? i32[from + E_KEYLEN_FLAGS] & mask : 0);
}
