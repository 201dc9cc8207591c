/**
 * The snapshot walk (docs/design.md §6): how a snapshot copies the live entries out of the buffer
 * while readers and writers carry on, in three phases, so that the bulk of the bytes is
 * copied in memory order (segment by segment) instead of at random (index order visits
 * entries all over the buffer: about 70 ns per entry in cache and TLB misses alone,
 * against about 10 ns per entry in memory order; bench:persist).
 *
 * 1. **Versions** ({@link recordVersions}): each segment's generation and write offset
 *    are read before it starts ({@link recordWalkStart}), then each bucket's version (its
 *    even seq), and once every bucket's is, each segment's generation and write offset
 *    again ({@link recordSegments}).
 * 2. **Copy** ({@link copySegment}): each segment whose generation is still the recorded
 *    one is read in memory order up to its recorded write offset; the entries not flagged
 *    unlinked (layout.ts ENTRY_UNLINKED) and not expired are handed to the sink in runs of
 *    adjacent entries, so that a segment whose entries are all live is one copy. The
 *    generation is checked again after the copy: a segment freed meanwhile (evicted,
 *    compacted) may hold other bytes, so its copy is dropped. A segment copied whole under
 *    the generation it had when the walk started is *covered*.
 * 3. **Tail** ({@link copyChangedBuckets}): each bucket whose version has moved since phase
 *    1 is read again, and every unexpired entry it holds now is copied, but for the ones
 *    that lie in a covered segment below its write offset at the walk's start.
 *
 * What the file then holds. A key whose bucket did not change during the walk is in phase
 * 2's blocks: its entry was linked when the bucket's version was read, so it was below its
 * segment's write offset (a writer moves the offset past an entry before it links it,
 * table.ts installLocked) when phase 1 then read the offsets; it stayed linked, so it was
 * not flagged, and its segment was not freed (a segment is freed only once its refs are
 * unlinked, which moves their buckets' versions). A key whose bucket changed is in the file
 * with the value it has when phase 3 reads it (or not at all, if it was deleted): in the
 * tail, or, when that entry lies below its covered segment's write offset at the walk's
 * start, in phase 2's blocks only. Such an entry was committed before the walk and, linked
 * now, it was linked throughout (its link came before its bucket's lock was released,
 * which phase 1's read of the bucket waited for), so phase 2 copied it, and no other entry
 * of its key: an older one was flagged before phase 1 read the bucket, and a newer one
 * would have unlinked it.
 *
 * Phase 2 also copies entries unlinked during the walk (flagged after it read them), so a
 * key changed during the walk may be in phase 2's blocks more than once; its entry at phase
 * 3, if it still has one, was then committed during the walk and is in the tail, whose copy
 * is the later value: it was read after every phase-2 copy, which is why the file records
 * where the tail starts and a load stores the tail after the rest (docs/snapshot-format.md).
 * Every copy is of an entry that was linked at some time: only committed entries lie below
 * a write offset, and a committed entry is linked before its bucket's lock is released (an
 * unlinked one is flagged first, segments.ts unlinkWayLocked). Within the tail a key occurs
 * at most once (each bucket is read once).
 *
 * Bucket versions are compared for equality: a bucket would have to take exactly 2^31
 * writes during one walk (the version wraps, bucket-lock.ts) to be taken as unchanged.
 *
 * @module
 */
import { lockBucket, unlockBucket, VALIDATE_WITH_RMW, validateSeq } from './bucket-lock.ts';
import {
  B_REFS, REF_STRIDE, bucketWord, E_EXPIRE_AT, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_HEADER_BYTES, ENTRY_UNLINKED, EXPIRE_CODE_MASK, EXPIRE_CODE_SHIFT, FLAGS_SHIFT, type Geometry, KEYLEN_MASK,
  S_GENERATION, S_WRITE_OFFSET, SEGMENT_FIRST_OFFSET, SEGMENT_ROW_WORDS, segmentRowWord, TYPE_MASK, WAYS, entryBytes, bytesToSegmentsEnd,
} from './layout.ts';
import type { Table } from './table.ts';
import { hasExpired } from './ttl.ts';

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
 * What phase 1 records for the other two, in one SharedArrayBuffer so that several threads
 * walk one snapshot: per bucket, its version; per segment, its generation and write offset
 * at the walk's start and after phase 1, and whether phase 2 covered it.
 */
