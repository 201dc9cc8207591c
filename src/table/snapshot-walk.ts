/**
 * The snapshot walk (DESIGN §6): how a snapshot copies the live entries out of the buffer
 * while readers and writers carry on, in three phases, so that the bulk of the bytes is
 * copied in memory order (segment by segment) instead of at random (index order visits
 * entries all over the buffer: about 70 ns per entry in cache and TLB misses alone,
 * against about 10 ns per entry in memory order; bench:persist).
 *
 * 1. **Mark** ({@link markBuckets}): the index is read bucket by bucket under the seqlock,
 *    and each ref it holds sets one bit, at its segment and offset, in a bitmap (one bit
 *    per 8 bytes of segment: {@link SnapshotMarks}). The bucket's version is kept too. The
 *    segments' generations are recorded before the first bucket is read
 *    ({@link recordGenerations}).
 * 2. **Copy** ({@link copySegment}): each segment whose generation is still the recorded
 *    one is read in memory order; the entries whose bits are set (and not expired) are
 *    handed to the sink in runs of adjacent entries, so that a segment whose entries are all
 *    live is one copy. The generation is checked again after the copy: a segment freed
 *    meanwhile (evicted, compacted) may hold other bytes, so its copy is dropped and the
 *    segment is left uncovered. A covered segment's marked entries are in the file.
 * 3. **Tail** ({@link copyMovedBuckets}): the index is read again; every entry that is not
 *    a marked entry of a covered segment (it was written, or moved by an overwrite, a
 *    copy forward or a compaction, after its bucket was marked; or its segment was freed
 *    before its copy) is copied as the index holds it now. A bucket whose version has not
 *    moved since it was marked holds only marked entries, so only its segments are checked.
 *
 * What the file then holds: every key present throughout the walk (present at its mark,
 * so marked; if its entry was not copied in phase 2, its entry at phase 3 is not a covered
 * marked one and phase 3 copies it), as a value really stored. A key changed during the
 * walk may be in phase 2's blocks and again in phase 3's: phase 3's copy is the later
 * value (it was read after every phase-2 copy), which is why the file records where the
 * tail starts and a load stores the tail after the rest (docs/snapshot-format.md). Within
 * each phase a key occurs at most once: phase 1 marks one entry per key (one bucket, one
 * read), and phase 3 reads each bucket once.
 *
 * Bucket versions are compared for equality: a bucket would have to take exactly 2^31
 * writes during one walk (the version wraps, bucket-lock.ts) to be taken as unchanged.
 *
 * @module
 */
import { lockBucket, unlockBucket, VALIDATE_WITH_RMW, validateSeq } from './bucket-lock.ts';
import {
  B_REFS, bucketWord, E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, FLAGS_SHIFT, type Geometry, KEYLEN_MASK,
  S_GENERATION, SEGMENT_ROW_WORDS, segmentRowWord, TYPE_MASK, WAYS, entryBytes,
} from './layout.ts';
import type { Table } from './table.ts';

/** Optimistic seqlock attempts on a bucket before the walk takes its lock (as readers do). */
const READ_RETRIES = 16;

/** Receives the entries a snapshot walk copies (the snapshot encoder, snapshot-format.ts). */
export interface SnapshotSink {
  /** Remembers the current position (one mark at a time). */
  mark(): void;
  /** Drops every entry added since the last {@link mark}. */
  rewind(): void;
  /**
   * Copies one entry: `keyLength` key bytes then `valueLength` value bytes from byte `from`
   * of the shared buffer (`u8` and `i32` view it); `type` is its value type, `expireAt`
   * unix seconds (0 = never). `from` is the key's first byte inside an entry (layout.ts):
   * the entry's header is the ENTRY_HEADER_BYTES before it, and the entry runs on to a
   * multiple of 8 bytes, so a sink may copy it whole. The bytes are shared: copy them now.
   */
  entry(u8: Uint8Array, i32: Int32Array, from: number, keyLength: number, valueLength: number, type: number, expireAt: number): void;
  /** Called between segments and between buckets: a place where a block may end. */
  endGroup(): void;
  /**
   * Copies `count` whole entries that lie back to back in the shared buffer (`u8` and `i32`
   * view it) from byte `from` (an entry's first header byte), `bytes` in all (each padded
   * to 8 bytes). The bytes are shared: copy them now.
   */
  run(u8: Uint8Array, i32: Int32Array, from: number, bytes: number, count: number): void;
}

