/**
 * Log-structured segments (docs/design.md §4): each attached thread appends entries to its own
 * active segment; a full segment is sealed (read-only) and takes a global seal sequence
 * number, which orders sealed segments first-in first-out in their queue. Eviction
 * (segment-eviction.ts) walks a sealed segment, copies forward or unlinks each entry the
 * index still points at, then frees it whole with {@link freeSegmentClaimed}.
 *
 * A free segment is claimed with one CAS on its state word (FREE → ACTIVE|owner), scanning
 * the segment table from a rotating hint. This is lock-free and has no ABA hazard (the
 * state word alone decides ownership), and a thread that dies mid-claim leaves nothing to
 * untangle. A free-list stack would also do; the scan costs O(segments) once per
 * segment filled (one scan of 256 rows per MiB written at the default size), which is
 * noise next to writing that MiB.
 *
 * @module
 */
import {
  B_REFS, REF_STRIDE, B_TAGS, E_KEYLEN_FLAGS, E_VALUE_LEN, ENTRY_UNLINKED, H_CLOCK_SECONDS, H_FIRST_SEGMENT, H_FREE_HINT, H_SEAL_SEQ, H_SMALL_SEGMENTS, KEYLEN_MASK, QUEUE_MAIN,
  QUEUE_SMALL, S_CREATED_AT, S_GENERATION, S_LIVE_BYTES, S_QUEUE, S_SEAL_SEQ, S_SPAN_HEAD, S_STATE, S_WRITE_OFFSET, SEG_ACTIVE, SEG_FREE,
  SEG_INDEX, SEG_OWNER_SHIFT, SEG_SEALED, SEG_SPAN, SEG_STATE_MASK, SEGMENT_FIRST_OFFSET, entryBytes, refByte, refSegment, segmentRowWord,
} from './layout.ts';
import type { SharedView } from './shared-view.ts';

/** What a thread needs to take locks and count what it does. */
export interface ThreadContext {
  readonly v: SharedView;
  /** Thread block index + 1: the value this thread writes into lock and owner words. */
  readonly owner: number;
  /** Word index of this thread's block. */
  readonly threadWord: number;
  /** f64 index of this thread's first counter. */
  readonly counters: number;
}

/** Segment counts by state, and of the segments in use (active or sealed) by queue. */
export interface SegmentCounts {
  free: number;
  active: number;
  sealed: number;
  evicting: number;
  /** Active or sealed segments of the small queue. */
  small: number;
  /** Active or sealed segments of the main queue. */
  main: number;
  /** Segments holding the rest of an entry larger than one segment (SEG_SPAN). */
  span: number;
  /** Segments the index has grown over (SEG_INDEX). */
  index: number;
}

/**
 * Size in bytes of the entry at byte `e`, or 0 if its header is not a plausible entry
 * (a torn read, or space reserved but never written): callers stop walking there.
 */
export function entrySizeAt(v: SharedView, e: number, limit: number): number {
  const i32 = v.i32;
  const w = e >>> 2;
  const keyLen = i32[w + E_KEYLEN_FLAGS] & KEYLEN_MASK;
  const valueLen = i32[w + E_VALUE_LEN];
  if (keyLen === 0 || keyLen > v.maxKeyBytes || valueLen < 0 || valueLen > v.maxValueBytes) return 0;
  const size = entryBytes(keyLen, valueLen);
  return e + size <= limit ? size : 0;
}

/**
 * Claims a free segment for thread `ctx.owner` as its active segment of `queue`
 * (QUEUE_SMALL or QUEUE_MAIN). Returns its index, or -1 when none is free, or when no more
 * than `reserve` are free (writers leave the last ones to evictors copying entries forward).
 */