export class SnapshotWalkState {
  /** Per bucket: the (even) version phase 1 read (each bucket is read by one thread). */
  readonly bucketVersions: Int32Array;
  /** Per segment: its generation once every bucket's version was read. */
  readonly generations: Int32Array;
  /** Per segment: its write offset, read with its generation. */
  readonly writeOffsets: Int32Array;
  /** Per segment: its generation when the walk started. */
  readonly startGenerations: Int32Array;
  /** Per segment: its write offset when the walk started, read after that generation. */
  readonly startWriteOffsets: Int32Array;
  /** Per segment: 1 once phase 2 copied it whole under its start generation. */
  readonly covered: Int32Array;
  /** [0]: the buckets this walk covers (the count at its start; the index cannot grow during it). */
  readonly walk: Int32Array;

  /** @param sab from {@link SnapshotWalkState.bytesFor} with the same `g` */
  constructor(g: Geometry, readonly sab: SharedArrayBuffer) {
    let at = 0;
    const take = (words: number) => {
      const a = new Int32Array(sab, at, words);
      at += words * 4;
      return a;
    };
    this.walk = take(1);
    this.bucketVersions = take(g.maxBucketCount);
    this.generations = take(g.segmentCount);
    this.writeOffsets = take(g.segmentCount);
    this.startGenerations = take(g.segmentCount);
    this.startWriteOffsets = take(g.segmentCount);
    this.covered = take(g.segmentCount);
  }

  /** Bytes of the SharedArrayBuffer a SnapshotWalkState for `g` needs (4 per bucket the index may grow to, 20 per segment). */
  static bytesFor(g: Geometry): number {
    return 4 * (1 + g.maxBucketCount + 5 * g.segmentCount);
  }

  /** The buckets this walk covers (set by {@link recordWalkStart}). */
  get buckets(): number {
    return this.walk[0];
  }
}

/**
 * The walk's start, on one thread, before any {@link recordVersions}: records each
 * segment's generation and write offset (phase 3 leaves out the entries committed before
 * it that phase 2 covered).
 */
export function recordWalkStart(table: Table, state: SnapshotWalkState): void {
  // The bucket count, fixed for the walk: the caller holds the index growth gate
  // (index-growth.ts enterIndexGate) from before this call to the walk's end.
  state.walk[0] = table.bucketCount;
  // Ordering: before any bucket's version (the caller records them after this returns).
  readSegmentRows(table, state.startGenerations, state.startWriteOffsets);
  state.covered.fill(0);
}

/**
 * Reads each segment's generation into `generations` and its write offset into `offsets`.
 * Ordering: the generation first, then the offset: an offset read after the segment was
 * freed and claimed again goes with a generation phase 2 finds moved (a free bumps the
 * generation before it stores offset 0: segments.ts freeSegmentClaimed).
 */
function readSegmentRows(table: Table, generations: Int32Array, offsets: Int32Array): void {
  const i32 = table.v.i32;
  const g = table.v.g;
  const row0 = segmentRowWord(g, 0);
  for (let s = 0; s < g.segmentCount; s++) {
    const row = row0 + s * SEGMENT_ROW_WORDS;
    generations[s] = Atomics.load(i32, row + S_GENERATION);
    offsets[s] = Atomics.load(i32, row + S_WRITE_OFFSET);
  }
}

/**
 * Phase 1 for buckets `[from, to)`: records each bucket's version, waiting out a writer that
 * holds it (its lock after {@link READ_RETRIES} reads of a held lock, as readers do).
 */