/**
 * What the mark phase leaves for the other two, in one SharedArrayBuffer so that several
 * threads walk one snapshot: per segment, its generation when the walk started and whether
 * phase 2 covered it; per bucket, the version it was marked at; and per marking thread, a
 * bitmap with one bit per 8 bytes of segment memory (a ref's offset/8), 1/64 of the
 * segments' bytes each.
 *
 * One bitmap per marking thread: two threads marking refs into the same word would lose
 * bits to each other (a plain `|=`), and `Atomics.or` made marking 2.1× slower (measured on
 * a 512 MiB cache: 66 against 31 ms).
 */
export class SnapshotMarks {
  /** Per segment: its generation before any bucket was marked. */
  readonly generations: Int32Array;
  /** Per segment: 1 once phase 2 copied its marked entries under an unchanged generation. */
  readonly covered: Int32Array;
  /** Per bucket: the (even) version its refs were marked at (each bucket is marked by one thread). */
  readonly bucketVersions: Int32Array;
  /** Per marking thread: the mark bitmap over all segments. */
  readonly bitmaps: Int32Array[];
  /** Bitmap words per segment (segment bytes / 8 bits / 32). */
  readonly wordsPerSegment: number;

  /**
   * @param sab from {@link SnapshotMarks.bytesFor} with the same `g` and `markers`, zeroed
   * @param markers how many threads mark (each marks with its own index, 0-based)
   */
  constructor(g: Geometry, readonly markers: number, readonly sab: SharedArrayBuffer) {
    const segs = g.segmentCount;
    this.wordsPerSegment = Math.max(1, g.segmentBytes >>> 8);
    let at = 0;
    const take = (words: number) => {
      const a = new Int32Array(sab, at, words);
      at += words * 4;
      return a;
    };
    this.generations = take(segs);
    this.covered = take(segs);
    this.bucketVersions = take(g.bucketCount);
    this.bitmaps = [];
    for (let m = 0; m < markers; m++) this.bitmaps.push(take(segs * this.wordsPerSegment));
  }

  /** Whether phase 2 covered every segment (read once phase 2 is over on every thread). */
  allCovered(): boolean {
    for (let s = 0; s < this.covered.length; s++) if (this.covered[s] !== 1) return false;
    return true;
  }

  /** Bytes of the SharedArrayBuffer a SnapshotMarks for `g` and `markers` threads needs. */
  static bytesFor(g: Geometry, markers: number): number {
    const wordsPerSegment = Math.max(1, g.segmentBytes >>> 8);
    return 4 * (2 * g.segmentCount + g.bucketCount + markers * g.segmentCount * wordsPerSegment);
  }
}

/**
 * Records every segment's generation (phase 1's start). Call once, before any thread
 * marks a bucket: a segment freed after this (its generation moves) is not copied by
 * phase 2, so a bit marked for its old entries never reads its new bytes.
 */
export function recordGenerations(table: Table, marks: SnapshotMarks): void {
  const i32 = table.v.i32;
  const g = table.v.g;
  const row0 = segmentRowWord(g, 0);
  for (let s = 0; s < g.segmentCount; s++) marks.generations[s] = Atomics.load(i32, row0 + s * SEGMENT_ROW_WORDS + S_GENERATION);
}

const scratchRefs = new Int32Array(WAYS);

/**
 * Phase 1 for buckets `[from, to)`: reads each bucket's refs under its seqlock (its lock
 * after {@link READ_RETRIES} moves) and sets their bits in `marker`'s bitmap, and records
 * the version read. Returns the refs marked.
 */
export function markBuckets(table: Table, marks: SnapshotMarks, marker: number, from: number, to: number): number {
  const v = table.v;
  const i32 = v.i32;
  const g = v.g;
  const offBits = g.offsetBits;
  const offMask = (1 << offBits) - 1;
  const segCount = g.segmentCount;
  const bitsPerSegment = g.segmentBytes >>> 3;
  const bitmap = marks.bitmaps[marker];
  const versions = marks.bucketVersions;
  const refs = scratchRefs;
  let marked = 0;
  for (let b = from; b < to; b++) {
    const bw = bucketWord(g, b);
    let n = -1;
    let version = 0;
    for (let attempt = 0; attempt < READ_RETRIES && n < 0; attempt++) {
      const s1 = Atomics.load(i32, bw);
      if (s1 & 1) continue;
      let k = 0;
      for (let w = 0; w < WAYS; w++) {
        const r = i32[bw + B_REFS + w];
        if (r !== 0) refs[k++] = r;
      }
      // Ordering: validate after the plain loads of the refs (bucket-lock.ts); refs read
      // while a writer moved the bucket may mix two states, so they are read again.
      if (validateSeq(i32, bw, s1) === s1) {
        n = k;
        version = s1;
      }
    }
    if (n < 0) {
      const s = lockBucket(i32, bw, b, table.owner, table.threadWord);
      let k = 0;
      for (let w = 0; w < WAYS; w++) {
        const r = i32[bw + B_REFS + w];
        if (r !== 0) refs[k++] = r;
      }
      unlockBucket(i32, bw, s, table.threadWord);
      n = k;
      version = (s + 2) | 0; // the version the unlock published: these refs are its state
    }
    versions[b] = version;
    for (let j = 0; j < n; j++) {
      const r = refs[j];
      const seg = r >>> offBits;
      if (seg >= segCount) continue; // cannot be: refs in a validated bucket are real
      const bit = seg * bitsPerSegment + (r & offMask);
      bitmap[bit >>> 5] |= 1 << (bit & 31);
    }
    marked += n;
  }
  return marked;
}

