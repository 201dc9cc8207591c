/**
 * Bulk restore (docs/design.md §6 "Loading a snapshot"): a thread's copy of many entries
 * into segments at once, linked into the index in batches in bucket order, as loading a
 * snapshot does. `Table.restoreEntries` is its entry point.
 *
 * @module
 */
import { LITTLE_ENDIAN } from '../util/endian.ts';
import { OutOfMemoryError } from '../errors.ts';
import { type LockedBody, withBucketLock } from './bucket-lock.ts';
import { feedWatched, publishChange } from './change-feed.ts';
import { freqClearLocked, freqWayMask } from './frequency.ts';
import { enterIndexGate, exitIndexGate } from './index-growth.ts';
import {
  B_REFS, B_TAGS, B_VERSIONS, BUCKET_WORDS, C_LINKED, C_SETS, CHANGE_SET, E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, FLAGS_SHIFT,
  KEYLEN_MASK, REF_STRIDE, S_LIVE_BYTES, S_WRITE_OFFSET, SEGMENT_FIRST_OFFSET, SEGMENT_ROW_WORDS, T_PARK, T_STATE, THREAD_ATTACHED,
  THREAD_BLOCK_COUNT, TYPE_HASH, WAYS, bucketFor, entryBytes, makeRef, threadBlockWord,
} from './layout.ts';
import { R_BUCKET, R_HI, R_REF, RECORD_WORDS, RestoreBatch } from './restore-batch.ts';
import { WRITER_RESERVE_SEGMENTS } from './segment-writer.ts';
import { sealSegment, unlinkWayLocked } from './segments.ts';
import type { KeyCodec } from './key-codec.ts';
import type { SegmentWriter } from './segment-writer.ts';
import type { ThreadContext } from './segments.ts';

/**
 * Entries restoreEntries links in one batch at most, in bucket order (restore-batch.ts);
 * its records then take 2 × 64 MiB. The segments a batch may hold bound it first in most
 * caches (bench:persist's 512 MiB cache: about 2.4 entries per bucket a batch).
 */
const RESTORE_BATCH_ENTRIES = 1 << 22;

/** What a bulk restore needs of its thread's table (Table has it; an interface, so that the table and this module do not import each other). */
export interface RestoringTable extends ThreadContext {
  readonly codec: KeyCodec;
  readonly writer: SegmentWriter;
  readonly bucketCount: number;
  readonly indexWord: number;
  readonly freqBase: number;
  readonly segRowWord: number;
  clockSeconds(): number;
  entryByte(ref: number): number;
  /** Frees one segment by the table's policy (compacts or evicts one; `attempt` as Table.makeRoom's); false when none can be freed. */
  makeRoom(attempt: number): boolean;
  /** The way of the locked bucket holding the key of the entry whose key starts at byte `start` of `key` (len -1), or -1. */
  findLocked(bw: number, hi: number, key: Uint8Array, start: number, len: number): number;
  /** Frees one way of the full, locked bucket `b` and returns it. */
  evictWayLocked(bw: number, b: number): number;
  /** A version counter no entry has had. */
  nextVersion(): number;
  /** The queue a key not seen recently goes to. */
  queueForNewKey(): number;
  /** Stores one entry through the one-entry write path (Table.restore); false if already expired. */
  restore(key: Uint8Array, value: Uint8Array, type: number, expireAt: number): boolean;
}

/** One thread's bulk restore state. Not thread-safe itself (one per Table). */
export class BulkRestore {
  /** The bucket count the batch's records were mapped with (-1: more than one). */
  private batchBuckets = 0;
  /** The entries not linked yet (made at the first restore). */
  batch: RestoreBatch | null = null;
  /** Segments the restore holds ACTIVE (see linkBatch), in the order it claimed them. */
  private readonly batchSegs: number[] = [];
  /** The segment the restore fills, or -1, and its next free byte offset. */
  private batchSeg = -1;
  private batchOff = 0;
  /** Segments the current batch may hold (restoreHoldSegments, taken when it starts). */
  private batchHoldSegments = 2;
  /** linkBatch's live bytes per segment (made at the first link). */
  private live: Int32Array | null = null;
  /** The first record of the run linkRunLocked links next. */
  runAt = 0;

  constructor(readonly t: RestoringTable) {}

