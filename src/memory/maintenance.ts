/**
 * The owner thread's maintenance tick (docs/design.md §5): advances the shared coarse clock,
 * keeps free segments at or above a low watermark by evicting whole segments under the
 * S3-FIFO policy (eviction.ts), moves the small queue's target (queue-sizing.ts), compacts
 * sparse segments, and sweeps a slice of buckets for expired entries.
 *
 * @module
 */
import { growIndex, indexGrowthTarget, INDEX_SPLITS_PER_STEP, linkedEntries } from '../table/index-growth.ts';
import { indexBytesFor, H_CLOCK_SECONDS, H_FULL, H_SEAL_SEQ, WAYS } from '../table/layout.ts';
import { WRITER_RESERVE_SEGMENTS } from '../table/segment-writer.ts';
import { countSegments } from '../table/segments.ts';
import type { Table } from '../table/table.ts';
import { COMPACT_ATTEMPTS, compactSegments, makeRoom, ROOM_COMPACTED, ROOM_NONE } from './eviction.ts';
import { SmallQueueSizer } from './queue-sizing.ts';
import { sweepExpired, type SweepCounts } from './expiry.ts';

/** Most segments compacted per tick (bounds the tick's time: each moves ≤ 1/4 segment). */
const COMPACT_PER_TICK = 2;
/** Ticks for the expiry sweep to pass over the whole index at its base pace (10 s at a 50 ms tick). */
const SWEEP_TICKS_PER_PASS = 200;
/**
 * The sweep goes this many times faster while its last slice found at least
 * SWEEP_FAST_SHARE of the ways it looked at expired: as Redis's active expire cycle keeps
 * sampling while more than a share of its sample had expired (expire.c), since an expired
 * entry still holds bytes that live items could use (bench:eviction's mixed-ttl trace).
 */
const SWEEP_FAST_FACTOR = 8;
/** Share of expired ways in a slice that makes the next slice fast (Redis accepts 10% stale; a byte here is worth hits). */
const SWEEP_FAST_SHARE = 0.01;
/** Most milliseconds a tick's sweep slice takes (a fast slice over a large index stops there). */
const SWEEP_BUDGET_MS = 5;
/** Share of its ways in use at which the index doubles early, before the cache first fills ({@link Maintenance.tick}; Poisson: about 0.02% of items then meet a full 14-way bucket, against 0.3% at INDEX_GROW_AT). */
const INDEX_GROW_EARLY_AT = 0.4;
/**
 * Most of the buffer the index may take when it doubles early ({@link Maintenance.tick}):
 * the early doubling spends memory no item uses yet, and stops where it would crowd out
 * items once the cache fills.
 */
const EARLY_GROWTH_MAX_INDEX_SHARE = 1 / 8;
/** Per tick, the remembered peak of segments used per tick decays by this factor. */
const RESERVE_PEAK_DECAY = 0.9;
/**
 * Beyond the writers' own reserve, free segments never exceed this share of the segments:
 * free segments hold no data (at 1/8, bench:eviction's replay kept 12% of a 24 MiB cache
 * empty while writing and evicted as much after it), and a writer that finds none evicts
 * one segment itself, as memcached and Redis evict on the write that needs room.
 */
const RESERVE_MAX_FRACTION = 1 / 64;

/**
 * The free segments the owner keeps ahead of writers, in bytes of what they use (docs/design.md
 * §5): the most segments sealed in one tick lately (a peak decaying by RESERVE_PEAK_DECAY a
 * tick), at most RESERVE_MAX_FRACTION of the segments, plus the one writers leave to
 * evictors (WRITER_RESERVE_SEGMENTS) and one more. Free segments hold no data, so the reserve is
 * what one tick of writing needs and no more; a writer that outruns it evicts for itself.
 */
export function reserveSegments(peakPerTick: number, segmentCount: number): number {
  return WRITER_RESERVE_SEGMENTS + 1 + Math.min(Math.ceil(peakPerTick), Math.floor(segmentCount * RESERVE_MAX_FRACTION));
}

/** Writes the current unix time (seconds) into the shared clock. */
export function advanceClock(i32: Int32Array, nowMs = Date.now()): void {
  // One aligned word: readers (plain loads) see the old or the new second, never a mix, and
  // need no more than a recent value.
  Atomics.store(i32, H_CLOCK_SECONDS, Math.floor(nowMs / 1000));
}

/** What one maintenance step did. */
export interface TickReport {
  /** Segments evicted to bring free segments up to the watermark. */
  evictedSegments: number;
  /** Sparse segments compacted (live entries copied forward, segment freed). */
  compactedSegments: number;
  /** Buckets the index grew by. */
  indexSplits: number;
}