/** Whether any marker's bitmap has the bit of (`seg`, `offsetUnits` = offset/8). */
function isMarked(marks: SnapshotMarks, bitsPerSegment: number, seg: number, offsetUnits: number): boolean {
  const bit = seg * bitsPerSegment + offsetUnits;
  const word = bit >>> 5;
  const mask = 1 << (bit & 31);
  for (let m = 0; m < marks.markers; m++) if ((marks.bitmaps[m][word] & mask) !== 0) return true;
  return false;
}

/** Reads word `i` after the plain loads before it (as validateSeq does for a bucket's seq). */
function loadAfterPlainLoads(i32: Int32Array, i: number, expected: number): number {
  return VALIDATE_WITH_RMW ? Atomics.compareExchange(i32, i, expected, expected) : Atomics.load(i32, i);
}

/**
 * Phase 2 for segment `s`: hands `sink` the segment's marked, unexpired entries (at
 * `nowSeconds`) in memory order, in runs of adjacent entries, and marks the segment
 * covered. Returns the entries copied, or -1 when the segment was freed since the walk
 * started (before or during the copy: what the sink got since its mark is dropped) or a
 * marked bit does not lead to a whole entry; the segment is then not covered and phase 3
 * copies whatever of it the index still holds.
 */
export function copySegment(table: Table, marks: SnapshotMarks, s: number, nowSeconds: number, sink: SnapshotSink): number {
  const v = table.v;
  const i32 = v.i32;
  const g = v.g;
  const genWord = segmentRowWord(g, s) + S_GENERATION;
  const generation = Atomics.load(i32, genWord);
  if (generation !== marks.generations[s]) return -1;
  const u8 = v.u8;
  const segBytes = g.segmentBytes;
  const base = g.segmentsOffset + s * segBytes;
  const words = marks.wordsPerSegment;
  const first = s * words;
  const maps = marks.bitmaps;
  const markers = marks.markers;
  sink.mark();
  let entries = 0;
  let runFrom = -1;
  let runEnd = -1;
  let runCount = 0;
  let torn = false;
  for (let wi = 0; wi < words && !torn; wi++) {
    let word = maps[0][first + wi];
    for (let m = 1; m < markers; m++) word |= maps[m][first + wi];
    while (word !== 0) {
      const low = word & -word;
      word ^= low;
      const off = ((wi << 5) + (31 - Math.clz32(low))) << 3;
      const ew = (base + off) >>> 2;
      // Bounds-checked: plain loads of a segment that may be freed and rewritten under
      // this copy (the generation check after it drops the copy then).
      if (off + ENTRY_HEADER_BYTES > segBytes) {
        torn = true;
        break;
      }
      const keyLen = i32[ew + E_KEYLEN_FLAGS] & KEYLEN_MASK;
      const valueLen = i32[ew + E_VALUE_LEN];
      const size = entryBytes(keyLen, valueLen);
      if (keyLen === 0 || valueLen < 0 || off + size > segBytes) {
        torn = true;
        break;
      }
      const exp = i32[ew + E_EXPIRE_AT] >>> 0;
      if (exp !== 0 && exp <= nowSeconds) continue;
      entries++;
      const e = base + off;
      if (e === runEnd) {
        runEnd += size;
        runCount++;
        continue;
      }
      if (runCount > 0) sink.run(u8, i32, runFrom, runEnd - runFrom, runCount);
      runFrom = e;
      runEnd = e + size;
      runCount = 1;
    }
  }
  if (!torn && runCount > 0) sink.run(u8, i32, runFrom, runEnd - runFrom, runCount);
  // Ordering: the generation is read again after every plain load of the copy. Unchanged,
  // the segment was not freed since the walk started (a free bumps it before the segment
  // can be claimed and rewritten: segments.ts freeSegmentClaimed), so the marked entries'
  // bytes, immutable while the segment lives, are the ones copied.
  if (torn || loadAfterPlainLoads(i32, genWord, generation) !== generation) {
    sink.rewind();
    return -1;
  }
  marks.covered[s] = 1;
  return entries;
}

