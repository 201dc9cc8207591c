/**
 * The owner thread's maintenance tick (docs/design.md §5): advances the shared coarse clock,
 * keeps free segments at or above a low watermark by evicting whole segments under the
 * S3-FIFO policy (eviction.ts), moves the small queue's target (queue-sizing.ts), compacts
 * sparse segments, and sweeps a slice of buckets for expired entries.
 *
 * @module
 */
import { H_CLOCK_SECONDS } from '../table/layout.ts';
import { countSegments } from '../table/segments.ts';
import type { Table } from '../table/table.ts';
import { compactSegments, evictSegment } from './eviction.ts';
import { SmallQueueSizer } from './queue-sizing.ts';
import { sweepExpired } from './expiry.ts';

/** Most segments compacted per tick (bounds the tick's time: each moves ≤ 1/4 segment). */
const COMPACT_PER_TICK = 2;

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
}

/** Runs one maintenance step on the owner; see the module comment. */
export class Maintenance {
  private sweepFrom = 0;
  /** Moves the small queue's target each tick; others read it from the header (eviction.currentSmallTarget). */
  private readonly smallQueue: SmallQueueSizer;
  /** Buckets swept per tick: the whole index about every 10 s at a 50 ms tick. */
  private readonly sweepPerTick: number;
  /**
   * @param lowWatermarkSegments - free segments kept available, so writers rarely have to
   *   evict themselves.
   */
  constructor(private readonly table: Table, readonly lowWatermarkSegments: number) {
    this.sweepPerTick = Math.max(64, Math.ceil(table.v.g.bucketCount / 200));
    this.smallQueue = new SmallQueueSizer(table.v);
  }

  /** One step: clock, queue sizing, eviction to the watermark, compaction, a slice of the expiry sweep. */
  tick(): TickReport {
    advanceClock(this.table.v.i32, this.table.now());
    this.smallQueue.tick();
    let evictedSegments = 0;
    let free = countSegments(this.table.v).free;
    while (free < this.lowWatermarkSegments && evictSegment(this.table)) {
      evictedSegments++;
      free = countSegments(this.table.v).free;
    }
    // Compaction copies into free segments: leave the writers' reserve alone.
    const compactedSegments = compactSegments(this.table, COMPACT_PER_TICK, this.lowWatermarkSegments + 1);
    this.sweepFrom = sweepExpired(this.table, this.sweepFrom, this.sweepPerTick);
    return { evictedSegments, compactedSegments };
  }
}
