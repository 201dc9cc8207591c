/**
 * Eviction's mechanism (docs/design.md §5 "Eviction"): find the oldest sealed segment of each
 * queue, claim one (SEALED → EVICTING), walk its entries that the index still points at,
 * copy each forward or drop it, and free the segment. Which segment to take and which of its
 * entries to keep is the policy's (memory/eviction.ts, S3-FIFO): it calls these functions
 * with the table's thread as an argument, as Pelikan's `Segments::evict` takes the hash
 * table, so the table never imports the policy.
 *
 * @module
 */
import { type LockedBody, validateSeq, withKeyBucketLock } from './bucket-lock.ts';
import { freqOf, freqSetLocked } from './frequency.ts';
import { ghostInsert } from './ghost.ts';
import {
  B_REFS, B_TAGS, REF_STRIDE, C_COMPACTED_ITEMS, C_EVICTED_ITEMS, C_EVICTED_SEGMENTS, C_EXPIRED_ITEMS, C_GHOST_INSERTS, C_GHOST_MAIN_INSERTS,
  C_PROMOTED, C_REINSERTED, CHANGE_EVICT, CHANGE_EXPIRE, E_EXPIRE_AT, ENTRY_HEADER_BYTES, bucketFor, freqWord, B_SEQ, E_KEYLEN_FLAGS, ENTRY_UNLINKED, H_BUCKET_COUNT,
  FREQ_MAX, H_CLOCK_SECONDS, QUEUE_MAIN, S_QUEUE, S_SEAL_SEQ, S_STATE, S_WRITE_OFFSET,
  SEG_ACTIVE, SEG_EVICTING, SEG_OWNER_SHIFT, SEG_SEALED, SEG_STATE_MASK, SEGMENT_FIRST_OFFSET, WAYS, bucketWord, makeRef,
  segmentByte, segmentRowWord, bytesToSegmentsEnd,
} from './layout.ts';
import { removeWayLocked } from './removal.ts';
import { entrySizeAt, freeSegmentClaimed, type ThreadContext, unlinkWayLocked } from './segments.ts';
import type { Reservation, SegmentWriter } from './segment-writer.ts';

/** A thread that evicts: its context and its segment writer (to copy entries forward into). */
export interface EvictingThread extends ThreadContext {
  readonly writer: SegmentWriter;
}

/**
 * What a table asks of its eviction policy (memory/eviction.ts gives S3-FIFO's).
 */
export interface EvictionPolicy {
  /**
   * Frees one segment on behalf of `t`, by compacting or evicting one: a writer that finds
   * no free segment calls it. `attempt` counts the calls made for the same need, from 0: a
   * policy must evict, not compact, after a few (a compaction need not free a whole segment).
   * Returns false when no segment can be freed.
   */
  makeRoom(t: EvictingThread, attempt: number): boolean;
  /** Segments the small queue takes before the cache first fills, of `segmentCount`. */
  smallTargetSegments(segmentCount: number): number;
}

/** Small-queue victim: entries read since written are copied to main (frequency 0), the rest dropped with a ghost. */
export const WALK_SMALL = 0;
/** Main-queue victim: entries read at least `minFreq` times are copied within main (frequency 0), the rest dropped with a main ghost. */
export const WALK_MAIN = 1;
/** Compaction: every live entry is copied within its queue, keeping its frequency. */
export const WALK_COMPACT = 2;
/** Flush: every entry is dropped, no ghost. */
export const WALK_DROP = 3;

/** Segments in the small queue, and the oldest sealed segment of each queue (-1: none). */
export interface QueueScan {
  small: number;
  oldestSmall: number;
  oldestMain: number;
  /** Seal sequence of oldestSmall / oldestMain (Infinity: none). */
  seqSmall: number;
  seqMain: number;
}

/** Looks at every segment's state and queue once (a snapshot: other threads keep changing them). */
export function scanQueues(ctx: ThreadContext): QueueScan {
  const { i32, g } = ctx.v;
  const q: QueueScan = { small: 0, oldestSmall: -1, oldestMain: -1, seqSmall: Infinity, seqMain: Infinity };
  for (let s = 0; s < g.segmentCount; s++) {
    const row = segmentRowWord(g, s);
    const st = Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK;
    if (st !== SEG_ACTIVE && st !== SEG_SEALED) continue;
    const main = i32[row + S_QUEUE] === QUEUE_MAIN;
    if (!main) q.small++;
    if (st !== SEG_SEALED) continue;
    const seq = i32[row + S_SEAL_SEQ] >>> 0;
    if (main && seq < q.seqMain) {
      q.seqMain = seq;
      q.oldestMain = s;
    } else if (!main && seq < q.seqSmall) {
      q.seqSmall = seq;
      q.oldestSmall = s;
    }
  }
  return q;
}

