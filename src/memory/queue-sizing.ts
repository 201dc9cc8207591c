/**
 * Adaptive size of S3-FIFO's small queue, run by the owner on each maintenance tick.
 *
 * S3-FIFO (Yang et al., SOSP 2023) fixes the small queue at 10% of the cache. When the hot
 * set moves, that is slow to follow: the main queue (90%) still holds yesterday's hot keys,
 * and a new key must be read twice within the small queue's short window, or come back
 * while its ghost fingerprint lasts, before it reaches main. ARC (Megiddo and Modha,
 * "ARC: A Self-Tuning, Low Overhead Replacement Cache", FAST 2003) sizes its recency list
 * from two ghost lists: a hit in the recency ghost (B1) grows the recency list's target by
 * max(1, |B2| / |B1|) entries, a hit in the frequency ghost (B2) shrinks it by
 * max(1, |B1| / |B2|). Here the small queue plays ARC's recency list and main its
 * frequency list; the ghost table (ghost.ts) marks each fingerprint with the queue that
 * dropped it, and each thread counts ghost hits and inserts of each kind.
 *
 * Each tick reads the counters' growth since the last tick:
 * - the ratio |B1| / |B2| is estimated from recent ghost inserts of each kind (the ghost
 *   table forgets oldest first, so its content follows the recent insert mix); the insert
 *   counts are halved whenever their sum passes the cache's entry count;
 * - target += {@link ADAPT_STEP_ENTRIES} × (small-ghost hits × max(1, |B2|/|B1|) −
 *   main-ghost hits × max(1, |B1|/|B2|)) entries, as a fraction of the entries the cache
 *   holds, kept within [{@link SMALL_MIN_FRACTION}, {@link SMALL_MAX_FRACTION}];
 * - the result, in whole segments, goes to the header word H_SMALL_TARGET, which every
 *   evicting thread reads (eviction.ts).
 *
 * Differences from ARC: the adjustment is batched per tick rather than made per request,
 * and each ghost hit moves the target by ADAPT_STEP_ENTRIES entries rather than one (our
 * ghost is a fixed table that forgets, so it reports only part of the returns ARC's exact
 * lists would). That step was chosen with `npm run bench:eviction`: 1 followed the moving
 * hot set too slowly, 10 followed it best but cost misses on the steady Zipf traces.
 *
 * @module
 */
import {
  C_GHOST_HITS, C_GHOST_INSERTS, C_GHOST_MAIN_HITS, C_GHOST_MAIN_INSERTS, C_LINKED, C_UNLINKED, H_SMALL_TARGET,
  THREAD_BLOCK_COUNT, threadCountersF64,
} from '../table/layout.ts';
import type { SharedView } from '../table/shared-view.ts';
import { SMALL_QUEUE_FRACTION, smallTargetSegments } from './eviction.ts';

/** Entries the small queue's target moves per ghost hit, before ARC's ratio weighting. */
export const ADAPT_STEP_ENTRIES = 3;
/** Smallest share of the segments the small queue's target may fall to. */
export const SMALL_MIN_FRACTION = 0.02;
/** Largest share of the segments the small queue's target may rise to. */
export const SMALL_MAX_FRACTION = 0.9;

/** Sums of the counters the adaptation reads, over every thread block. */
interface GhostTotals { smallHits: number; mainHits: number; smallInserts: number; mainInserts: number; items: number }

function readTotals(v: SharedView): GhostTotals {
  const t: GhostTotals = { smallHits: 0, mainHits: 0, smallInserts: 0, mainInserts: 0, items: 0 };
  for (let i = 0; i < THREAD_BLOCK_COUNT; i++) {
    // Counters of detached blocks stay (they are never reset while the buffer lives), so
    // every block counts; each f64 is written by one thread only, read here as a hint.
    const c = threadCountersF64(i);
    const mainHits = v.f64[c + C_GHOST_MAIN_HITS];
    const mainInserts = v.f64[c + C_GHOST_MAIN_INSERTS];
    t.mainHits += mainHits;
    t.smallHits += v.f64[c + C_GHOST_HITS] - mainHits;
    t.mainInserts += mainInserts;
    t.smallInserts += v.f64[c + C_GHOST_INSERTS] - mainInserts;
    t.items += v.f64[c + C_LINKED] - v.f64[c + C_UNLINKED];
  }
  return t;
}

/**
 * The owner's adaptation of the small queue's size (see the module comment). Construct it
 * once on the owner and call {@link SmallQueueSizer.tick} from maintenance.
 */
export class SmallQueueSizer {
  /** The small queue's target, as a share of all segments. */
  fraction = SMALL_QUEUE_FRACTION;
  private last: GhostTotals;
  /** Recent ghost inserts by the small and the main queue (decayed; both start at 1). */
  private recentSmallInserts = 1;
  private recentMainInserts = 1;

  constructor(private readonly v: SharedView) {
    this.last = readTotals(v);
    this.publish();
  }

  /** Reads the counters' growth since the last tick and moves the target. */
  tick(): void {
    const now = readTotals(this.v);
    const smallHits = now.smallHits - this.last.smallHits;
    const mainHits = now.mainHits - this.last.mainHits;
    this.recentSmallInserts += now.smallInserts - this.last.smallInserts;
    this.recentMainInserts += now.mainInserts - this.last.mainInserts;
    this.last = now;
    const entries = Math.max(now.items, this.v.g.segmentCount);
    if (this.recentSmallInserts + this.recentMainInserts > entries) {
      this.recentSmallInserts /= 2;
      this.recentMainInserts /= 2;
    }
    if (smallHits === 0 && mainHits === 0) return;
    // ARC: |B1| / |B2| estimated by the recent insert mix.
    const ratio = this.recentSmallInserts / this.recentMainInserts;
    const moveEntries = ADAPT_STEP_ENTRIES * (smallHits * Math.max(1, 1 / ratio) - mainHits * Math.max(1, ratio));
    this.fraction = Math.min(SMALL_MAX_FRACTION, Math.max(SMALL_MIN_FRACTION, this.fraction + moveEntries / entries));
    this.publish();
  }

  /** The target in segments, as evicting threads read it. */
  get targetSegments(): number {
    return smallTargetSegments(this.v.g.segmentCount, this.fraction);
  }

  private publish(): void {
    // One aligned word, read with Atomics.load by whichever thread evicts: it sees the old
    // or the new target, and either is a valid choice for one eviction step.
    Atomics.store(this.v.i32, H_SMALL_TARGET, this.targetSegments);
  }
}