export function acquireSegment(ctx: ThreadContext, queue: number, reserve = 0, span = 1): number {
  const { v, owner } = ctx;
  const i32 = v.i32;
  const n = v.g.segmentCount;
  if (reserve > 0) {
    // A hint (others claim and free meanwhile): it only has to keep evictors from starving.
    let free = 0;
    for (let s = 0; s < n && free < reserve + span; s++) if (Atomics.load(i32, segmentRowWord(v.g, s) + S_STATE) === SEG_FREE) free++;
    if (free < reserve + span) return -1;
  }
  // Segments below H_FIRST_SEGMENT are the index's, or being taken for it (index-growth.ts).
  const first = Atomics.load(i32, H_FIRST_SEGMENT);
  const usable = n - first;
  const start = Atomics.load(i32, H_FREE_HINT) % n;
  for (let i = 0; i < usable; i++) {
    // A run must not wrap past the last segment: runs are searched from the first usable one.
    const s = span === 1 ? first + ((Math.max(start, first) - first + i) % usable) : first + i;
    if (s + span > n) break;
    const row = segmentRowWord(v.g, s);
    if (Atomics.load(i32, row + S_STATE) !== SEG_FREE) continue;
    if (Atomics.compareExchange(i32, row + S_STATE, SEG_FREE, SEG_ACTIVE | (owner << SEG_OWNER_SHIFT)) !== SEG_FREE) continue;
    if (span > 1 && !claimSpanTail(v, s, span, owner)) {
      // Ordering: nothing was published in the head yet; giving it back is one store.
      Atomics.store(i32, row + S_STATE, SEG_FREE);
      continue;
    }
    // Only the claimer touches these until the segment is sealed.
    i32[row + S_LIVE_BYTES] = 0;
    i32[row + S_CREATED_AT] = i32[H_CLOCK_SECONDS];
    i32[row + S_QUEUE] = queue;
    // Counted for the write path's placement (table.ts queueForWrite); a hint, so no
    // ordering with the claim is needed.
    if (queue === QUEUE_SMALL) Atomics.add(i32, H_SMALL_SEGMENTS, 1);
    Atomics.store(i32, row + S_WRITE_OFFSET, SEGMENT_FIRST_OFFSET);
    Atomics.store(i32, H_FREE_HINT, (s + 1) % n);
    return s;
  }
  return -1;
}

/**
 * Claims segments `head + 1 .. head + span - 1` (FREE → SPAN) for the entry that will start
 * in `head`, which this thread has just claimed. All or none: on a lost CAS the ones taken
 * are given back and it returns false. The head is claimed first, so a span segment always
 * has a live head: freeing the head frees it ({@link freeSegmentClaimed}), also after its
 * thread dies (repair seals the head; eviction frees it).
 */
function claimSpanTail(v: SharedView, head: number, span: number, owner: number): boolean {
  const i32 = v.i32;
  for (let k = 1; k < span; k++) {
    const row = segmentRowWord(v.g, head + k);
    if (Atomics.compareExchange(i32, row + S_STATE, SEG_FREE, SEG_SPAN | (owner << SEG_OWNER_SHIFT)) === SEG_FREE) {
      // Written after the CAS (a losing claimer must not overwrite it). Until then the word
      // may be stale, naming an earlier head; freeSegmentClaimed's walk from that head
      // cannot reach this segment meanwhile: the run between them holds our head, which
      // is ACTIVE, and the walk stops at the first segment that is not its SPAN.
      Atomics.store(i32, row + S_SPAN_HEAD, head);
      continue;
    }
    for (let j = 1; j < k; j++) Atomics.store(i32, segmentRowWord(v.g, head + j) + S_STATE, SEG_FREE);
    return false;
  }
  return true;
}

/** Seals segment `s` (ACTIVE → SEALED), giving it the next FIFO position. */
export function sealSegment(v: SharedView, s: number): void {
  const i32 = v.i32;
  const row = segmentRowWord(v.g, s);
  // Ordering: the seal sequence is written before the state says SEALED, so an evictor
  // that sees SEALED also sees this segment's place in the FIFO.
  i32[row + S_SEAL_SEQ] = Atomics.add(i32, H_SEAL_SEQ, 1) + 1;
  Atomics.store(i32, row + S_STATE, SEG_SEALED);
}

