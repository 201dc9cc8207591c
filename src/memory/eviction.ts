/**
 * Eviction and compaction of whole segments under the S3-FIFO policy (Yang et al., "FIFO
 * queues are all you need for cache eviction", SOSP 2023), adapted to log-structured
 * segments as Segcache does (Yang et al., NSDI 2021). docs/design.md §5.
 *
 * This module is the policy: it ranks victims (which segment, which of its entries to
 * keep). The mechanism (claim, walk, copy forward, drop, free) is table/segment-eviction.ts.
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
 *   misses less in most cells of `npm run bench:eviction`, because keys that were hot and
 *   went cold leave main after one unread pass instead of three.
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
import {
  bytesByFrequency, claimSegment, type EvictingThread, type EvictionPolicy, scanQueues, WALK_COMPACT, WALK_MAIN, WALK_SMALL, walkSegment,
} from '../table/segment-eviction.ts';
import {
  C_COMPACTED_SEGMENTS, C_EVICTED_SEGMENTS, FREQ_MAX, H_FULL, H_SMALL_TARGET, S_LIVE_BYTES, S_STATE, SEG_FREE, SEG_SEALED, SEG_STATE_MASK, segmentRowWord,
} from '../table/layout.ts';
import { WRITER_RESERVE_SEGMENTS } from '../table/segment-writer.ts';
import type { SharedView } from '../table/shared-view.ts';

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
/**
 * When room is needed, a sealed segment less live than this is compacted instead of a
 * segment being evicted: it frees at least 30% of a segment and drops no live entry.
 * Expired, overwritten and deleted entries leave such segments: in bench:eviction's
 * mixed-ttl trace at 64 MiB, evicting alone missed 15.2%, compacting below 50% live 14.8%,
 * below 70% 14.4% (Redis allkeys-lfu 14.7%), with the Zipf traces unchanged.
 */
export const COMPACT_BEFORE_EVICT_FRACTION = 0.7;

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

/**
 * Evicts one segment by the S3-FIFO policy (see the module comment) on behalf of thread
 * `t`. Any thread may call it: the owner keeps free segments above a watermark, and a
 * writer that finds none helps. Returns false when no segment is sealed.
 */
export function evictSegment(t: EvictingThread): boolean {
  const { i32 } = t.v;
  const smallTarget = currentSmallTarget(t.v);
  for (let attempt = 0; attempt < 8; attempt++) {
    const q = scanQueues(t);
    const victim = (q.small >= smallTarget || q.oldestMain < 0) && q.oldestSmall >= 0 ? q.oldestSmall : q.oldestMain;
    if (victim < 0) return false;
    // A one-way flag read as a hint by writers (queueForWrite): no ordering with the claim.
    if (i32[H_FULL] === 0) Atomics.store(i32, H_FULL, 1);
    if (!claimSegment(t, victim)) continue;
    if (victim === q.oldestMain) walkSegment(t, victim, WALK_MAIN, mainRetainFrequency(t, victim));
    else walkSegment(t, victim, WALK_SMALL, 1);
    t.v.f64[t.counters + C_EVICTED_SEGMENTS]++;
    return true;
  }
  return false;
}

/**
 * The lowest frequency of main-queue victim `s`'s entries that are kept: the most read
 * ones, at most MAIN_RETAIN_MAX_FRACTION of the segment (FREQ_MAX + 1: none).
 */
function mainRetainFrequency(t: EvictingThread, s: number): number {
  const bytesAtFreq = bytesByFrequency(t, s);
  const cap = t.v.g.segmentBytes * MAIN_RETAIN_MAX_FRACTION;
  let kept = 0;
  let minFreq = FREQ_MAX + 1;
  for (let f = FREQ_MAX; f >= 1; f--) {
    if (kept + bytesAtFreq[f] > cap) break;
    kept += bytesAtFreq[f];
    minFreq = f;
  }
  return minFreq;
}

/**
 * Compacts up to `maxSegments` sealed segments whose live bytes fell below
 * `liveFraction` (default COMPACT_LIVE_FRACTION) of their size, sparsest first, while at
 * least `minFreeSegments` segments are free to copy into. Returns how many it compacted.
 */
export function compactSegments(t: EvictingThread, maxSegments: number, minFreeSegments: number, liveFraction = COMPACT_LIVE_FRACTION): number {
  const { i32, g } = t.v;
  const limit = g.segmentBytes * liveFraction;
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
    if (!claimSegment(t, s)) continue;
    walkSegment(t, s, WALK_COMPACT, 0);
    t.v.f64[t.counters + C_COMPACTED_SEGMENTS]++;
    done++;
    free++;
  }
  return done;
}

/** {@link makeRoom}: no segment could be freed. */
export const ROOM_NONE = 0;
/** {@link makeRoom}: a sparse segment was compacted (no live entry dropped). */
export const ROOM_COMPACTED = 1;
/** {@link makeRoom}: a segment was evicted by S3-FIFO. */
export const ROOM_EVICTED = 2;

/**
 * Frees one segment on behalf of thread `t`, the owner's maintenance or a writer that found
 * no free segment: the sparsest sealed segment under COMPACT_BEFORE_EVICT_FRACTION live is
 * compacted when at least `minFreeSegments` are free to copy its live entries into (one
 * holding nothing live needs none), else one is evicted ({@link evictSegment}). A writer
 * that evicted whenever it found no free segment dropped live entries while most of the
 * buffer held only dead ones, whenever the owner fell behind (its thread busy: a snapshot
 * written on it, a long task): test/persist/snapshot-files.test.ts lost 3,000 untouched
 * keys that way with 285 KB live in a 32 MiB cache.
 * @param t the thread making room (its writer takes the copies).
 * @param minFreeSegments free segments a compaction with live entries needs (1 for a writer,
 *   which may use the writers' reserve; the reserve plus one for the owner).
 * @param compactFirst false: evict at once (after COMPACT_ATTEMPTS compactions for one need).
 * @returns ROOM_COMPACTED, ROOM_EVICTED or ROOM_NONE.
 */
export function makeRoom(t: EvictingThread, minFreeSegments: number, compactFirst = true): number {
  if (compactFirst && compactSegments(t, 1, minFreeSegments, COMPACT_BEFORE_EVICT_FRACTION) === 1) return ROOM_COMPACTED;
  return evictSegment(t) ? ROOM_EVICTED : ROOM_NONE;
}

/**
 * Free segments a writer's compaction needs: the writers' reserve, to copy into (it is the
 * writer's turn to use it: the compacted segment is freed in its place).
 */
const WRITER_COMPACT_MIN_FREE = WRITER_RESERVE_SEGMENTS;

/**
 * Calls of {@link makeRoom} for one need (a writer's entry, a restore's segment) that may
 * compact; later ones evict. A compaction frees a whole segment only when what it copies
 * fits where its copies go: an entry too large for what is left of the copy's segment seals
 * that segment part-empty and takes a free one, so with large values compaction after
 * compaction can leave the free count where it was (bench:eviction's heavy-tailed trace in
 * a 1.6 MiB cache failed a write that way while segments could still be evicted). Eviction
 * always frees one. With small entries, three compactions of segments under 70% live free a
 * whole segment.
 */
export const COMPACT_ATTEMPTS = 4;

/** The S3-FIFO policy as a table takes it (table/segment-eviction.ts EvictionPolicy). */
export const s3fifo: EvictionPolicy = {
  makeRoom: (t, attempt) => makeRoom(t, WRITER_COMPACT_MIN_FREE, attempt < COMPACT_ATTEMPTS) !== ROOM_NONE,
  smallTargetSegments: (n) => smallTargetSegments(n),
};