/** Runs one maintenance step on the owner; see the module comment. */
export class Maintenance {
  private sweepFrom = 0;
  /** What the last sweep slice found; its expired share sets the next slice's pace. */
  private readonly swept: SweepCounts = { looked: 0, expired: 0 };
  private sweepFast = false;
  /** Moves the small queue's target each tick; others read it from the header (eviction.currentSmallTarget). */
  private readonly smallQueue: SmallQueueSizer;
  /** Free segments kept available ({@link reserveSegments}), set each tick. */
  lowWatermarkSegments: number;
  /** H_SEAL_SEQ at the last tick, and the decaying peak of segments sealed per tick. */
  private lastSealSeq: number;
  private sealedPeak = 0;

  constructor(private readonly table: Table) {
    this.lastSealSeq = Atomics.load(table.v.i32, H_SEAL_SEQ);
    this.lowWatermarkSegments = reserveSegments(0, table.v.g.segmentCount);
    this.smallQueue = new SmallQueueSizer(table.v);
  }

  /** One step: clock, queue sizing, eviction to the watermark, compaction, a slice of the expiry sweep. */
  tick(): TickReport {
    advanceClock(this.table.v.i32, this.table.now());
    this.smallQueue.tick();
    const sealSeq = Atomics.load(this.table.v.i32, H_SEAL_SEQ);
    this.sealedPeak = Math.max((sealSeq - this.lastSealSeq) >>> 0, this.sealedPeak * RESERVE_PEAK_DECAY);
    if (this.sealedPeak < 0.5) this.sealedPeak = 0; // decayed to nothing: writers are idle
    this.lastSealSeq = sealSeq;
    this.lowWatermarkSegments = reserveSegments(this.sealedPeak, this.table.v.g.segmentCount);
    // The index first (it takes free segments), when the entries stored fill too many of its ways (index-growth.ts).
    const v = this.table.v;
    const buckets = this.table.bucketCount;
    const linked = linkedEntries(v);
    let target = indexGrowthTarget(buckets, linked);
    let free = countSegments(v).free;
    // A full bucket evicts a live entry whatever its worth. Before the cache has first filled
    // (no segment evicted yet), while half the segments are still free, the index doubles
    // at INDEX_GROW_EARLY_AT instead of INDEX_GROW_AT: its new segments hold nothing yet
    // (bench:eviction's Zipf 1.2 and heavy-tailed traces at 64 MiB, which fit whole, lost 100
    // to 600 entries to full buckets, where Redis and memcached lost none). For items of one
    // size this ends no larger than growth at INDEX_GROW_AT once the cache is full: half the
    // memory holds half the items. (Doubling at a full bucket instead grew twice in a burst
    // of writes: bench:eviction's Zipf 0.6 at 64 MiB went from 33.3% to 34.8% misses.)
    // H_FULL is a one-way flag set by the first segment eviction, read as a hint: a stale 0
    // lets one early doubling through a tick after the cache filled, no worse than a burst.
    if (target === buckets && linked > buckets * WAYS * INDEX_GROW_EARLY_AT && Atomics.load(v.i32, H_FULL) === 0 &&
        2 * free >= v.g.segmentCount && indexBytesFor(2 * buckets) <= v.sab.byteLength * EARLY_GROWTH_MAX_INDEX_SHARE) {
      target = 2 * buckets;
    }
    const indexSplits = target > buckets ? growIndex(this.table, target, INDEX_SPLITS_PER_STEP).splits : 0;
    if (indexSplits > 0) free = countSegments(v).free;
    let evictedSegments = 0;
    let compactedUnderPressure = 0;
    // Compactions in a row that left the free count where it was (eviction.ts COMPACT_ATTEMPTS).
    let stalled = 0;
    while (free < this.lowWatermarkSegments) {
      // A sparse segment first (no live entry lost), while there is room to copy into beyond
      // the writers' reserve. Looked for again after each eviction: an eviction makes the
      // room a compaction may have lacked.
      const made = makeRoom(this.table, WRITER_RESERVE_SEGMENTS + 1, stalled < COMPACT_ATTEMPTS);
      if (made === ROOM_NONE) break;
      if (made === ROOM_COMPACTED) compactedUnderPressure++;
      else evictedSegments++;
      const now = countSegments(this.table.v).free;
      stalled = made === ROOM_COMPACTED && now <= free ? stalled + 1 : 0;
      free = now;
    }
    // Compaction copies into free segments: leave the writers' reserve alone.
    const compactedSegments = compactedUnderPressure + compactSegments(this.table, COMPACT_PER_TICK, this.lowWatermarkSegments + 1);
    // The whole index about every 10 s, of its size now (it grows), faster while slices find expired entries.
    const base = Math.max(64, Math.ceil(this.table.bucketCount / SWEEP_TICKS_PER_PASS));
    this.swept.looked = this.swept.expired = 0;
    this.sweepFrom = sweepExpired(this.table, this.sweepFrom, this.sweepFast ? base * SWEEP_FAST_FACTOR : base, this.swept, performance.now() + SWEEP_BUDGET_MS);
    this.sweepFast = this.swept.expired >= this.swept.looked * SWEEP_FAST_SHARE && this.swept.expired > 0;
    return { evictedSegments, compactedSegments, indexSplits };
  }
}
