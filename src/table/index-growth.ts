/**
 * Index growth (docs/design.md §2 "Index growth"): the index starts sized for items of
 * `expectedItemBytes` and grows, online, as the items stored prove smaller, by linear
 * hashing (W. Litwin, VLDB 1980; layout.ts bucketFor): one bucket at a time, each split
 * from one existing bucket under that bucket's lock, so readers and writers never stop.
 * The index region ends where segment 0 starts; new buckets take the first segments
 * (SEG_INDEX), which are first emptied as compaction empties a segment (their live entries
 * copied forward). The index never shrinks.
 *
 * The owner grows it ({@link growIndex}, from memory/maintenance.ts, which decides when).
 * Who needs the bucket count to stay put for a while (a snapshot walk, a bulk restore's
 * link) holds the growth gate ({@link enterIndexGate}); growth takes the gate exclusively.
 *
 * @module
 */
import { tryLockBucket, unlockBucket } from './bucket-lock.ts';

/**
 * The index doubles once its entries fill this share of its ways: by then about 0.3% of
 * items found their 14-way bucket full (Poisson: 0.14% at 0.5, 1% at 0.65, 1.6% at the 0.7
 * the first design planned for), which evicts one of its entries whatever its worth. The
 * load then moves between half this and this, about 0.4 on average: 33 index bytes per
 * item of 192-byte buckets (bench:memory).
 */
export const INDEX_GROW_AT = 0.55;

/**
 * The bucket count growth aims at for `n` buckets holding `entries`: twice n once they fill
 * INDEX_GROW_AT of its ways, and, while a doubling is under way (n not a power of two),
 * its end. Linear hashing leaves the buckets not split yet with twice the load of the split
 * ones until the doubling ends, so growth never stops halfway.
 */
export function indexGrowthTarget(n: number, entries: number): number {
  const high = 1 << (31 - Math.clz32(n));
  if (n > high) return 2 * high;
  return entries > n * WAYS * INDEX_GROW_AT ? 2 * n : n;
}
/** Most buckets one growth step adds (each split hashes up to 14 keys under one lock: about a µs). */
export const INDEX_SPLITS_PER_STEP = 65536;

/** Looks at a held source bucket before a split gives up for this tick (a writer holds one for well under a µs). */
const SPLIT_LOCK_ATTEMPTS = 100_000;
import {
  B_FREQ, B_REFS, C_LINKED, C_UNLINKED, THREAD_BLOCK_COUNT, threadCountersF64, B_TAGS, B_VERSIONS, BUCKET_BYTES, BUCKET_WORDS, FREQ_BITS, H_BUCKET_COUNT, H_FIRST_SEGMENT, H_INDEX_GATE, REF_STRIDE, S_STATE, S_WRITE_OFFSET,
  SEG_FREE, SEG_INDEX, SEG_SEALED, SEG_STATE_MASK, T_PARK, WAYS, bucketWord, firstSegmentFor, refByte, segmentByte, segmentRowWord,
} from './layout.ts';
import { claimSegment, walkSegment, WALK_COMPACT, type EvictingThread } from './segment-eviction.ts';
import { countSegments } from './segments.ts';
import type { SharedView } from './shared-view.ts';

/**
 * Takes a share of the growth gate: the bucket count stays put until {@link exitIndexGate}.
 * Waits (briefly, parked on the thread's own word) while the owner is growing the index.
 */
export function enterIndexGate(i32: Int32Array, threadWord: number): void {
  for (;;) {
    const g = Atomics.load(i32, H_INDEX_GATE);
    if (g >= 0 && Atomics.compareExchange(i32, H_INDEX_GATE, g, g + 1) === g) return;
    // A growth step splits at most a tick's worth of buckets (a few ms).
    Atomics.wait(i32, threadWord + T_PARK, 0, 0.2);
  }
}

/** Gives back a share of the growth gate taken with {@link enterIndexGate}. */
export function exitIndexGate(i32: Int32Array): void {
  Atomics.sub(i32, H_INDEX_GATE, 1);
}

/** The thread that grows the index: it frees segments by the table's policy (Table.makeRoom) to make room for what it copies. */
export interface GrowingThread extends EvictingThread {
  makeRoom(attempt: number): boolean;
}

/** Free segments a taken segment's live entries need to be copied into (one, and the writers' one). */
const COPY_ROOM_SEGMENTS = 2;

