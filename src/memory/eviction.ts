/**
 * Eviction and compaction of whole segments under the S3-FIFO policy (Yang et al., "FIFO
 * queues are all you need for cache eviction", SOSP 2023), adapted to log-structured
 * segments as Segcache does (Yang et al., NSDI 2021). DESIGN §5.
 *
 * - Segments belong to a small or a main queue. New writes go to the small queue; a key
 *   whose fingerprint is in the ghost table (dropped from small recently, unread) goes
 *   straight to main. Until the cache first fills, writes past the small queue's share go
 *   to main (libCacheSim's S3FIFO.c does the same: objects admitted before the cache is
 *   full are kept a little longer, and the queues start at their target sizes).
 * - Victim: the oldest sealed segment of the small queue while the small queue holds at
 *   least its target share of all segments, else the oldest sealed main one. The target
 *   starts at {@link SMALL_QUEUE_FRACTION} (the paper's 10%) and the owner moves it with
 *   the ghost hits of each kind (queue-sizing.ts, after ARC).
 * - Small victim: each live entry read since it was written (frequency ≥ 1) is copied
 *   forward into the main queue with frequency 0; the others are dropped and leave a
 *   fingerprint in the ghost table.
 * - Main victim: live entries read since they entered main (or since their last copy) are
 *   copied forward inside main with their count reset to 0, so an entry stays only while it
 *   is read again between passes (CLOCK's second chance). At most
 *   {@link MAIN_RETAIN_MAX_FRACTION} of a segment is kept, the least-read entries going
 *   first, so that each step frees space (Segcache bounds what a merge retains likewise).
 *   The dropped ones leave a fingerprint marked as the main queue's. The paper copies with
 *   the count minus one (a key read 3 times survives 3 passes unread); resetting to 0
 *   measured better in `npm run bench:eviction` in 13 of 16 cells (shifting hot set at 10%:
 *   26.26% misses against 26.44%; Zipf 1.0 at 1%: 34.82% against 35.24%), worse in 3
 *   (by at most 0.4 points: mixed TTL at 1%), because keys that were hot and went cold leave
 *   main after one unread pass instead of three.
 * - Expired entries are always dropped.
 *
 * Copying forward never evicts (the evictor is already making room): with no free segment
 * to copy into, the entry is dropped. Frequencies are the advisory bytes readers bump
 * (layout.ts, freq region).
 *
 * Compaction ({@link compactSegments}): a sealed segment whose live bytes fell below
 * {@link COMPACT_LIVE_FRACTION} (overwrites, deletes, expiry) has its live entries copied
 * forward into its own queue and is freed, so that space comes back without waiting for it
 * to reach the end of its queue.
 *
 * Relocating an entry changes its version (it names the entry's place): a CAS against the
 * old version then fails as if the key had been written, and the client reads it again.
 *
 * @module
 */
import { lockBucket, unlockBucket } from '../table/bucket-lock.ts';
import { feedWatched, publishEntryChange } from '../table/change-feed.ts';
import { ghostInsert } from '../table/ghost.ts';
import {
  B_REFS, REF_STRIDE, C_COMPACTED_ITEMS, C_COMPACTED_SEGMENTS, C_EVICTED_ITEMS, C_EVICTED_SEGMENTS, C_EXPIRED_ITEMS, C_GHOST_INSERTS, C_GHOST_MAIN_INSERTS,
  C_PROMOTED, C_REINSERTED, C_UNLINKED, CHANGE_EVICT, CHANGE_EXPIRE, E_EXPIRE_AT, ENTRY_HEADER_BYTES, bucketOf,
  FREQ_MAX, H_CLOCK_SECONDS, H_FULL, H_SMALL_TARGET, QUEUE_MAIN, QUEUE_SMALL, S_LIVE_BYTES, S_QUEUE, S_SEAL_SEQ, S_STATE, S_WRITE_OFFSET,
  SEG_ACTIVE, SEG_EVICTING, SEG_FREE, SEG_OWNER_SHIFT, SEG_SEALED, SEG_STATE_MASK, SEGMENT_FIRST_OFFSET, WAYS, bucketWord, makeRef,
  segmentByte, segmentRowWord,
} from '../table/layout.ts';
import { entrySizeAt, freeSegmentClaimed, unlinkWayLocked } from '../table/segments.ts';
import type { SharedView } from '../table/shared-view.ts';
import type { Table } from '../table/table.ts';

/**
 * Share of all segments the small queue may hold before it is evicted first (S3-FIFO: 10%)
 * until the owner's adaptation sets a target (queue-sizing.ts), and before the cache first
 * fills.
 */
export const SMALL_QUEUE_FRACTION = 0.1;
/** Most of a main-queue victim kept by copying forward, as a fraction of the segment size. */
export const MAIN_RETAIN_MAX_FRACTION = 0.75;
/** A sealed segment whose live bytes are below this fraction of its size is compacted. */
export const COMPACT_LIVE_FRACTION = 0.25;

const WALK_SMALL = 0;
const WALK_MAIN = 1;
const WALK_COMPACT = 2;
const WALK_DROP = 3;

