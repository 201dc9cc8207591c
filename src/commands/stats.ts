/**
 * The stats command (docs/design.md §7): the cache's counters and memory figures, summed
 * over every thread's counters, and the request counter each front end bumps.
 *
 * @module
 */
import { currentSmallTarget } from '../memory/eviction.ts';
import {
  C_COMPACTED_ITEMS, C_COMPACTED_SEGMENTS, C_DELETES, C_GHOST_HITS, C_GHOST_INSERTS, C_GHOST_MAIN_HITS, C_GHOST_MAIN_INSERTS, C_PROMOTED, C_REINSERTED, C_EVICTED_ITEMS,
  C_EVICTED_SEGMENTS, C_EXPIRED_ITEMS, C_HITS, C_LINKED, C_MISSES, C_REQUESTS, C_SETS, C_UNLINKED, metadataBytes, S_LIVE_BYTES, S_STATE, S_WRITE_OFFSET, SEG_FREE,
  SEG_STATE_MASK, T_STATE, T_WORKER_THREAD_ID, THREAD_ATTACHED, THREAD_BLOCK_COUNT, segmentRowWord, threadBlockWord, threadCountersF64,
  H_BUCKET_COUNT, C_CODE_CACHE_HITS, C_CODE_CACHE_MISSES, C_CODE_CACHE_REJECTED, C_CODE_CACHE_STORED_BYTES,
} from '../table/layout.ts';
import { countSegments, type SegmentCounts } from '../table/segments.ts';
import { linkedEntries } from '../table/index-growth.ts';
import type { CommandContext } from './context.ts';

export type { SegmentCounts };

/** Counts the requests one thread's front end serves (its C_REQUESTS counter), allocation-free. */
export class RequestCounter {
  private readonly f64: Float64Array;
  private readonly slot: number;

  constructor(cx: CommandContext) {
    this.f64 = cx.table.v.f64;
    this.slot = cx.table.counters + C_REQUESTS;
  }

  /** One more request. */
  count(): void {
    // A plain store into this thread's own counter (readers sum them, a moment old).
    this.f64[this.slot]++;
  }
}

/** Counts one thread's code cache lookups and stores (code-cache/), allocation-free. */
export class CodeCacheCounters {
  private readonly f64: Float64Array;
  private readonly base: number;

  constructor(cx: CommandContext) {
    this.f64 = cx.table.v.f64;
    this.base = cx.table.counters;
  }

  // Plain stores into this thread's own counters (readers sum them, a moment old).
  /** Data found and accepted by V8. */
  hit(): void {
    this.f64[this.base + C_CODE_CACHE_HITS]++;
  }

  /** No data found. */
  miss(): void {
    this.f64[this.base + C_CODE_CACHE_MISSES]++;
  }

  /** Data found but refused (damaged, or rejected by V8). */
  rejected(): void {
    this.f64[this.base + C_CODE_CACHE_REJECTED]++;
  }

  /** `bytes` of data stored. */
  stored(bytes: number): void {
    this.f64[this.base + C_CODE_CACHE_STORED_BYTES] += bytes;
  }
}

/** Per-thread counters, one row per attached thread block. */
export interface ThreadStats {
  /** Thread block index (0..63). */
  thread: number;
  /** `worker_threads.threadId` of the thread attached there. */
  workerThreadId: number;
  attached: boolean;
  requests: number;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
}

/** The stats that are sums of one per-thread counter (layout.ts C_…), by name. */
const TOTALS = [
  ['hits', C_HITS], ['misses', C_MISSES], ['sets', C_SETS], ['deletes', C_DELETES], ['evictions', C_EVICTED_ITEMS],
  ['expired', C_EXPIRED_ITEMS], ['evictedSegments', C_EVICTED_SEGMENTS], ['promotions', C_PROMOTED],
  ['reinsertions', C_REINSERTED], ['ghostHits', C_GHOST_HITS], ['ghostInserts', C_GHOST_INSERTS],
  ['ghostMainHits', C_GHOST_MAIN_HITS], ['ghostMainInserts', C_GHOST_MAIN_INSERTS],
  ['compactedSegments', C_COMPACTED_SEGMENTS], ['compactedItems', C_COMPACTED_ITEMS],
  ['codeCacheHits', C_CODE_CACHE_HITS], ['codeCacheMisses', C_CODE_CACHE_MISSES], ['codeCacheRejected', C_CODE_CACHE_REJECTED],
  ['codeCacheStoredBytes', C_CODE_CACHE_STORED_BYTES],
] as const;
type TotalName = (typeof TOTALS)[number][0];