/**
 * Phase 3 for buckets `[from, to)`, after phase 2 has finished on every thread: hands
 * `sink` each unexpired entry the bucket holds that is not a marked entry of a covered
 * segment, reading the bucket under its seqlock (its lock after {@link READ_RETRIES}
 * moves) as {@link markBuckets} does. Returns the entries copied.
 */
export function copyMovedBuckets(table: Table, marks: SnapshotMarks, from: number, to: number, nowSeconds: number, sink: SnapshotSink): number {
  let n = 0;
  const i32 = table.v.i32;
  const g = table.v.g;
  const allCovered = marks.allCovered();
  const versions = marks.bucketVersions;
  for (let b = from; b < to; b++) {
    const bw = bucketWord(g, b);
    // A bucket at the version it was marked at holds exactly the refs it was marked with
    // (one read of its seq word: no other load to order), and when every segment was
    // covered each of them is a marked entry of a covered segment: nothing to copy. (Its
    // segments cannot have been freed since: a segment is freed only once its refs are
    // unlinked, which moves the version.)
    if (allCovered && Atomics.load(i32, bw) === versions[b]) continue;
    sink.mark();
    let done = false;
    for (let attempt = 0; attempt < READ_RETRIES && !done; attempt++) {
      const s1 = Atomics.load(i32, bw);
      if (s1 & 1) continue;
      const k = copyMovedEntries(table, marks, b, bw, s1, nowSeconds, sink);
      // Ordering: validate after every plain load of the copy; a torn one is dropped.
      if (validateSeq(i32, bw, s1) === s1) {
        n += k;
        done = true;
      } else {
        sink.rewind();
      }
    }
    if (!done) {
      const s = lockBucket(i32, bw, b, table.owner, table.threadWord);
      try {
        // -1: a version no marker recorded, so every ref's bit is looked up.
        n += copyMovedEntries(table, marks, b, bw, -1, nowSeconds, sink);
      } finally {
        unlockBucket(i32, bw, s, table.threadWord);
      }
    }
    sink.endGroup();
  }
  return n;
}

/**
 * Copies the entries of bucket `b` (at word `bw`, read at version `version`) that phase 3
 * copies. Runs under the bucket's seqlock or its lock: bounds-checked, it may read a torn
 * bucket, whose copy the caller drops.
 */
function copyMovedEntries(table: Table, marks: SnapshotMarks, b: number, bw: number, version: number, nowSeconds: number, sink: SnapshotSink): number {
  const v = table.v;
  const i32 = v.i32;
  const g = v.g;
  const offBits = g.offsetBits;
  const offMask = (1 << offBits) - 1;
  const segBytes = g.segmentBytes;
  const bitsPerSegment = segBytes >>> 3;
  const unchanged = marks.bucketVersions[b] === version;
  const row0 = segmentRowWord(g, 0);
  let n = 0;
  for (let w = 0; w < WAYS; w++) {
    const r = i32[bw + B_REFS + w];
    if (r === 0) continue;
    const seg = r >>> offBits;
    const off = (r & offMask) << 3;
    if (seg >= g.segmentCount || off + ENTRY_HEADER_BYTES > segBytes) continue;
    // The segment's generation as of this read of the bucket: the ref is linked (the
    // caller validates the bucket after), and a segment is freed only after all its refs
    // are unlinked, so it cannot move while the ref is read as linked.
    if (marks.covered[seg] === 1 && i32[row0 + seg * SEGMENT_ROW_WORDS + S_GENERATION] === marks.generations[seg]
      && (unchanged || isMarked(marks, bitsPerSegment, seg, r & offMask))) continue;
    const e = g.segmentsOffset + seg * segBytes + off;
    const ew = e >>> 2;
    const kf = i32[ew + E_KEYLEN_FLAGS];
    const keyLen = kf & KEYLEN_MASK;
    const valueLen = i32[ew + E_VALUE_LEN];
    if (keyLen === 0 || valueLen < 0 || off + ENTRY_HEADER_BYTES + keyLen + valueLen > segBytes) continue;
    const exp = i32[ew + E_EXPIRE_AT] >>> 0;
    if (exp !== 0 && exp <= nowSeconds) continue;
    sink.entry(v.u8, i32, e + ENTRY_HEADER_BYTES, keyLen, valueLen, (kf >>> FLAGS_SHIFT) & TYPE_MASK, exp);
    n++;
  }
  return n;
}