  /**
   * Bulk restore, as loading a snapshot does: stores the `count` entries of `src` that start
   * at the byte offsets `starts[0..count)`. Each is laid out as an entry is in the buffer
   * (layout.ts: u32 key bytes | value type << 16, u32 value bytes, u32 expireAt, then the
   * key, then the value), only not padded to 8 bytes; the snapshot's entry record is that
   * layout by design (docs/snapshot-format.md); with `padded` each is followed by zeros to a
   * multiple of 8 bytes, and runs of them are copied whole. Each is stored as
   * `Table.restore` stores one (already expired: skipped; no WAL record; no ghost lookup, so
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
    // Sized for the most buckets the index may grow to (the sort's bucket bits).
    const batch = (this.batch ??= new RestoreBatch(Math.min(RESTORE_BATCH_ENTRIES, this.t.v.g.maxBucketCount * WAYS), this.t.v.g.maxBucketCount));
    const live = (this.live ??= new Int32Array(this.t.v.g.segmentCount));
    const clock = this.t.clockSeconds();
    const maxValue = this.t.v.maxValueBytes;
    const maxKey = this.t.v.maxKeyBytes;
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
      if (keyLen === 0 || keyLen > maxKey || valueLen > maxValue || type > TYPE_HASH) {
        skipped++;
        continue;
      }
      if (exp !== 0 && exp <= clock) continue; // expired: neither stored nor refused
      const size = entryBytes(keyLen, valueLen);
      if (src32 !== null && (at & 3) === 0) this.t.codec.encodeWords(src32, (at + ENTRY_HEADER_BYTES) >>> 2, keyLen);
      else this.t.codec.encodeSlice(src, at + ENTRY_HEADER_BYTES, keyLen);
      const lo = this.t.codec.hash[0];
      const hi = this.t.codec.hash[1];
      if (size + SEGMENT_FIRST_OFFSET > this.t.v.g.segmentBytes) {
        // Larger than a segment: through the one-entry path (a span of segments, segment-writer.ts),
        // after what is batched, so that a later record of the key still wins.
        if (runEnd >= 0) this.t.v.u8.set(src.subarray(runFrom, runEnd), runTo);
        runEnd = -1;
        if (batch.count > 0) this.linkBatch(true);
        const k = at + ENTRY_HEADER_BYTES;
        if (this.t.restore(src.subarray(k, k + keyLen), src.subarray(k + keyLen, k + keyLen + valueLen), type, exp)) stored++;
        continue;
      }
      if (this.batchSeg < 0 || this.batchOff + size > this.t.v.g.segmentBytes || batch.full) {
        // The run's bytes go in before anything is linked (the link reads the key there).
        if (runEnd >= 0) this.t.v.u8.set(src.subarray(runFrom, runEnd), runTo);
        runEnd = -1;
        if (batch.full) this.linkBatch(true);
        if (this.batchSeg < 0 || this.batchOff + size > this.t.v.g.segmentBytes) this.nextBatchSegment();
      }
      const e = this.t.v.g.segmentsOffset + this.batchSeg * this.t.v.g.segmentBytes + this.batchOff;
      if (!runs) this.copyRecord(src, dv, at, e);
      else if (at === runEnd && runTo + (runEnd - runFrom) === e) runEnd += size;
      else {
        if (runEnd >= 0) this.t.v.u8.set(src.subarray(runFrom, runEnd), runTo);
        runFrom = at;
        runEnd = at + size;
        runTo = e;
      }
      // The bucket at this moment's count; linkBatch maps them again if the index grew since.
      const n = this.t.bucketCount;
      if (batch.count === 0) this.batchBuckets = n;
      else if (n !== this.batchBuckets) this.batchBuckets = -1;
      batch.push(bucketFor(lo, n), hi, makeRef(this.t.v.g, this.batchSeg, this.batchOff));
      live[this.batchSeg] += size;
      this.batchOff += size;
      stored++;
    }
    if (runEnd >= 0) this.t.v.u8.set(src.subarray(runFrom, runEnd), runTo);
    if (!linkLater) this.linkRestored();
    return { stored, skipped };
  }

  /**
   * Links what {@link restoreEntries} left unlinked (`linkLater`), and gives back the
   * segments it holds: the one it was filling becomes this thread's active segment of its
   * queue, when that has none, else it is sealed, as the others are.
   */
  linkRestored(): void {
    if (this.batch === null) return;
    this.linkBatch(false);
  }