/** A snapshot of the cache's counters. Counters count since the cache was created. */
export interface CacheStats {
  /** Live entries in the index (expired ones not yet swept included). */
  items: number;
  /** Bytes in use: metadata plus the written part of every non-free segment. */
  memoryUsedBytes: number;
  /** The configured limit, in bytes; the buffer is never larger. */
  memoryLimitBytes: number;
  /** Size of the shared buffer, in bytes (≤ memoryLimitBytes). */
  bufferBytes: number;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  /** Entries removed to make room (segment eviction and full-bucket eviction). */
  evictions: number;
  /** Expired entries removed. */
  expired: number;
  /** Whole segments evicted. */
  evictedSegments: number;
  /** Entries copied from the small queue into the main queue at eviction (read since written). */
  promotions: number;
  /** Entries of an evicted main-queue segment copied forward inside main (read again). */
  reinsertions: number;
  /** New keys found in the ghost table, written straight into the main queue. */
  ghostHits: number;
  /** Fingerprints added to the ghost table (entries dropped from either queue). */
  ghostInserts: number;
  /** The part of `ghostHits` on keys the main queue had dropped (the rest the small queue had). */
  ghostMainHits: number;
  /** The part of `ghostInserts` left by the main queue. */
  ghostMainInserts: number;
  /** Segments freed by compaction. */
  compactedSegments: number;
  /** Entries copied forward by compaction. */
  compactedItems: number;
  /** Modules and scripts compiled with code cache data V8 accepted (sabcache/code-cache). */
  codeCacheHits: number;
  /** Code cache lookups that found no data. */
  codeCacheMisses: number;
  /** Code cache data refused (damaged, or rejected by V8: another V8 or flags) and replaced. */
  codeCacheRejected: number;
  /** Bytes of code cache data stored since the cache was created (records, header included), in bytes. */
  codeCacheStoredBytes: number;
  /** Bytes of entries the index points at (key, value, header and padding), in bytes. */
  liveBytes: number;
  /** Bytes written into segments now in use (live plus overwritten, deleted and expired), in bytes. */
  writtenBytes: number;
  /**
   * Segment counts by state (`free`, `active`, `sealed`, `evicting`, `span`: the rest of a value larger than one segment), segments in use by
   * queue (`small`, `main`), the small queue's adaptive target (`smallTarget`, segments),
   * the total and the segment size in bytes.
   */
  segments: SegmentCounts & { smallTarget: number; total: number; segmentBytes: number };
  bucketCount: number;
  threads: ThreadStats[];
}

/**
 * Counters and memory figures, summed over every thread; `limitBytes` is the configured
 * memory limit. Works after the context's thread detached too.
 */
export function cacheStats(cx: CommandContext, limitBytes: number): CacheStats {
  const v = cx.table.v;
  const { i32, f64, g } = v;
  let items = 0;
  const totals = Object.fromEntries(TOTALS.map(([name]) => [name, 0])) as Record<TotalName, number>;
  const threads: ThreadStats[] = [];
  for (let t = 0; t < THREAD_BLOCK_COUNT; t++) {
    const c = threadCountersF64(t);
    const tw = threadBlockWord(t);
    // Counters are plain f64 stores by their own thread; a read here may be a moment old.
    items += f64[c + C_LINKED] - f64[c + C_UNLINKED];
    for (const [name, counter] of TOTALS) totals[name] += f64[c + counter];
    const attached = Atomics.load(i32, tw + T_STATE) === THREAD_ATTACHED;
    if (attached || f64[c + C_HITS] + f64[c + C_MISSES] + f64[c + C_SETS] + f64[c + C_REQUESTS] > 0) {
      threads.push({
        thread: t, workerThreadId: i32[tw + T_WORKER_THREAD_ID], attached, requests: f64[c + C_REQUESTS],
        hits: f64[c + C_HITS], misses: f64[c + C_MISSES], sets: f64[c + C_SETS], deletes: f64[c + C_DELETES],
      });
    }
  }
  let writtenBytes = 0;
  let liveBytes = 0;
  for (let s = 0; s < g.segmentCount; s++) {
    const row = segmentRowWord(g, s);
    if ((Atomics.load(i32, row + S_STATE) & SEG_STATE_MASK) === SEG_FREE) continue;
    writtenBytes += Atomics.load(i32, row + S_WRITE_OFFSET);
    liveBytes += Atomics.load(i32, row + S_LIVE_BYTES);
  }
  const segs = countSegments(v);
  return {
    items, memoryUsedBytes: metadataBytes(g) + segs.index * g.segmentBytes + writtenBytes, memoryLimitBytes: limitBytes, bufferBytes: v.sab.byteLength, ...totals,
    liveBytes, writtenBytes,
    segments: { ...segs, smallTarget: currentSmallTarget(v), total: g.segmentCount, segmentBytes: g.segmentBytes },
    bucketCount: Atomics.load(v.i32, H_BUCKET_COUNT), threads,
  };
}


/** Live entries in the index (expired ones not yet swept included), summed over every thread's counters. */
export function itemCount(cx: CommandContext): number {
  return linkedEntries(cx.table.v);
}

/**
 * Operations so far (reads that hit or missed, sets, deletes), summed over every thread's
 * counters: what a rate of operations per second is measured from (Redis INFO's
 * `instantaneous_ops_per_sec`). Reads no segment, so it is cheap enough to sample often.
 */
export function operationCount(cx: CommandContext): number {
  const f64 = cx.table.v.f64;
  let n = 0;
  for (let t = 0; t < THREAD_BLOCK_COUNT; t++) {
    const c = threadCountersF64(t);
    n += f64[c + C_HITS] + f64[c + C_MISSES] + f64[c + C_SETS] + f64[c + C_DELETES];
  }
  return n;
}