/** Counts segments by state (a snapshot; other threads keep changing them). */
export function countSegments(v: SharedView): SegmentCounts {
  const counts: SegmentCounts = { free: 0, active: 0, sealed: 0, evicting: 0, small: 0, main: 0, span: 0, index: 0 };
  for (let s = 0; s < v.g.segmentCount; s++) {
    const row = segmentRowWord(v.g, s);
    const st = Atomics.load(v.i32, row + S_STATE) & SEG_STATE_MASK;
    if (st === SEG_FREE) counts.free++;
    else if (st === SEG_ACTIVE) counts.active++;
    else if (st === SEG_SEALED) counts.sealed++;
    else if (st === SEG_SPAN) counts.span++;
    else if (st === SEG_INDEX) counts.index++;
    else counts.evicting++;
    if (st === SEG_ACTIVE || st === SEG_SEALED) {
      if (v.i32[row + S_QUEUE] === QUEUE_MAIN) counts.main++;
      else counts.small++;
    }
  }
  return counts;
}

/**
 * Clears way `w` of the locked bucket at word `bw`, which holds `ref`, marks the entry
 * unlinked (ENTRY_UNLINKED) and accounts its bytes as dead in its segment. Caller holds the
 * bucket lock.
 */
export function unlinkWayLocked(v: SharedView, bw: number, w: number, ref: number): void {
  const i32 = v.i32;
  const e = refByte(v.g, ref) >>> 2;
  const kf = i32[e + E_KEYLEN_FLAGS];
  // Ordering: plain stores, published by the unlock's seq_cst store of the bucket's seq: a
  // snapshot reads that seq (phase 1, snapshot-walk.ts) before it reads this flag (phase 2).
  // The flag before the way: a thread that dies between the two leaves a linked entry
  // flagged, which repair.ts finds in the bucket it held and clears, where the other order
  // would leave an unlinked entry unflagged, which nothing could find. Only this lock's
  // holder writes the word of a published entry (an entry is linked in one bucket), so the
  // read-modify-write loses nothing.
  i32[e + E_KEYLEN_FLAGS] = kf | ENTRY_UNLINKED;
  i32[bw + B_REFS + w * REF_STRIDE] = 0;
  i32[bw + B_TAGS + w] = 0;
  const size = entryBytes(kf & KEYLEN_MASK, i32[e + E_VALUE_LEN]);
  // Several threads may unlink entries of one segment at once: the counter is atomic.
  Atomics.sub(i32, segmentRowWord(v.g, refSegment(v.g, ref)) + S_LIVE_BYTES, size);
}

/**
 * Frees segment `s`, which this thread has claimed (EVICTING) and whose every entry it has
 * unlinked or moved away.
 */
export function freeSegmentClaimed(v: SharedView, s: number): void {
  const i32 = v.i32;
  const row = segmentRowWord(v.g, s);
  // Ordering: every way pointing here was unlinked or moved under its bucket lock (moving
  // its seq), so no reader can start reading this segment again; readers already inside
  // fail their seq check. Bump the generation (versions of new entries here differ from old
  // ones), then publish FREE last so that a claimer sees a finished segment.
  i32[row + S_GENERATION] = (i32[row + S_GENERATION] + 1) | 0;
  i32[row + S_LIVE_BYTES] = 0;
  // The small-queue count is a placement hint (as in acquireSegment): atomic so concurrent
  // claims and frees do not lose updates, with no ordering against the state word.
  if (i32[row + S_QUEUE] === QUEUE_SMALL) Atomics.sub(i32, H_SMALL_SEGMENTS, 1);
  // The span segments after it (an entry larger than a segment) go with it, before the head
  // is published FREE, so that a claimer of a run starting here finds them free too.
  for (let k = s + 1; k < v.g.segmentCount; k++) {
    const r = segmentRowWord(v.g, k);
    if ((Atomics.load(i32, r + S_STATE) & SEG_STATE_MASK) !== SEG_SPAN || i32[r + S_SPAN_HEAD] !== s) break;
    Atomics.store(i32, r + S_STATE, SEG_FREE);
  }
  Atomics.store(i32, row + S_WRITE_OFFSET, 0);
  Atomics.store(i32, row + S_STATE, SEG_FREE);
}