/**
 * Segments the small queue may hold when there are `segmentCount` in all and its share is
 * `fraction` (default {@link SMALL_QUEUE_FRACTION}); at least one.
 */
export function smallTargetSegments(segmentCount: number, fraction = SMALL_QUEUE_FRACTION): number {
  return Math.max(1, Math.ceil(segmentCount * fraction));
}

/** The small queue's target now, in segments: the owner's adaptive one, else the default. */
export function currentSmallTarget(v: SharedView): number {
  // A hint written by the owner (queue-sizing.ts), 0 before its first publish: any value
  // read is a valid choice for one eviction step, so no ordering is needed.
  return Atomics.load(v.i32, H_SMALL_TARGET) || smallTargetSegments(v.g.segmentCount);
}

/** Segments in the small queue, and the oldest sealed segment of each queue (-1: none). */
interface QueueScan {
  small: number;
  oldestSmall: number;
  oldestMain: number;
  seqSmall: number;
  seqMain: number;
}

function scanQueues(t: Table): QueueScan {
  const { i32, g } = t.v;
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

/** Claims sealed segment `s` for `t` (SEALED → EVICTING); false if another thread did first. */
function claim(t: Table, s: number): boolean {
  const row = segmentRowWord(t.v.g, s) + S_STATE;
  // Two threads may pick the same victim; the CAS lets exactly one walk it.
  return Atomics.compareExchange(t.v.i32, row, SEG_SEALED, SEG_EVICTING | (t.owner << SEG_OWNER_SHIFT)) === SEG_SEALED;
}

/**
 * Evicts one segment by the S3-FIFO policy (see the module comment) on behalf of thread
 * `t`. Any thread may call it: the owner keeps free segments above a watermark, and a
 * writer that finds none helps. Returns false when no segment is sealed.
 */
export function evictSegment(t: Table): boolean {
  const { i32 } = t.v;
  const smallTarget = currentSmallTarget(t.v);
  for (let attempt = 0; attempt < 8; attempt++) {
    const q = scanQueues(t);
    const victim = (q.small >= smallTarget || q.oldestMain < 0) && q.oldestSmall >= 0 ? q.oldestSmall : q.oldestMain;
    if (victim < 0) return false;
    // A one-way flag read as a hint by writers (queueForWrite): no ordering with the claim.
    if (i32[H_FULL] === 0) Atomics.store(i32, H_FULL, 1);
    if (!claim(t, victim)) continue;
    walkClaimed(t, victim, victim === q.oldestMain ? WALK_MAIN : WALK_SMALL);
    t.v.f64[t.counters + C_EVICTED_SEGMENTS]++;
    return true;
  }
  return false;
}

/**
 * Evicts the oldest sealed segment of either queue, dropping every entry (no copy-forward,
 * no ghost): `flush` empties the cache with it. Returns false when no segment is sealed.
 */
export function evictOldestDropping(t: Table): boolean {
  for (let attempt = 0; attempt < 8; attempt++) {
    const q = scanQueues(t);
    const victim = q.seqMain < q.seqSmall ? q.oldestMain : q.oldestSmall;
    if (victim < 0) return false;
    if (!claim(t, victim)) continue;
    walkClaimed(t, victim, WALK_DROP);
    t.v.f64[t.counters + C_EVICTED_SEGMENTS]++;
    return true;
  }
  return false;
}

/**
 * Compacts up to `maxSegments` sealed segments whose live bytes fell below
 * COMPACT_LIVE_FRACTION of their size, sparsest first, while at least `minFreeSegments`
 * segments are free to copy into. Returns how many it compacted.
 */
export function compactSegments(t: Table, maxSegments: number, minFreeSegments: number): number {
  const { i32, g } = t.v;
  const limit = g.segmentBytes * COMPACT_LIVE_FRACTION;
  const candidates: { s: number; live: number }[] = [];
  let free = 0;
  for (let s = 0; s < g.segmentCount; s++) {
    const row = segmentRowWord(g, s);
    const st = Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK;
    if (st === SEG_FREE) free++;
    if (st !== SEG_SEALED) continue;
    const live = Atomics.load(i32, row + S_LIVE_BYTES);
    if (live < limit) candidates.push({ s, live });
  }
  candidates.sort((a, b) => a.live - b.live);
  let done = 0;
  for (const { s, live } of candidates) {
    if (done >= maxSegments) break;
    // An empty segment costs no copy; a sparse one needs room to copy into.
    if (live > 0 && free < minFreeSegments) break;
    if (!claim(t, s)) continue;
    walkClaimed(t, s, WALK_COMPACT);
    t.v.f64[t.counters + C_COMPACTED_SEGMENTS]++;
    done++;
    free++;
  }
  return done;
}

/** The way of locked-or-not bucket word `bw` that holds `ref`, or -1. */
function wayOf(i32: Int32Array, bw: number, ref: number): number {
  for (let w = 0; w < WAYS; w++) if (i32[bw + B_REFS + w * REF_STRIDE] === ref) return w;
  return -1;
}

/**
 * Walks segment `s`, claimed EVICTING by `t`, copying forward or dropping each entry the
 * index still points at (see the module comment for which), then frees it.
 */
function walkClaimed(t: Table, s: number, kind: number): void {
  const v = t.v;
  const { i32, u8, f64, g } = v;
  const row = segmentRowWord(g, s);
  const queue = i32[row + S_QUEUE];
  const base = segmentByte(g, s);
  const end = base + Math.min(Atomics.load(i32, row + S_WRITE_OFFSET), g.segmentBytes);
  const clock = i32[H_CLOCK_SECONDS] >>> 0;

  // Small: keep what was read at all. Compact: keep everything live. Drop: keep nothing.
  // Main: keep the most read entries, at most MAIN_RETAIN_MAX_FRACTION of the segment (one
  // pass to count).
  let minFreq = kind === WALK_COMPACT ? 0 : kind === WALK_DROP ? Infinity : 1;
  if (kind === WALK_MAIN) {
    const bytesAtFreq = new Array<number>(FREQ_MAX + 1).fill(0);
    forEachLinked(t, base, end, s, (_e, _ref, size, b, w) => {
      bytesAtFreq[Math.min(t.freqOf(b, w), FREQ_MAX)] += size;
    });
    const cap = g.segmentBytes * MAIN_RETAIN_MAX_FRACTION;
    let kept = 0;
    minFreq = FREQ_MAX + 1;
    for (let f = FREQ_MAX; f >= 1; f--) {
      if (kept + bytesAtFreq[f] > cap) break;
      kept += bytesAtFreq[f];
      minFreq = f;
    }
  }

  forEachLinked(t, base, end, s, (e, ref, size, b, w0, lo, hi) => {
    const ew = e >>> 2;
    const exp = i32[ew + E_EXPIRE_AT] >>> 0;
    const expired = exp !== 0 && exp <= clock;
    const destQueue = kind === WALK_COMPACT ? queue : QUEUE_MAIN;
    // Copy before locking: the copy may claim a segment, and a thread never waits for one
    // lock while it holds another. The entry's bytes are stable: its segment is ours.
    const copied = !expired && t.freqOf(b, w0) >= minFreq && t.reserveCopy(e, size, destQueue) >= 0;
    const bw = bucketWord(g, b);
    const seq = lockBucket(i32, bw, b, t.owner, t.threadWord);
    try {
      const w = wayOf(i32, bw, ref);
      if (w < 0) return; // overwritten or deleted since the unlocked look
      const freq = t.freqOf(b, w);
      if (copied) {
        // Compaction keeps the count (the entry did not reach its queue's end); small and main
        // victims copied forward start counting again (see the module comment).
        const newFreq = kind === WALK_COMPACT ? freq : 0;
        t.commitCopyLocked(bw, b, w, ref, size, destQueue, newFreq);
        f64[t.counters + (kind === WALK_COMPACT ? C_COMPACTED_ITEMS : kind === WALK_MAIN ? C_REINSERTED : C_PROMOTED)]++;
        return;
      }
      if (!expired && (kind === WALK_SMALL || kind === WALK_MAIN)) {
        ghostInsert(v, lo, hi, kind === WALK_MAIN);
        f64[t.counters + C_GHOST_INSERTS]++;
        if (kind === WALK_MAIN) f64[t.counters + C_GHOST_MAIN_INSERTS]++;
      }
      if (feedWatched(v)) publishEntryChange(v, expired ? CHANGE_EXPIRE : CHANGE_EVICT, e);
      unlinkWayLocked(v, bw, w, ref);
      f64[t.counters + C_UNLINKED]++;
      f64[t.counters + (expired ? C_EXPIRED_ITEMS : C_EVICTED_ITEMS)]++;
    } finally {
      unlockBucket(i32, bw, seq, t.threadWord);
    }
  });
  freeSegmentClaimed(v, s);
}

/**
 * Calls `fn(entryByte, ref, size, bucket, way, lo, hi)` (lo, hi: the key's hash lanes) for
 * each entry of segment `s` (bytes `base` to `end`) that a way points at now. The look is unlocked: a ref is never linked again once
 * its segment is sealed (only its writer links it, before sealing), so an entry no way
 * holds now stays unlinked; one that is linked is checked again under the lock.
 */
function forEachLinked(t: Table, base: number, end: number, s: number, fn: (e: number, ref: number, size: number, b: number, w: number, lo: number, hi: number) => void): void {
  const v = t.v;
  const { i32, g } = v;
  let e = base + SEGMENT_FIRST_OFFSET;
  while (e + ENTRY_HEADER_BYTES <= end) {
    const size = entrySizeAt(v, e, end);
    if (size === 0) break;
    // Entries keep no hash: the key's bytes give its bucket (stable: the segment is ours).
    const h = v.hashEntryKey(e);
    const lo = h[0];
    const hi = h[1];
    const b = bucketOf(g, lo);
    const ref = makeRef(g, s, e - base);
    const w = wayOf(i32, bucketWord(g, b), ref);
    if (w >= 0) fn(e, ref, size, b, w, lo, hi);
    e += size;
  }
}