export function recordVersions(table: Table, state: SnapshotWalkState, from: number, to: number): void {
  const i32 = table.v.i32;
  const g = table.v.g;
  const versions = state.bucketVersions;
  for (let b = from; b < to; b++) {
    const bw = bucketWord(g, b);
    // Ordering: a seq_cst load, which an unlock's seq_cst store synchronizes with: the
    // unlinked flags set under every lock released before it are seen by phase 2.
    let s = Atomics.load(i32, bw);
    for (let attempt = 1; attempt < READ_RETRIES && (s & 1) !== 0; attempt++) s = Atomics.load(i32, bw);
    if ((s & 1) !== 0) {
      const held = lockBucket(i32, bw, b, table.owner, table.threadWord);
      unlockBucket(i32, bw, held, table.threadWord);
      s = (held + 2) | 0; // the version the unlock published
    }
    versions[b] = s;
  }
}

/**
 * Phase 1's end, on one thread, once {@link recordVersions} has run on every bucket (on
 * every thread): records each segment's generation and write offset.
 */
export function recordSegments(table: Table, state: SnapshotWalkState): void {
  // Ordering: after every bucket's version (the caller waits for phase 1 to end on every
  // thread): an entry linked when its bucket's version was read had its offset published
  // before, so it lies below the offset read here.
  readSegmentRows(table, state.generations, state.writeOffsets);
}

/** Reads word `i` after the plain loads before it (as validateSeq does for a bucket's seq). */
function loadAfterPlainLoads(i32: Int32Array, i: number, expected: number): number {
  return VALIDATE_WITH_RMW ? Atomics.compareExchange(i32, i, expected, expected) : Atomics.load(i32, i);
}

/**
 * Phase 2 for segment `s`: hands `sink` the segment's entries below its recorded write
 * offset that are not flagged unlinked nor expired (at `nowSeconds`), in memory order, in
 * runs of adjacent entries. Returns the entries copied, or -1 when the segment was freed
 * since phase 1 read its generation (before or during the copy: what the sink got since
 * its mark is dropped).
 */
