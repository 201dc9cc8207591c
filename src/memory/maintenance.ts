/**
 * The owner thread's maintenance tick (DESIGN §5): advances the shared coarse clock,
 * keeps free segments at or above a low watermark by evicting whole segments oldest first
 * (plain FIFO over seal order), and sweeps a slice of buckets for expired entries.
 *
 * @module
 */
import { H_CLOCK_SECONDS } from '../table/layout.ts';
import { countSegments, evictOldestSegment, type ThreadContext } from '../table/segments.ts';
import { sweepExpired } from './expiry.ts';

/** Writes the current unix time (seconds) into the shared clock. */
export function advanceClock(i32: Int32Array): void {
  // One aligned word: readers (plain loads) see the old or the new second, never a mix, and
  // need no more than a recent value.
  Atomics.store(i32, H_CLOCK_SECONDS, Math.floor(Date.now() / 1000));
}

/** Runs one maintenance step on the owner; see the module comment. */
export class Maintenance {
  private sweepFrom = 0;
  /** Buckets swept per tick: the whole index about every 10 s at a 50 ms tick. */
  private readonly sweepPerTick: number;
  /**
   * @param lowWatermarkSegments - free segments kept available, so writers rarely have to
   *   evict themselves.
   */
  constructor(private readonly ctx: ThreadContext, readonly lowWatermarkSegments: number) {
    this.sweepPerTick = Math.max(64, Math.ceil(ctx.v.g.bucketCount / 200));
  }

  /** One step. Returns the number of segments evicted. */
  tick(): number {
    advanceClock(this.ctx.v.i32);
    let evicted = 0;
    let free = countSegments(this.ctx.v).free;
    while (free < this.lowWatermarkSegments && evictOldestSegment(this.ctx)) {
      evicted++;
      free++;
    }
    this.sweepFrom = sweepExpired(this.ctx, this.sweepFrom, this.sweepPerTick);
    return evicted;
  }
}