/** What one growth step did. */
export interface GrowthReport {
  /** Buckets added (splits made). */
  splits: number;
  /** Segments taken for the index in this step. */
  segmentsTaken: number;
  /**
   * Why it stopped short of the target, if it did: 'gate' (held), 'segment' (one in use),
   * 'lock' (a bucket to split stayed locked: perhaps by a dead thread, until repair).
   */
  stalled: '' | 'gate' | 'segment' | 'lock';
}

/**
 * Grows the index toward `target` buckets (at most the geometry's maxBucketCount), at most
 * `maxSplits` buckets in this call. Owner thread only (`t` is its table). First takes the
 * segments the new buckets will cover: free ones at once, sealed ones after compacting
 * them; one in use (a thread's active segment, or one being evicted) stops the step there
 * until a later call. Returns what it did.
 */
export function growIndex(t: GrowingThread, target: number, maxSplits: number): GrowthReport {
  const { i32, g } = t.v;
  const report: GrowthReport = { splits: 0, segmentsTaken: 0, stalled: '' };
  const n0 = Atomics.load(i32, H_BUCKET_COUNT);
  const goal = Math.min(target, g.maxBucketCount, n0 + maxSplits);
  if (goal <= n0) return report;
  if (Atomics.compareExchange(i32, H_INDEX_GATE, 0, -1) !== 0) {
    report.stalled = 'gate';
    return report;
  }
  try {
    // Segments the grown index covers: raised first, so that no writer claims them again
    // (acquireSegment starts at H_FIRST_SEGMENT) while they are emptied below.
    const wanted = firstSegmentFor(g, goal);
    if (wanted > Atomics.load(i32, H_FIRST_SEGMENT)) Atomics.store(i32, H_FIRST_SEGMENT, wanted);
    // The segments taken so far: a step that stalled left some below the line untaken.
    let ready = 0;
    while (ready < wanted && (Atomics.load(i32, segmentRowWord(g, ready) + S_STATE) & SEG_STATE_MASK) === SEG_INDEX) ready++;
    while (ready < wanted && takeSegment(t, ready)) {
      ready++;
      report.segmentsTaken++;
    }
    if (ready < wanted) report.stalled = 'segment';
    // Buckets that fit below the first segment not taken.
    const fits = Math.floor((segmentByte(g, ready) - g.indexOffset) / BUCKET_BYTES);
    const end = Math.min(goal, fits);
    let n = n0;
    while (n < end && split(t, n)) n++;
    report.splits = n - n0;
    if (n < end) report.stalled = 'lock';
  } finally {
    Atomics.store(i32, H_INDEX_GATE, 0);
  }
  return report;
}

/**
 * Makes segment `s` (below H_FIRST_SEGMENT) the index's: a free one at once; a sealed one
 * after its live entries are copied forward (compaction); its bytes are zeroed (the empty
 * state of a bucket). Returns false when it is in use (active, evicting, part of a span
 * whose head is not evicted yet): a later step tries again.
 */
function takeSegment(t: GrowingThread, s: number): boolean {
  const { i32, g, u8 } = t.v;
  const row = segmentRowWord(g, s);
  const st = Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK;
  if (st === SEG_INDEX) return true;
  // This thread's own active segments below the line are sealed first (others seal theirs
  // at their next write: segment-writer.ts activeWithRoom).
  if (st !== SEG_FREE && st !== SEG_SEALED) {
    t.writer.sealBelow(Atomics.load(i32, H_FIRST_SEGMENT));
    if ((Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK) !== SEG_SEALED) return false;
  }
  if ((Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK) === SEG_SEALED) {
    // Room for its live entries: the policy frees segments by its own rule first (sparse
    // ones compacted, else its victims evicted), so that taking a segment (perhaps holding
    // the newest entries) drops none of them.
    for (let i = 0; i < 8 && countSegments(t.v).free < COPY_ROOM_SEGMENTS; i++) if (!t.makeRoom(i)) break;
    if ((Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK) !== SEG_SEALED) return takeSegment(t, s);
    if (!claimSegment(t, s)) return false;
    // Every live entry copied forward (into segments at or above the line), then freed.
    walkSegment(t, s, WALK_COMPACT, 0);
  }
  // FREE now, and nobody claims it again: it is below H_FIRST_SEGMENT.
  if (Atomics.compareExchange(i32, row + S_STATE, SEG_FREE, SEG_INDEX) !== SEG_FREE) return false;
  Atomics.store(i32, row + S_WRITE_OFFSET, 0);
  // Ordering: zeroed before any bucket here is published (split raises H_BUCKET_COUNT, a
  // seq_cst store, after): readers holding a stale ref into these bytes validate their
  // bucket's seq and retry, as after any segment is reused.
  u8.fill(0, segmentByte(g, s), segmentByte(g, s) + g.segmentBytes);
  return true;
}

