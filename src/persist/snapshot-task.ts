/**
 * The piscina task that writes a snapshot (DESIGN §6): runs in a pool thread, attaches the
 * shared cache for the job (and detaches after, so an idle pool thread holds no thread
 * block), and walks and encodes it there at the lowest CPU priority, so the main thread
 * stays free and the server threads keep serving. Started by {@link Snapshotter} (snapshotter.ts).
 *
 * @module
 */
import { SharedCache, type SharedCacheHandle } from '../shared-cache.ts';
import { lowerThisThreadPriority, makeThisThreadIdleClass } from '../util/thread-priority.ts';
import { type SnapshotWritten, writeSnapshot } from './snapshot-files.ts';

/** A snapshot job. */
export interface SnapshotJob {
  /** The cache to snapshot. */
  handle: SharedCacheHandle;
  /** The data directory. */
  dir: string;
  /** Snapshots to keep, counting the new one. */
  keep: number;
  /** The WAL sequence at the start (0n without a WAL). */
  walSequence: bigint;
}

// The walk yields the core to the server threads whenever they need it (SCHED_IDLE, or nice
// 19 without it; this thread only): see bench:persist for GET latency during a snapshot.
lowerThisThreadPriority();
makeThisThreadIdleClass();

/** Writes one snapshot; resolves with what it wrote. */
export default function snapshotTask(job: SnapshotJob): SnapshotWritten {
  const cache = SharedCache.attach(job.handle);
  try {
    return writeSnapshot(cache.table, job.dir, job.keep, job.walSequence);
  } finally {
    cache.close();
  }
}