export function copySegment(table: Table, state: SnapshotWalkState, s: number, nowSeconds: number, sink: SnapshotSink): number {
  const v = table.v;
  const i32 = v.i32;
  const g = v.g;
  const genWord = segmentRowWord(g, s) + S_GENERATION;
  const generation = Atomics.load(i32, genWord);
  const end = state.writeOffsets[s];
  if (generation !== state.generations[s] || end <= SEGMENT_FIRST_OFFSET) return generation === state.generations[s] ? 0 : -1;
  const u8 = v.u8;
  const base = g.segmentsOffset + s * g.segmentBytes;
  const limit = Math.min(end, bytesToSegmentsEnd(g, s)); // a span's head reaches past its segment
  sink.mark();
  let entries = 0;
  let runFrom = -1;
  let runEnd = -1;
  let runCount = 0;
  let torn = false;
  for (let off = SEGMENT_FIRST_OFFSET; off < limit;) {
    // Bounds-checked: plain loads of a segment that may be freed and rewritten under this
    // copy (the generation check after it drops the copy then).
    if (off + ENTRY_HEADER_BYTES > limit) {
      torn = true;
      break;
    }
    const ew = (base + off) >>> 2;
    const kf = i32[ew + E_KEYLEN_FLAGS];
    const keyLen = kf & KEYLEN_MASK;
    const valueLen = i32[ew + E_VALUE_LEN];
    const size = entryBytes(keyLen, valueLen);
    if (keyLen === 0 || valueLen < 0 || off + size > limit) {
      torn = true;
      break;
    }
    const e = base + off;
    off += size;
    if ((kf & ENTRY_UNLINKED) !== 0) continue;
    const exp = i32[ew + E_EXPIRE_AT] >>> 0;
    // Expired to the millisecond, as readers judge it (ttl.ts): a key no reader sees is not kept.
    if (exp !== 0 && hasExpired(exp, (kf >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, nowSeconds, table.now)) continue;
    entries++;
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
  if (!torn && runCount > 0) sink.run(u8, i32, runFrom, runEnd - runFrom, runCount);
  // Ordering: the generation is read again after every plain load of the copy. Unchanged,
  // the segment was not freed since phase 1 read it (a free bumps it before the segment
  // can be claimed and rewritten: segments.ts freeSegmentClaimed), so the entries below the
  // recorded offset, immutable while the segment lives but for their expiry and unlinked
  // flag (one word each), are the ones copied.
  if (torn || loadAfterPlainLoads(i32, genWord, generation) !== generation) {
    sink.rewind();
    return -1;
  }
  // Read by phase 3 once phase 2 is over on every thread (the phase change orders it).
  if (generation === state.startGenerations[s]) state.covered[s] = 1;
  return entries;
}

/**
 * Phase 3 for buckets `[from, to)`, after phase 2 has finished on every thread: hands
 * `sink` every unexpired entry of each bucket whose version moved since phase 1, but for
 * the ones below their covered segment's write offset at the walk's start (phase 2 copied
 * those, see the module comment), reading the bucket under its seqlock (its lock after
 * {@link READ_RETRIES} moves) as readers do. Returns the entries copied.
 */
export function copyChangedBuckets(table: Table, state: SnapshotWalkState, from: number, to: number, nowSeconds: number, sink: SnapshotSink): number {
  let n = 0;
  const i32 = table.v.i32;
  const g = table.v.g;
  const versions = state.bucketVersions;
  for (let b = from; b < to; b++) {
    const bw = bucketWord(g, b);
    // One read of the seq word (no other load to order): at its phase-1 version, the bucket
    // holds exactly the entries it held then, which phase 2 copied (see the module comment).
    if (Atomics.load(i32, bw) === versions[b]) continue;
    sink.mark();
    let done = false;
    for (let attempt = 0; attempt < READ_RETRIES && !done; attempt++) {
      const s1 = Atomics.load(i32, bw);
      if (s1 & 1) continue;
      const k = copyBucketEntries(table, state, bw, nowSeconds, sink);
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
        n += copyBucketEntries(table, state, bw, nowSeconds, sink);
      } finally {
        unlockBucket(i32, bw, s, table.threadWord);
      }
    }
    sink.endGroup();
  }
  return n;
}

/**
 * Copies the entries of the bucket at word `bw` that phase 3 copies (see
 * {@link copyChangedBuckets}). Runs under the bucket's seqlock or its lock: bounds-checked,
 * it may read a torn bucket, whose copy the caller drops.
 */
function copyBucketEntries(table: Table, state: SnapshotWalkState, bw: number, nowSeconds: number, sink: SnapshotSink): number {
  const v = table.v;
  const i32 = v.i32;
  const g = v.g;
  const offBits = g.offsetBits;
  const offMask = (1 << offBits) - 1;
  const segBytes = g.segmentBytes;
  const row0 = segmentRowWord(g, 0);
  let n = 0;
  for (let w = 0; w < WAYS; w++) {
    const r = i32[bw + B_REFS + w * REF_STRIDE];
    if (r === 0) continue;
    const seg = r >>> offBits;
    const off = (r & offMask) << 3;
    if (seg >= g.segmentCount || off + ENTRY_HEADER_BYTES > segBytes) continue;
    // The segment's generation as of this read of the bucket: the ref is linked (the caller
    // validates the bucket after), and a segment is freed only after all its refs are
    // unlinked, so it cannot move while the ref is read as linked.
    if (off < state.startWriteOffsets[seg] && state.covered[seg] === 1 && i32[row0 + seg * SEGMENT_ROW_WORDS + S_GENERATION] === state.startGenerations[seg]) continue;
    const e = g.segmentsOffset + seg * segBytes + off;
    const ew = e >>> 2;
    const kf = i32[ew + E_KEYLEN_FLAGS];
    const keyLen = kf & KEYLEN_MASK;
    const valueLen = i32[ew + E_VALUE_LEN];
    if (keyLen === 0 || valueLen < 0 || off + ENTRY_HEADER_BYTES + keyLen + valueLen > bytesToSegmentsEnd(g, seg)) continue;
    const exp = i32[ew + E_EXPIRE_AT] >>> 0;
    if (exp !== 0 && hasExpired(exp, (kf >>> EXPIRE_CODE_SHIFT) & EXPIRE_CODE_MASK, nowSeconds, table.now)) continue;
    sink.entry(v.u8, i32, e + ENTRY_HEADER_BYTES, keyLen, valueLen, (kf >>> FLAGS_SHIFT) & TYPE_MASK, exp);
    n++;
  }
  return n;
}