  /**
   * Publishes the write offset of the segment the restore fills, then claims a free one to
   * fill next (held ACTIVE, not this thread's active segment: see {@link linkBatch}),
   * evicting when none is free; when nothing can be evicted either, links the batch first
   * so that its segments can be sealed (and evicted).
   */
  private nextBatchSegment(): void {
    const i32 = this.t.v.i32;
    this.publishBatchOffset();
    this.batchSeg = -1;
    if (this.batchSegs.length === 0) this.batchHoldSegments = this.restoreHoldSegments();
    else if (this.batchSegs.length >= this.batchHoldSegments) this.linkBatch(false);
    for (let attempt = 0; attempt < 256; attempt++) {
      const s = this.t.writer.claimFree(this.t.queueForNewKey(), WRITER_RESERVE_SEGMENTS);
      if (s >= 0) {
        this.batchSegs.push(s);
        this.batchSeg = s;
        this.batchOff = SEGMENT_FIRST_OFFSET;
        return;
      }
      if (this.t.makeRoom(attempt)) continue;
      if (this.batchSegs.length > 0) this.linkBatch(false);
      // Holding none, with none free or sealed: other restoring threads hold the rest, and
      // seal theirs when they link (at the latest when they too find none free).
      else Atomics.wait(i32, this.t.threadWord + T_PARK, 0, 1);
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
    Atomics.store(this.t.v.i32, this.t.segRowWord + this.batchSeg * SEGMENT_ROW_WORDS + S_WRITE_OFFSET, this.batchOff);
  }

  /**
   * Segments a restore's batch may hold before it is linked: half of all segments, shared
   * by the threads attached now (a load's main thread and helpers): together they leave
   * the other half to evict into and from. At least 2.
   */
  private restoreHoldSegments(): number {
    let attached = 0;
    for (let t = 0; t < THREAD_BLOCK_COUNT; t++) if (Atomics.load(this.t.v.i32, threadBlockWord(t) + T_STATE) === THREAD_ATTACHED) attached++;
    return Math.max(2, Math.floor(this.t.v.g.segmentCount / (2 * Math.max(1, attached))));
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
    const batch = this.batch!;
    const i32 = this.t.v.i32;
    this.publishBatchOffset();
    // The bucket count stays put while the batch links (index-growth.ts): each record's
    // bucket, mapped again if the index grew since it was pushed, stays its key's bucket.
    enterIndexGate(i32, this.t.threadWord);
    try {
      this.linkBatchGated(keepFilling);
    } finally {
      exitIndexGate(i32);
    }
  }

  /** {@link linkBatch}'s body, under the growth gate. */
  private linkBatchGated(keepFilling: boolean): void {
    const batch = this.batch!;
    const i32 = this.t.v.i32;
    const n0 = this.t.bucketCount;
    if (this.batchBuckets !== n0) {
      const r = batch.records;
      for (let k = 0; k < batch.count; k++) r[k * RECORD_WORDS + R_BUCKET] = bucketFor(this.t.v.hashEntryKey(this.t.entryByte(r[k * RECORD_WORDS + R_REF]))[0], n0);
    }
    batch.sort();
    const live = this.live!;
    const r = batch.records;
    const n = batch.count;
    for (let k = 0; k < n;) {
      // One lock for each run of records of one bucket.
      const b = r[k * RECORD_WORDS + R_BUCKET];
      const bw = this.t.indexWord + b * BUCKET_WORDS;
      this.runAt = k;
      k = withBucketLock(this.t, bw, b, linkRunLocked, this, n, 0);
    }
    this.t.v.f64[this.t.counters + C_SETS] += batch.count;
    batch.count = 0;
    const keep = keepFilling ? this.batchSeg : -1;
    for (const seg of this.batchSegs) {
      const row = this.t.segRowWord + seg * SEGMENT_ROW_WORDS;
      // One add per segment, not one per entry (Atomics builtins are calls in this V8).
      // Atomic: another thread may already subtract an entry it overwrote or deleted, so the
      // count can dip below the truth for this moment. Safe: only sealed segments' live
      // bytes decide anything (compaction), and this add comes before the seal below. A
      // thread dying before it leaves the count short: a compaction picks that segment a
      // little early, and the count starts again from zero when the segment is freed.
      if (live[seg] !== 0) Atomics.add(i32, row + S_LIVE_BYTES, live[seg]);
      live[seg] = 0;
      if (seg === keep) continue;
      if (seg !== this.batchSeg) sealSegment(this.t.v, seg);
      else this.t.writer.adoptOrSeal(seg);
    }
    this.batchSegs.length = 0;
    if (keep >= 0) this.batchSegs.push(keep);
    else this.batchSeg = -1;
  }

  /** Copies the unpadded entry record at byte `at` of `src` (see restoreEntries) to byte `e`. */
  private copyRecord(src: Uint8Array, dv: DataView, at: number, e: number): void {
    const i32 = this.t.v.i32;
    const keyLen = dv.getUint32(at, true) & KEYLEN_MASK;
    const valueLen = dv.getUint32(at + 4, true);
    const bytes = ENTRY_HEADER_BYTES + keyLen + valueLen;
    if (LITTLE_ENDIAN) {
      // Aligned words out, unaligned reads in: the record's header is the entry's.
      let w = e >>> 2;
      let k = at;
      const end = at + (bytes & ~3);
      for (; k < end; k += 4, w++) i32[w] = dv.getInt32(k, true);
      for (let t = e + (bytes & ~3); k < at + bytes; k++, t++) this.t.v.u8[t] = src[k];
    } else {
      const ew = e >>> 2;
      i32[ew + E_KEYLEN_FLAGS] = dv.getUint32(at, true);
      i32[ew + E_VALUE_LEN] = valueLen;
      i32[ew + E_EXPIRE_AT] = dv.getUint32(at + 8, true);
      this.t.v.u8.set(src.subarray(at + ENTRY_HEADER_BYTES, at + bytes), e + ENTRY_HEADER_BYTES);
    }
  }
}

/**
 * Links the batch's records from `k` on that are of bucket `b` (a run: the batch is
 * sorted), as {@link linkLocked} links each, and returns the index after the run. The
 * caller holds the bucket's lock (withBucketLock; the run starts at `self.runAt`). Per run, not per record: the search for an empty way
 * goes on from where the last one ended (this run fills the ways it finds empty, and a
 * way it frees it fills at once), and the new entries' frequency counters are reset with
 * one compare-and-swap at the end, or before an eviction, which reads them.
 */
const linkRunLocked: LockedBody<BulkRestore> = (self, bw, b, n) => {
  const t = self.t;
  const r = self.batch!.records;
  let k = self.runAt;
  const i32 = t.v.i32;
  // Once per bucket, inside its lock (as installLocked's linkLocked reads it): the feed
  // then wants the key's other hash lane too, and gets this run's changes.
  const watched = feedWatched(t.v);
  const freqAt = t.freqBase + b * BUCKET_WORDS;
  let empty = 0; // every way below it holds an entry
  let reset = 0; // the counters of the ways this run linked into, not reset yet
  let linked = 0;
  do {
    const at = k * RECORD_WORDS;
    const ref = r[at + R_REF];
    const hi = r[at + R_HI];
    const e = t.entryByte(ref);
    let target = t.findLocked(bw, hi, t.v.u8, e + ENTRY_HEADER_BYTES, -1);
    if (target >= 0) unlinkWayLocked(t.v, bw, target, i32[bw + B_REFS + target * REF_STRIDE]);
    else {
      while (empty < WAYS && i32[bw + B_REFS + empty * REF_STRIDE] !== 0) empty++;
      if (empty < WAYS) target = empty;
      else {
        if (reset !== 0) freqClearLocked(i32, freqAt, reset);
        reset = 0;
        target = t.evictWayLocked(bw, b);
      }
      linked++;
    }
    i32[bw + B_TAGS + target] = hi;
    i32[bw + B_REFS + target * REF_STRIDE] = ref;
    // A new version for the restored key, published with the ref by this lock's seq bump.
    i32[bw + B_VERSIONS + target * REF_STRIDE] = t.nextVersion();
    reset |= freqWayMask(target);
    if (watched) publishChange(t.v, CHANGE_SET, t.v.u8, e + ENTRY_HEADER_BYTES, i32[(e >>> 2) + E_KEYLEN_FLAGS] & KEYLEN_MASK, t.v.hashEntryKey(e)[0], hi);
    k++;
  } while (k < n && r[k * RECORD_WORDS + R_BUCKET] === b);
  if (reset !== 0) freqClearLocked(i32, freqAt, reset);
  t.v.f64[t.counters + C_LINKED] += linked;
  return k;
};

