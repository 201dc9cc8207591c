/**
 * The piscina task that writes a snapshot (docs/design.md §6): runs in a pool thread, attaches the
 * shared cache for the job (and detaches after, so an idle pool thread holds no thread
 * block), and walks and encodes it there at the lowest CPU priority, so the main thread
 * stays free and the server threads keep serving. Started by {@link Snapshotter}
 * (snapshotter.ts) twice per snapshot: the lead, and a helper on a second pool thread
 * that joins its walk (snapshot-write.ts).
 *
 * @module
 */
import { SharedCache, type SharedCacheHandle } from '../shared-cache.ts';
import { lowerThisThreadPriority, makeThisThreadIdleClass } from '../util/thread-priority.ts';
import { H_WAL_EPOCH, H_WAL_SEQ_I64 } from '../table/layout.ts';
import { oldestKeptSnapshotSequence, type SnapshotWritten, writeSnapshot } from './snapshot-files.ts';
import { helpSnapshotWrite, type SnapshotWriteJob } from './snapshot-write.ts';
import { pruneWalFiles } from './wal-file.ts';

/** A snapshot job: the lead's part (writes the file) or a helper's (joins the lead's walk). */
export interface SnapshotJob {
  /** `lead` writes the snapshot; `helper` helps the lead that runs `write` (snapshot-write.ts). */
  role: 'lead' | 'helper';
  /** The cache to snapshot. */
  handle: SharedCacheHandle;
  /** The data directory. */
  dir: string;
  /** Snapshots to keep, counting the new one. */
  keep: number;
  /** The walk's shared state, the same for the lead and its helper. */
  write: SnapshotWriteJob;
}

// The walk yields the core to the server threads whenever they need it (SCHED_IDLE, or nice
// 19 without it; this thread only, lead or helper alike): see bench:persist for GET latency
// during a snapshot.
lowerThisThreadPriority();
makeThisThreadIdleClass();

/**
 * Runs one part of a snapshot. The lead first asks the WAL writers to start new files (the
 * epoch) and reads the WAL sequence: every change numbered up to it is in the snapshot
 * (table.ts nextWalSeqLocked), so once the snapshot is durable the closed WAL files
 * holding only such changes are deleted; it resolves with what it wrote. A helper
 * resolves with null once it has nothing left to do.
 */
export default function snapshotTask(job: SnapshotJob): SnapshotWritten | null {
  const cache = SharedCache.attach(job.handle);
  try {
    if (job.role === 'helper') {
      helpSnapshotWrite(cache.table, job.write);
      return null;
    }
    const v = cache.table.v;
    Atomics.add(v.i32, H_WAL_EPOCH, 1);
    // Ordering: read before the walk starts (see table.ts nextWalSeqLocked).
    const walSequence = Atomics.load(v.i64, H_WAL_SEQ_I64);
    const written = writeSnapshot(cache.table, job.dir, job.keep, walSequence, job.write);
    // Not up to this snapshot's sequence: up to the oldest one kept, so that a fallback to
    // it (this one damaged) can still be brought forward by the WAL.
    pruneWalFiles(job.dir, Number(oldestKeptSnapshotSequence(job.dir)));
    return written;
  } finally {
    cache.close();
  }
}