/**
 * Adds bucket `n` (the index has `n` buckets): with 2^k ≤ n, it splits from bucket
 * n − 2^k, whose keys with bit k of their bucket lane set move to it, with their tags,
 * versions and frequency counters. The count is raised inside the source's lock. Returns
 * false, having changed nothing, when the source's lock could not be had.
 */
function split(t: EvictingThread, n: number): boolean {
  const v = t.v;
  const { i32, g } = v;
  const high = 1 << (31 - Math.clz32(n));
  const src = n - high;
  const sw = bucketWord(g, src);
  const nw = bucketWord(g, n);
  // A bounded wait: a lock held this long may be a dead thread's, which only repair, run by
  // this (owner) thread between ticks, releases. The split waits for a later tick then.
  const s = tryLockBucket(i32, sw, src, t.owner, t.threadWord, SPLIT_LOCK_ATTEMPTS);
  if (s === -1) return false;
  try {
    let free = 0;
    let srcFreq = i32[sw + B_FREQ];
    let newFreq = 0;
    for (let w = 0; w < WAYS; w++) {
      const ref = i32[sw + B_REFS + w * REF_STRIDE];
      if (ref === 0) continue;
      const lo = v.hashEntryKey(refByte(g, ref))[0];
      if ((lo & (2 * high - 1)) !== n) continue;
      // The new bucket is nobody's until the count names it: plain stores.
      i32[nw + B_TAGS + free] = i32[sw + B_TAGS + w];
      i32[nw + B_REFS + free * REF_STRIDE] = ref;
      i32[nw + B_VERSIONS + free * REF_STRIDE] = i32[sw + B_VERSIONS + w * REF_STRIDE];
      const mask = (1 << FREQ_BITS) - 1;
      newFreq |= ((srcFreq >>> (w * FREQ_BITS)) & mask) << (free * FREQ_BITS);
      srcFreq &= ~(mask << (w * FREQ_BITS));
      free++;
      // A move, not a removal: the entry stays linked (no unlinked flag, no live bytes).
      i32[sw + B_TAGS + w] = 0;
      i32[sw + B_REFS + w * REF_STRIDE] = 0;
    }
    i32[nw + B_FREQ] = newFreq;
    // The frequency word is also CASed by readers outside the lock (frequency.ts): a bump
    // lost here only costs one count.
    Atomics.store(i32, sw + B_FREQ, srcFreq);
    // Ordering: the count is raised after the moves and before the unlock: a reader that
    // sees the source's seq after the unlock sees the new count (TableReader.lookup), and a
    // writer that locks the source after this re-reads the count and goes to bucket n
    // (bucket-lock.ts withKeyBucketLock).
    Atomics.store(i32, H_BUCKET_COUNT, n + 1);
  } finally {
    unlockBucket(i32, sw, s, t.threadWord);
  }
  return true;
}

/**
 * Entries linked in the index now (expired ones not yet swept included), summed over every
 * thread's counters: what growth compares with the ways it has.
 */
export function linkedEntries(v: SharedView): number {
  const f64 = v.f64;
  let items = 0;
  for (let t = 0; t < THREAD_BLOCK_COUNT; t++) {
    const c = threadCountersF64(t);
    // Counters are plain f64 stores by their own thread; a read here may be a moment old.
    items += f64[c + C_LINKED] - f64[c + C_UNLINKED];
  }
  return items;
}

/**
 * Grows the index, before a bulk load (a snapshot), until `entries` more would fill no more
 * than INDEX_GROW_AT of its ways, or as far as it can: a load links entries faster than
 * maintenance ticks, and would otherwise fill buckets past their ways. Owner thread only.
 */
export function growIndexFor(t: GrowingThread, entries: number): void {
  for (let step = 0; step < 32; step++) {
    const n = Atomics.load(t.v.i32, H_BUCKET_COUNT);
    const target = indexGrowthTarget(n, linkedEntries(t.v) + entries);
    if (target <= n || growIndex(t, target, Number.MAX_SAFE_INTEGER).splits === 0) return;
  }
}