/** Claims sealed segment `s` for `ctx` (SEALED → EVICTING); false if another thread did first. */
export function claimSegment(ctx: ThreadContext, s: number): boolean {
  const row = segmentRowWord(ctx.v.g, s) + S_STATE;
  // Two threads may pick the same victim; the CAS lets exactly one walk it.
  return Atomics.compareExchange(ctx.v.i32, row, SEG_SEALED, SEG_EVICTING | (ctx.owner << SEG_OWNER_SHIFT)) === SEG_SEALED;
}

/**
 * Bytes of the linked entries of segment `s` (claimed by `ctx`) by frequency: element f of
 * the result is the bytes at frequency f (0..FREQ_MAX). The policy sizes what it keeps by it.
 */
export function bytesByFrequency(ctx: ThreadContext, s: number): number[] {
  const bytesAtFreq = new Array<number>(FREQ_MAX + 1).fill(0);
  const i32 = ctx.v.i32;
  forEachLinked(ctx, s, (_e, _ref, size, b, w) => {
    bytesAtFreq[w < 0 ? 0 : Math.min(freqOf(i32, freqWord(ctx.v.g, b), w), FREQ_MAX)] += size;
  });
  return bytesAtFreq;
}

/**
 * Evicts the oldest sealed segment of either queue, dropping every entry (no copy-forward,
 * no ghost): `flush` empties the cache with it. Returns false when no segment is sealed.
 */
export function evictOldestDropping(t: EvictingThread): boolean {
  for (let attempt = 0; attempt < 8; attempt++) {
    const q = scanQueues(t);
    const victim = q.seqMain < q.seqSmall ? q.oldestMain : q.oldestSmall;
    if (victim < 0) return false;
    if (!claimSegment(t, victim)) continue;
    walkSegment(t, victim, WALK_DROP, Infinity);
    t.v.f64[t.counters + C_EVICTED_SEGMENTS]++;
    return true;
  }
  return false;
}

/** One walk's state, shared by its locked bodies (no closure per entry). */
interface Walk {
  t: EvictingThread;
  kind: number;
  clock: number;
  lo: number;
  hi: number;
  expired: boolean;
  copy: Reservation | -1;
  from: number;
  size: number;
}

/**
 * Walks segment `s`, claimed EVICTING by `t`, copying forward each entry the index still
 * points at that is live and read at least `minFreq` times (WALK_* says where to and with
 * which frequency), dropping the others, then frees the segment. Counts each entry as
 * copied (C_PROMOTED, C_REINSERTED, C_COMPACTED_ITEMS) or removed (C_EVICTED_ITEMS,
 * C_EXPIRED_ITEMS), and the dropped live entries of WALK_SMALL / WALK_MAIN in the ghost table.
 */
export function walkSegment(t: EvictingThread, s: number, kind: number, minFreq: number): void {
  const { i32, g } = t.v;
  const queue = i32[segmentRowWord(g, s) + S_QUEUE];
  const destQueue = kind === WALK_COMPACT ? queue : QUEUE_MAIN;
  const walk: Walk = { t, kind, clock: i32[H_CLOCK_SECONDS] >>> 0, lo: 0, hi: 0, expired: false, copy: -1, from: 0, size: 0 };
  forEachLinked(t, s, (e, ref, size, b, w0, lo, hi) => {
    const exp = i32[(e >>> 2) + E_EXPIRE_AT] >>> 0;
    walk.expired = exp !== 0 && exp <= walk.clock;
    // Copy before locking: the copy may claim a segment, and a thread never waits for one
    // lock while it holds another. The entry's bytes are stable: its segment is ours.
    // w0 < 0: the look met a writer or a split; its count is taken as 0 (advisory anyway).
    const freq = w0 < 0 ? 0 : freqOf(i32, freqWord(g, b), w0);
    walk.copy = !walk.expired && freq >= minFreq ? t.writer.reserveCopy(e, size, destQueue) : -1;
    walk.lo = lo;
    walk.hi = hi;
    walk.from = e;
    walk.size = size;
    withKeyBucketLock(t, bucketWord(g, 0), lo, settleEntryLocked, walk, ref, 0);
  });
  freeSegmentClaimed(t.v, s);
}

/** Copies forward or removes the walked entry `ref` of bucket `b`, under its lock. */
const settleEntryLocked: LockedBody<Walk> = (walk, bw, b, ref) => {
  const t = walk.t;
  const i32 = t.v.i32;
  const w = wayOf(i32, bw, ref);
  if (w < 0) return 0; // overwritten or deleted since the unlocked look
  const kind = walk.kind;
  const f64 = t.v.f64;
  if (walk.copy !== -1) {
    const fw = freqWord(t.v.g, b);
    // Compaction keeps the count (the entry did not reach its queue's end); small and main
    // victims copied forward start counting again (memory/eviction.ts says why).
    const newFreq = kind === WALK_COMPACT ? freqOf(i32, fw, w) : 0;
    const copied = t.writer.commitCopy(walk.copy, walk.from, walk.size);
    const tag = i32[bw + B_TAGS + w]; // the same key: the same tag
    // A move, not a removal: nothing is published or counted as unlinked. Ordering: the old
    // entry's bytes stay valid for readers still inside (its segment is freed only after
    // this walk, and the seq bump on unlock makes them retry).
    unlinkWayLocked(t.v, bw, w, ref);
    i32[bw + B_TAGS + w] = tag;
    i32[bw + B_REFS + w * REF_STRIDE] = copied;
    freqSetLocked(i32, fw, w, newFreq);
    f64[t.counters + (kind === WALK_COMPACT ? C_COMPACTED_ITEMS : kind === WALK_MAIN ? C_REINSERTED : C_PROMOTED)]++;
    return 1;
  }
  if (!walk.expired && (kind === WALK_SMALL || kind === WALK_MAIN)) {
    ghostInsert(t.v, walk.lo, walk.hi, kind === WALK_MAIN);
    f64[t.counters + C_GHOST_INSERTS]++;
    if (kind === WALK_MAIN) f64[t.counters + C_GHOST_MAIN_INSERTS]++;
  }
  removeWayLocked(t, bw, w, ref, walk.expired ? CHANGE_EXPIRE : CHANGE_EVICT, walk.expired ? C_EXPIRED_ITEMS : C_EVICTED_ITEMS);
  return 0;
};

/** The way of locked-or-not bucket word `bw` that holds `ref`, or -1. */
function wayOf(i32: Int32Array, bw: number, ref: number): number {
  for (let w = 0; w < WAYS; w++) if (i32[bw + B_REFS + w * REF_STRIDE] === ref) return w;
  return -1;
}

/**
 * Calls `fn(entryByte, ref, size, bucket, way, lo, hi)` (lo, hi: the key's hash lanes) for
 * each entry of segment `s` that may be linked now. Entries flagged unlinked are skipped
 * (the flag, set under the lock before the way is cleared, stays while the segment lives).
 * The others are looked up in their bucket under its seqlock, at the bucket count of the
 * moment: a ref is never linked again once its segment is sealed (only its writer links it,
 * before sealing), so an entry that look does not find stays unlinked and is skipped; one
 * it finds, or one whose look met a writer or a split (way -1), is settled under the lock,
 * which checks again.
 */
function forEachLinked(ctx: ThreadContext, s: number, fn: (e: number, ref: number, size: number, b: number, w: number, lo: number, hi: number) => void): void {
  const v = ctx.v;
  const { i32, g } = v;
  const base = segmentByte(g, s);
  const end = base + Math.min(Atomics.load(i32, segmentRowWord(g, s) + S_WRITE_OFFSET), bytesToSegmentsEnd(g, s));
  let e = base + SEGMENT_FIRST_OFFSET;
  while (e + ENTRY_HEADER_BYTES <= end) {
    const size = entrySizeAt(v, e, end);
    if (size === 0) break;
    if ((i32[(e >>> 2) + E_KEYLEN_FLAGS] & ENTRY_UNLINKED) === 0) {
      // Entries keep no hash: the key's bytes give its bucket (stable: the segment is ours).
      const h = v.hashEntryKey(e);
      const lo = h[0];
      const hi = h[1];
      const ref = makeRef(g, s, e - base);
      const n = Atomics.load(i32, H_BUCKET_COUNT);
      const b = bucketFor(lo, n);
      const bw = bucketWord(g, b);
      const s1 = Atomics.load(i32, bw + B_SEQ);
      const w = (s1 & 1) === 0 ? wayOf(i32, bw, ref) : -1;
      // Ordering: the seq and the count after the look, as a reader checks them
      // (TableReader.lookup): a look that raced a writer or a split is not trusted.
      const settled = (s1 & 1) === 0 && validateSeq(i32, bw, s1) === s1 && Atomics.load(i32, H_BUCKET_COUNT) === n;
      if (!settled) fn(e, ref, size, b, -1, lo, hi);
      else if (w >= 0) fn(e, ref, size, b, w, lo, hi);
    }
    e += size;
  }
}
